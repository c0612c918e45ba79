"""Steps every image command shares: gather inputs, warn, end the run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn, Sequence, TypeVar

import typer

from cfx.reports import EXIT_USAGE, RecordWriter

T = TypeVar("T")


def fail_usage(message: str) -> NoReturn:
    """A usage error: one line on stderr, exit code 2."""
    print(f"cfx: error: {message}", file=sys.stderr)
    raise typer.Exit(EXIT_USAGE)


def collect_inputs(args: Sequence[str], output: Path | None, shard: str | None, writer: RecordWriter) -> list:
    """Input items from files, folders and stdin; problems become error records."""
    from cfx.errors import UsageError
    from cfx.inputs import InputProblem, iter_inputs, parse_shard, shard as take_shard

    if not args:
        fail_usage("no inputs given (files, folders, or - for stdin)")
    check_input_args(args, output)
    try:
        part = parse_shard(shard) if shard else None
    except UsageError as error:
        fail_usage(str(error))
    items = []
    for found in iter_inputs(args, stdin=sys.stdin, exclude=output):
        if isinstance(found, InputProblem):
            writer.error(found.path, found.reason)
        else:
            items.append(found)
    if part is not None:
        items = take_shard(items, *part)
    if not items and not writer.failed:
        fail_usage("no images found in the inputs")
    return items


def check_input_args(args: Sequence[str], output: Path | None) -> None:
    """Usage errors in the arguments themselves (exit 2): a file or folder that does not
    exist, or a folder that is the output folder (-o). Paths read from stdin are inputs,
    not arguments: a missing one is a failed input (exit 1)."""
    import os

    for arg in args:
        if arg == "-":
            continue
        if not os.path.exists(arg):
            fail_usage(f"{arg}: no such file or folder")
        if output is not None and os.path.isdir(arg) and os.path.realpath(arg) == os.path.realpath(output):
            fail_usage(f"-o {output} is the input folder {arg}; choose another output folder")


def single_output_file(output: Path, items: Sequence, inputs: Sequence[Path] = ()) -> bool:
    """Whether -o names one output file rather than a folder: an image suffix (``-o colour.jpg``)
    and not an existing folder. Then there must be exactly one input, and -o must not be
    an input itself (usage errors otherwise)."""
    import os

    from cfx.imageio import IMAGE_SUFFIXES

    if output.is_dir():
        return False
    if output.suffix.lower() not in IMAGE_SUFFIXES:
        if output.exists():
            fail_usage(f"-o {output} is a file, not a folder")
        return False
    if len(items) != 1:
        fail_usage(f"-o {output} names one image file, but there are {len(items)} inputs; give an output folder")
    if output.exists():
        for path in [items[0].path, *inputs]:
            if os.path.exists(path) and os.path.samefile(path, output):
                fail_usage(f"-o {output} is an input; inputs are never overwritten")
    return True  # its folder is made when the file is written, as -o folders are


def summary(writer: RecordWriter) -> str:
    """``N done[, N skipped][, N failed]`` for the end-of-run line."""
    parts = [f"{writer.written} done"]
    parts += [f"{writer.skipped} skipped"] if writer.skipped else []
    parts += [f"{writer.failed} failed"] if writer.failed else []
    return ", ".join(parts)


def finish_run(writer: RecordWriter, quiet: bool) -> NoReturn:
    if not quiet:
        print(f"{writer.command}: {summary(writer)}", file=sys.stderr)
    raise typer.Exit(writer.exit_code)


def interrupted_run(
    writer: RecordWriter, quiet: bool, left: int, hint: str = " (rerun with --skip-existing to finish them)"
) -> NoReturn:
    """After SIGINT/SIGTERM: the summary with the ``left`` inputs not done, then exit 130."""
    from cfx.reports import EXIT_INTERRUPTED

    if not quiet:
        print(
            f"{writer.command}: interrupted: {summary(writer)}, {left} not done{hint if left else ''}", file=sys.stderr
        )
    raise typer.Exit(EXIT_INTERRUPTED)


def warn(command: str, text: str, quiet: bool) -> None:
    """A warning line on stderr (silenced by --quiet)."""
    if not quiet:
        print(f"{command}: warning: {text}", file=sys.stderr)


def failure_reason(reason: str, path: Path) -> str:
    """One line for an error record: ImageError messages start with the path, which the record has already."""
    prefix = f"{path}: "
    return reason[len(prefix) :] if reason.startswith(prefix) else (reason.splitlines() or ["failed"])[0]


def parse_named_dirs(values: Sequence[str]) -> list[tuple[str, Path]]:
    """``NAME=DIR`` options → (name, folder); a bare DIR is named after the folder."""
    from cfx.errors import MissingFolderError, UsageError

    result = []
    for value in values:
        name, sep, folder = value.partition("=")
        if not sep:
            name, folder = Path(value).name, value
        if not name or not folder:
            raise UsageError(f"--colorized expects NAME=DIR, got {value!r}")
        if not Path(folder).is_dir():
            raise MissingFolderError(f"{folder}: not a directory (--colorized {value})")
        result.append((name, Path(folder)))
    return result


def colorized_sources(colorized: list[str] | None, colorizers: str | None) -> tuple[list[tuple[str, Path]], list[str]]:
    """--colorized NAME=DIR options and the --colorizers list (ValueError/FileNotFoundError on bad ones)."""
    return parse_named_dirs(colorized or []), [n.strip() for n in (colorizers or "").split(",") if n.strip()]
