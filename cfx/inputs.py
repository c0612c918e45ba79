"""Where inputs come from and where outputs go (the Unix contract).

``iter_inputs`` expands command-line arguments into image items: plain files,
directories walked recursively in sorted order (the relative tree is mirrored
in the output), and ``-`` for stdin, one path per line or JSON Lines whose
``output`` (else ``path``) field is the image path; a relative file path on
stdin keeps its folders in the output (absolute paths and paths with ``..``
keep only their name).  Problems (missing files,
bad JSON lines, unreadable directories) are yielded as :class:`InputProblem`
so a run reports them and carries on.

``OutputPlanner`` maps items to output paths under ``-o`` and resolves name
collisions deterministically (``a.jpg`` and ``a.png`` → ``a.png`` and
``a_2.png``), never overwriting another input's output or an input itself.

``shard`` picks the K-th of N deterministic slices of an input list.

One rule for hidden names holds for every folder cfx walks (inputs here, training and
evaluation folders through :func:`image_files`): a file or folder whose name starts with
``.`` (our own temporary files, macOS ``._`` forks, ``.thumbnails``) is not walked; a path
named on the command line or on stdin is taken as it is.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from cfx.errors import UsageError
from cfx.imageio import IMAGE_SUFFIXES

__all__ = [
    "InputItem",
    "InputProblem",
    "OutputPlanner",
    "image_files",
    "is_hidden",
    "iter_inputs",
    "parse_shard",
    "shard",
]

T = TypeVar("T")


@dataclass(frozen=True)
class InputItem:
    """One image to process.

    ``rel`` is where its output goes relative to the output directory: never
    absolute and never containing ``..``.  ``fields`` holds the extra keys of
    a stdin JSON line (everything but ``output`` and ``path``).
    """

    path: Path
    rel: Path
    fields: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class InputProblem:
    """An input that cannot be used; reported as an error record."""

    path: str
    reason: str


class _Walker:
    """Shared state of one ``iter_inputs`` call: dedup and exclusion."""

    def __init__(self, exclude: Path | None) -> None:
        self.exclude = os.path.realpath(exclude) if exclude is not None else None
        self.seen_files: set[tuple[int, int]] = set()
        self.seen_dirs: set[tuple[int, int]] = set()

    def skip_rule(self, top: str) -> Callable[[str], bool]:
        """What a walk of ``top`` leaves out: the output folder's subtree.

        When ``top`` itself lies inside the output folder (``cfx colorize work/scans
        -o work``), only the output folder itself is left out (reached through a
        symlink), or nothing under ``top`` could be walked.
        """
        out = self.exclude
        if out is None:
            return lambda path: False
        if _within(os.path.realpath(top), out):
            return lambda path: os.path.realpath(path) == out
        return lambda path: _within(os.path.realpath(path), out)

    def first_time(self, st: os.stat_result) -> bool:
        key = (st.st_dev, st.st_ino)
        if key in self.seen_files:
            return False
        self.seen_files.add(key)
        return True

    def expand(self, raw: str, rel_of_file: Path | None = None) -> Iterator[InputItem | InputProblem]:
        """Items for one path: a file (rel = its name) or a directory (walked)."""
        try:
            st = os.stat(raw)
        except OSError as exc:
            yield InputProblem(raw, _os_reason(exc))
            return
        except ValueError:  # e.g. a NUL byte, which no path can contain
            yield InputProblem(repr(raw), "not a valid path")
            return
        if stat.S_ISDIR(st.st_mode):
            yield from self.walk(Path(raw), st)
        elif stat.S_ISREG(st.st_mode):
            if self.first_time(st):
                yield InputItem(Path(raw), rel_of_file or Path(Path(raw).name))
        else:
            yield InputProblem(raw, "not a regular file or directory")

    def walk(self, top: Path, top_st: os.stat_result) -> Iterator[InputItem | InputProblem]:
        """Depth-first, sorted by name; symlinked directories visited once."""
        if self.exclude is not None and os.path.realpath(top) == self.exclude:
            # Its images would be written beside themselves and read again by the next run.
            yield InputProblem(str(top), "is the output folder (-o); choose another output folder")
            return
        skip = self.skip_rule(str(top))
        self.seen_dirs.add((top_st.st_dev, top_st.st_ino))
        stack: list[tuple[Path, Iterator[os.DirEntry[str]]]] = []
        yield from self._push(stack, top, Path())
        while stack:
            rel_dir, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                continue
            yield from self._visit(stack, entry, rel_dir / entry.name, skip)

    def _push(self, stack: list, directory: Path, rel_dir: Path) -> Iterator[InputProblem]:
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield InputProblem(str(directory), _os_reason(exc))
            return
        stack.append((rel_dir, iter(entries)))

    def _visit(
        self, stack: list, entry: os.DirEntry[str], rel: Path, skip: Callable[[str], bool]
    ) -> Iterator[InputItem | InputProblem]:
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
            st = entry.stat(follow_symlinks=True)
        except OSError:
            return  # dangling symlink or vanished entry: skip quietly
        if is_dir:
            key = (st.st_dev, st.st_ino)
            if key in self.seen_dirs or is_hidden(entry.name) or skip(entry.path):
                return
            self.seen_dirs.add(key)
            yield from self._push(stack, Path(entry.path), rel)
        elif stat.S_ISREG(st.st_mode) and _wanted_file(entry.name):
            if entry.is_symlink() and skip(entry.path):
                return
            if self.first_time(st):
                yield InputItem(Path(entry.path), rel)


def _within(path: str, folder: str) -> bool:
    """Whether real path ``path`` is ``folder`` or lies under it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def is_hidden(name: str) -> bool:
    """Whether a walk leaves out the file or folder ``name`` (see the module docstring)."""
    return name.startswith(".")


def _wanted_file(name: str) -> bool:
    """Image suffix, and not hidden (our temp files, macOS ``._`` files)."""
    return not is_hidden(name) and Path(name).suffix.lower() in IMAGE_SUFFIXES


def image_files(root: Path) -> list[Path]:
    """The image files under folder ``root``, recursively, sorted, hidden names left out
    (:func:`is_hidden`, for files and the folders they are in below ``root``)."""
    return sorted(
        p
        for p in root.rglob("*")
        if _wanted_file(p.name) and not any(map(is_hidden, p.relative_to(root).parts[:-1])) and p.is_file()
    )


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


def iter_inputs(
    args: Sequence[str],
    stdin: TextIO | None = None,
    exclude: Path | None = None,
) -> Iterator[InputItem | InputProblem]:
    """Expand arguments into items (lazily, so stdin streams).

    ``exclude`` (typically the output directory) is never walked into, so a
    run never consumes its own outputs; a folder argument that *is* it is an
    :class:`InputProblem`.  The same file reached twice is yielded once.
    """
    walker = _Walker(exclude)
    for arg in args:
        if arg == "-":
            yield from _iter_stdin(walker, stdin if stdin is not None else sys.stdin)
        else:
            yield from walker.expand(arg)


def _iter_stdin(walker: _Walker, stream: TextIO) -> Iterator[InputItem | InputProblem]:
    for lineno, line in enumerate(stream, start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("{"):
            parsed = _parse_json_line(text, lineno)
            if isinstance(parsed, InputProblem):
                yield parsed
                continue
            raw, fields = parsed
        else:
            raw, fields = text, {}
        for found in walker.expand(raw, _stdin_rel(raw)):
            if isinstance(found, InputItem) and fields:
                found = InputItem(found.path, found.rel, dict(fields))
            yield found


def _stdin_rel(raw: str) -> Path | None:
    """Where a file named on stdin goes under the output folder: a relative path without
    ``..`` keeps its folders (``find archive -name '*.jpg'`` mirrors the archive); an
    absolute path or one with ``..`` keeps only its name (None)."""
    path = Path(raw)
    if path.is_absolute() or ".." in path.parts:
        return None
    rel = Path(os.path.normpath(raw))
    return rel if rel.name and rel != Path(".") else None


def _parse_json_line(text: str, lineno: int) -> tuple[str, dict[str, Any]] | InputProblem:
    where = f"<stdin line {lineno}>"
    try:
        record = json.loads(text)
    except ValueError as exc:
        return InputProblem(where, f"invalid JSON: {exc}")
    if not isinstance(record, dict):
        return InputProblem(where, "JSON line is not an object")
    raw = record.get("output") or record.get("path")
    if not isinstance(raw, str) or not raw:
        return InputProblem(where, "JSON line has no 'output' or 'path' string")
    fields = {k: v for k, v in record.items() if k not in ("output", "path")}
    return raw, fields


class OutputPlanner:
    """Choose each item's output path under ``out_dir``, avoiding collisions.

    ``suffix_for(item)`` gives the output suffix (default: keep the input's).
    A path already planned in this run (compared case-insensitively, so the
    result is also safe on macOS/Windows) or one that is an input gets the
    next free ``stem_2``, ``stem_3``, ... and a message in ``warnings``.
    Inputs are those planned so far plus ``inputs`` (pass every file the run
    will read, so an output never replaces an input that is read later).
    Deterministic for a given input order.
    """

    def __init__(
        self,
        out_dir: Path,
        suffix_for: Callable[[InputItem], str] | None = None,
        inputs: Iterable[Path | str] = (),
    ) -> None:
        self.out_dir = Path(out_dir)
        self.suffix_for = suffix_for
        self.warnings: list[str] = []
        self._claimed: dict[str, Path] = {}  # normalised target -> input path
        self._inputs: set[tuple[int, int]] = set()
        for path in inputs:
            self._remember_input(Path(path))

    def plan(self, item: InputItem) -> Path:
        self._remember_input(item.path)
        rel = _safe_rel(item.rel)
        suffix = self.suffix_for(item) if self.suffix_for else rel.suffix
        wanted = self.out_dir / rel.with_name(rel.stem + suffix)
        target = wanted
        n = 1
        while self._taken(target):
            n += 1
            target = wanted.with_name(f"{wanted.stem}_{n}{suffix}")
        if target != wanted:
            self.warnings.append(self._collision_message(item, wanted, target))
        self._claimed[_norm(target)] = item.path
        return target

    def _remember_input(self, path: Path) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return
        self._inputs.add((st.st_dev, st.st_ino))

    def _taken(self, target: Path) -> bool:
        if _norm(target) in self._claimed:
            return True
        try:
            st = os.stat(target)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) in self._inputs

    def _collision_message(self, item: InputItem, wanted: Path, target: Path) -> str:
        other = self._claimed.get(_norm(wanted))
        whose = f"the output of {other}" if other is not None else "an input file"
        return f"{item.path}: output {wanted} would overwrite {whose}; writing {target} instead"


def _norm(path: Path) -> str:
    return os.path.normpath(str(path)).casefold()


def _safe_rel(rel: Path) -> Path:
    """Drop anchors, '.' and '..' parts so ``rel`` cannot escape out_dir."""
    parts = [p for p in Path(rel).parts if p not in ("", ".", "..", os.sep) and not Path(p).anchor]
    return Path(*parts) if parts else Path("image")


def shard(
    items: Sequence[T],
    k: int,
    n: int,
    key: Callable[[T], Any] | None = None,
) -> list[T]:
    """The K-th (1-based) of N deterministic slices of the sorted items.

    Items are sorted by ``key`` (default: their ``.path`` as a string, or the
    item itself as a string), then item ``i`` goes to slice ``i % n + 1``.
    """
    if n < 1 or not 1 <= k <= n:
        raise UsageError(f"shard {k}/{n}: need 1 <= K <= N")
    ordered = sorted(items, key=key or _default_shard_key)
    return [item for i, item in enumerate(ordered) if i % n == k - 1]


def _default_shard_key(item: Any) -> str:
    return str(getattr(item, "path", item))


def parse_shard(text: str) -> tuple[int, int]:
    """Parse ``"K/N"`` (e.g. ``"2/8"``); ``ValueError`` with a clear message."""
    try:
        k_text, n_text = text.split("/")
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise UsageError(f"--shard must look like K/N (e.g. 2/8), not {text!r}") from None
    if n < 1 or not 1 <= k <= n:
        raise UsageError(f"--shard {text}: need 1 <= K <= N")
    return k, n
