"""Progress and messages on stderr only: a rich bar on a terminal, plain lines otherwise,
nothing with --quiet. Python warnings raised during a command come out on the same
channel, one ``cfx: warning: …`` line each (:func:`warnings_as_messages`)."""

from __future__ import annotations

import sys
import time
import warnings
from contextlib import contextmanager
from typing import Iterator, Protocol, TextIO


class Progress(Protocol):
    def advance(self, n: int = 1) -> None: ...


class _Silent:
    def advance(self, n: int = 1) -> None:
        pass


class _Lines:
    """Plain progress lines for logs: at most one every ``interval`` seconds."""

    def __init__(self, label: str, total: int | None, interval: float = 5.0) -> None:
        self.label, self.total, self.interval = label, total, interval
        self.done = 0
        self.start = self.last = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.interval or (self.total is not None and self.done == self.total):
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            of = f"/{self.total}" if self.total is not None else ""
            print(f"{self.label}: {self.done}{of} ({rate:.1f}/s)", file=sys.stderr, flush=True)


class _Rich:
    def __init__(self, bar: object, task: object) -> None:
        self.bar, self.task = bar, task

    def advance(self, n: int = 1) -> None:
        self.bar.advance(self.task, n)  # type: ignore[attr-defined]


@contextmanager
def progress(label: str, total: int | None = None, quiet: bool = False) -> Iterator[Progress]:
    if quiet:
        yield _Silent()
        return
    if not sys.stderr.isatty():
        yield _Lines(label, total)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress as RichProgress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: object) -> Text:
            speed = task.finished_speed or task.speed  # type: ignore[attr-defined]
            return Text(f"{speed:.1f}/s" if speed else "-/s")

    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with RichProgress(*columns, console=console, redirect_stdout=False, redirect_stderr=False) as bar:
        yield _Rich(bar, bar.add_task(label, total=total))


def message(text: str, quiet: bool = False) -> None:
    """A one-line message on stderr."""
    if not quiet:
        print(text, file=sys.stderr, flush=True)


@contextmanager
def warnings_as_messages(quiet: bool = False, prefix: str = "cfx") -> Iterator[None]:
    """Within the block, each Python warning is one ``PREFIX: warning: TEXT`` line on stderr
    (its first line, without the category or source line Python adds); none with ``quiet``."""

    def show(
        text: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        first = (str(text).strip().splitlines() or [category.__name__])[0]
        message(f"{prefix}: warning: {first}", quiet)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield
