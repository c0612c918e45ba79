"""Steps every image command shares: gather inputs, load a model, end the run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, NoReturn, Sequence, TypeVar

import typer

from cfx.reports import EXIT_USAGE, RecordWriter

T = TypeVar("T")


def fail_usage(message: str) -> NoReturn:
    """A usage error: one line on stderr, exit code 2."""
    print(f"cfx: error: {message}", file=sys.stderr)
    raise typer.Exit(EXIT_USAGE)


def collect_inputs(args: Sequence[str], output: Path | None, shard: str | None, writer: RecordWriter) -> list:
    """Input items from files, folders and stdin; problems become error records."""
    from cfx.inputs import InputProblem, iter_inputs, parse_shard, shard as take_shard

    if not args:
        fail_usage("no inputs given (files, folders, or - for stdin)")
    try:
        part = parse_shard(shard) if shard else None
    except ValueError as error:
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


def load_or_fail(load: Callable[[], T]) -> T:
    """Load a model; a missing/corrupt weights file or bad option is a usage error (exit 2)."""
    from cfx.registry import UnknownModelError
    from cfx.runner import DeviceError
    from cfx.weights import WeightsError

    try:
        return load()
    except (WeightsError, UnknownModelError, DeviceError, ValueError) as error:
        fail_usage(str(error))


def finish_run(writer: RecordWriter, quiet: bool) -> NoReturn:
    if not quiet:
        failed = f", {writer.failed} failed" if writer.failed else ""
        print(f"{writer.command}: {writer.written} done{failed}", file=sys.stderr)
    raise typer.Exit(writer.exit_code)


def warn(command: str, text: str, quiet: bool) -> None:
    """A warning line on stderr (silenced by --quiet)."""
    if not quiet:
        print(f"{command}: warning: {text}", file=sys.stderr)


def failure_reason(reason: str, path: Path) -> str:
    """One line for an error record: ImageError messages start with the path, which the record has already."""
    prefix = f"{path}: "
    return reason[len(prefix) :] if reason.startswith(prefix) else (reason.splitlines() or ["failed"])[0]


def colorized_sources(colorized: list[str] | None, colorizers: str | None) -> tuple[list[tuple[str, Path]], list[str]]:
    """--colorized NAME=DIR options and the --colorizers list (ValueError/FileNotFoundError on bad ones)."""
    from cfx.train.detector import parse_named_dirs

    return parse_named_dirs(colorized or []), [n.strip() for n in (colorizers or "").split(",") if n.strip()]
