"""Console examples that cannot go stale: rerun each ```console block of the docs and
compare (``--check``) or rewrite (``--write``) the output printed below each command, as
simonw's ``cog --check`` keeps ``llm``'s README honest.

Usage::

    python -m cfx.tools.docs_examples [--check | --write] [--fast] [--list] [FILES...]

FILES default to README.md and docs/*.md. The conventions a docs writer needs:

- A block is a fence opened by ```console. A line starting with ``$ `` is a command; it
  goes on over the next lines while it ends with ``\\`` or leaves a quote open. Every other
  line is output of the command above it.
- The commands of one block run in order in one ``bash`` (so ``echo $?`` and files written
  by an earlier command work), in a fresh temporary folder holding a copy of the
  repository's ``examples/``; ``cfx`` and ``python`` are this interpreter's. A block that
  needs files of its own makes them with commands the reader sees (``$ mkdir mixed && …``).
  A command's output is its stdout followed by its stderr.
- ``<!-- docs-examples: skip (REASON) -->`` on the line right above the fence: the block is
  not run (it needs ``/work/corpus``, a long training, files a reader makes first...).
  ``<!-- docs-examples: slow (REASON) -->``: the block runs under ``--check``/``--write``
  (and so in ``.ci/run``) but not under ``--fast`` (the test suite's check). Any other
  block is cheap and runs everywhere: mark a block slow when it takes more than a second
  or two.
- Lines shortened by hand: a line that is ``…`` alone (optionally followed by spaces and
  a note) stands for any run of lines, none included; ``…`` inside a line stands for any
  text. So ``out/a.jpg``, ``…``, ``out/z.jpg`` checks the first and the last line only.
- Notes: ``  ← stderr`` (anything from a ``←`` preceded by a space) is a note for the
  reader, not output; it is ignored when comparing and kept when rewriting.
- Normalised before comparing, so that only real changes differ: rates such as
  ``(7.5/s)``, durations (``9.1 s``, ``"seconds": 9.1``), the temporary folder and the
  repository's absolute path (written as paths relative to it). ``--write`` writes what
  the commands printed (paths made relative) and leaves a block alone when it still matches.

Exit codes: 0 every block checked matches (or was rewritten), 1 some block differs
(``--check``: a diff is printed for each), 2 usage error.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# docs/models.md is left out until its rewrite (under way) marks its blocks.
DEFAULT_FILES = ("README.md", "docs/commands.md", "docs/detection.md")
FENCE = re.compile(r"^(\s*)```console\s*$")
MARKER = re.compile(r"^\s*<!--\s*docs-examples:\s*(skip|slow)\b\s*(.*?)\s*-->\s*$")
NOTE = re.compile(r"\s+←.*$")
ELLIPSIS_LINE = re.compile(r"^…(\s.*)?$")
BLOCK_TIMEOUT_S = 900


@dataclass
class Step:
    """One ``$`` command of a block and the output lines the docs show below it."""

    command_lines: list[str]
    expected: list[str] = field(default_factory=list)

    @property
    def command(self) -> str:
        """The shell command: its lines without the ``$ `` prompt."""
        return "\n".join([self.command_lines[0][2:], *self.command_lines[1:]])


@dataclass
class Block:
    """A ```console block: where it lies in its file, its marker and its steps."""

    path: Path
    fence_line: int  # index of the ```console line
    end_line: int  # index of the closing fence
    indent: str
    marker: str | None  # None, "skip" or "slow"
    reason: str
    steps: list[Step]

    @property
    def where(self) -> str:
        """``FILE:LINE`` of the fence, relative to the repository."""
        return f"{relative(self.path)}:{self.fence_line + 1}"


def relative(path: Path) -> str:
    """``path`` relative to the repository when it lies under it."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def command_is_complete(text: str) -> bool:
    """Whether ``text`` is a whole shell command (no trailing ``\\``, no open quote)."""
    if text.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return False
    return True


def parse_steps(lines: Sequence[str]) -> list[Step]:
    """The commands of a block's ``lines`` (indent removed) and the output under each."""
    steps: list[Step] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            step = Step([line])
            while not command_is_complete(step.command) and i + 1 < len(lines):
                i += 1
                step.command_lines.append(lines[i])
            steps.append(step)
        elif steps:
            steps[-1].expected.append(line)
        elif line.strip():
            raise ValueError(f"output before the first '$ ' command: {line!r}")
        i += 1
    return steps


def find_blocks(path: Path) -> list[Block]:
    """Every ```console block of the Markdown file ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent = fence.group(1)
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        marker = MARKER.match(lines[i - 1]) if i > 0 else None
        body = [line[len(indent) :] if line.startswith(indent) else line for line in lines[i + 1 : end]]
        try:
            steps = parse_steps(body)
        except ValueError as error:
            raise ValueError(f"{relative(path)}:{i + 1}: {error}") from None
        reason = marker.group(2).strip("() ") if marker else ""
        blocks.append(Block(path, i, end, indent, marker.group(1) if marker else None, reason, steps))
        i = end + 1
    return blocks


def strip_note(line: str) -> str:
    """The output text of a docs line: its ``← note`` and trailing spaces removed."""
    return NOTE.sub("", line).rstrip()


def normalise(line: str) -> str:
    """What must agree between the docs and a run: rates and durations left out."""
    line = re.sub(r"\(\d+(?:\.\d+)?/s\)", "(…/s)", line)
    line = re.sub(r'("seconds": )\d+(?:\.\d+)?', r"\1…", line)
    return re.sub(r"\b\d+(?:\.\d+)? ?(s|ms)\b", r"… \1", line)


def line_matches(expected: str, actual: str) -> bool:
    """Whether the docs line ``expected`` (notes stripped) shows the output line ``actual``."""
    expected, actual = normalise(expected), normalise(actual)
    if "…" not in expected:
        return expected == actual
    pattern = ".*".join(re.escape(part) for part in expected.split("…"))
    return re.fullmatch(pattern, actual) is not None


def output_matches(expected: Sequence[str], actual: Sequence[str]) -> bool:
    """Whether the docs lines ``expected`` show ``actual``: line by line, a ``…`` line
    standing for any run of lines."""
    pattern = [strip_note(line) for line in expected]
    while pattern and not pattern[-1]:
        pattern.pop()
    seen: dict[tuple[int, int], bool] = {}

    def match(i: int, j: int) -> bool:
        if (i, j) not in seen:
            if i == len(pattern):
                result = j == len(actual)
            elif ELLIPSIS_LINE.match(pattern[i]):
                result = any(match(i + 1, k) for k in range(j, len(actual) + 1))
            else:
                result = j < len(actual) and line_matches(pattern[i], actual[j]) and match(i + 1, j + 1)
            seen[(i, j)] = result
        return seen[(i, j)]

    return match(0, 0)


def refit(expected: Sequence[str], actual: Sequence[str]) -> list[str]:
    """New docs lines for ``actual``: shortened as ``expected`` was (as many lines before
    its first ``…`` line and after its last), with ``expected``'s notes kept on the lines
    that still read the same."""
    stripped = [strip_note(line) for line in expected]
    while stripped and not stripped[-1]:
        stripped.pop()
    dots = [i for i, line in enumerate(stripped) if ELLIPSIS_LINE.match(line)]
    new = list(actual)
    if dots:
        head, tail = dots[0], len(stripped) - dots[-1] - 1
        if len(actual) > head + tail:
            new = [*actual[:head], expected[dots[0]], *actual[len(actual) - tail :]]
    notes = {}
    for line, text in zip(expected, stripped):
        if line.rstrip() != text and not ELLIPSIS_LINE.match(text):
            notes.setdefault(normalise(text), line[len(text) :].rstrip())
    return [line + notes.pop(normalise(line), "") if line not in expected else line for line in new]


def run_block(block: Block, python: str = sys.executable) -> list[list[str]]:
    """Run ``block``'s commands in one bash in a fresh temporary folder; each command's
    stdout then stderr, as lines with the folder's and the repository's paths made relative."""
    with tempfile.TemporaryDirectory(prefix="cfx-docs-") as work, tempfile.TemporaryDirectory() as capture:
        shutil.copytree(ROOT / "examples", Path(work) / "examples", ignore=shutil.ignore_patterns("__pycache__"))
        script = [f"cd {shlex.quote(work)}"]
        for n, step in enumerate(block.steps):
            out, err = shlex.quote(f"{capture}/{n}.out"), shlex.quote(f"{capture}/{n}.err")
            script.append(f"{{ {step.command}\n}} >{out} 2>{err}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CFX_") or k == "CFX_WEIGHTS"}
        bin_dir = str(Path(python).parent)
        env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", COLUMNS="80", TERM="dumb", NO_COLOR="1")
        env.update(PYTHONHASHSEED="0", LC_ALL="C.UTF-8")
        try:
            subprocess.run(
                ["bash", "-c", "\n".join(script)],
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                timeout=BLOCK_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            print(f"docs_examples: {block.where}: stopped after {BLOCK_TIMEOUT_S} s", file=sys.stderr)
        prefixes = sorted({str(Path(work).resolve()), work, str(ROOT)}, key=len, reverse=True)
        outputs = []
        for n in range(len(block.steps)):
            text = ""
            for stream in ("out", "err"):
                file = Path(capture, f"{n}.{stream}")
                part = file.read_text(encoding="utf-8", errors="replace") if file.exists() else ""
                text += part if not part or part.endswith("\n") else part + "\n"
            for prefix in prefixes:
                text = text.replace(prefix + "/", "").replace(prefix, ".")
            outputs.append([line.rstrip() for line in text.splitlines()])
        return outputs


def render(block: Block, outputs: Sequence[Sequence[str]]) -> list[str]:
    """The block's new lines (between its fences, indented): commands kept, outputs new."""
    lines = []
    for step, actual in zip(block.steps, outputs):
        lines += step.command_lines
        lines += step.expected if output_matches(step.expected, actual) else refit(step.expected, actual)
    return [block.indent + line if line else line for line in lines]


def selected(blocks: Sequence[Block], fast: bool) -> Iterator[Block]:
    """The blocks to run: not skipped, and not slow under ``fast``."""
    for block in blocks:
        if block.marker == "skip" or (fast and block.marker == "slow"):
            continue
        yield block


def check_file(path: Path, write: bool, fast: bool, report=print) -> list[str]:
    """Run the blocks of ``path``; return ``FILE:LINE`` of each that differs (rewriting
    them under ``write``) and ``report`` a diff or a note per block."""
    blocks = find_blocks(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    stale = []
    for block in reversed(list(selected(blocks, fast))):
        outputs = run_block(block)
        current = lines[block.fence_line + 1 : block.end_line]
        new = render(block, outputs)
        if all(output_matches(s.expected, out) for s, out in zip(block.steps, outputs)):
            continue
        stale.append(block.where)
        diff = difflib.unified_diff(current, new, f"{block.where} (docs)", f"{block.where} (run now)", lineterm="")
        report("\n".join(diff))
        lines[block.fence_line + 1 : block.end_line] = new
    if write and stale:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return stale[::-1]


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: check or rewrite the console blocks of FILES."""
    parser = argparse.ArgumentParser(
        prog="python -m cfx.tools.docs_examples",
        description=__doc__.split("Usage::")[0]
        + __doc__.split("*.md.", 1)[1].lstrip(),  # the conventions, without the usage
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="report blocks whose output differs (the default)")
    mode.add_argument("--write", action="store_true", help="rewrite the output of blocks that differ")
    parser.add_argument("--fast", action="store_true", help="leave out blocks marked slow")
    parser.add_argument("--list", action="store_true", help="list the blocks and their markers, run nothing")
    parser.add_argument("files", nargs="*", type=Path, help="Markdown files (default: README.md and docs/)")
    args = parser.parse_args(argv)
    files = args.files or [ROOT / name for name in DEFAULT_FILES]
    try:
        found = {path: find_blocks(path) for path in files}
    except (OSError, ValueError) as error:
        print(f"docs_examples: error: {error}", file=sys.stderr)
        return 2
    if args.list:
        for blocks in found.values():
            for block in blocks:
                first = block.steps[0].command.splitlines()[0] if block.steps else ""
                print(f"{block.where}\t{block.marker or 'run'}\t{block.reason or first}")
        return 0
    stale = []
    for path in files:
        stale += check_file(path, write=args.write, fast=args.fast)
    ran = sum(len(list(selected(blocks, args.fast))) for blocks in found.values())
    verb = "rewritten" if args.write else "differ"
    summary = f"docs_examples: {ran} blocks run, {len(stale)} {verb}" + (f": {', '.join(stale)}" if stale else "")
    print(summary, file=sys.stderr)
    return 1 if stale and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())
