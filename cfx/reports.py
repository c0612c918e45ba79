"""Records on stdout: JSON Lines with a versioned schema, or one plain line per item.

Exit codes shared by every subcommand (documented in `cfx --help` and the README):
0 all inputs done; 1 some inputs failed (the rest were processed, each failure is a
record with ``error``); 2 usage error (bad option, missing weights, no inputs);
3 `cfx detect --fail-on-colorized` judged at least one input colorized; 130 interrupted
(SIGINT or SIGTERM; the end-of-run summary says what was done).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_COLORIZED = 3
EXIT_INTERRUPTED = 130  # SIGINT/SIGTERM (128 + SIGINT), as shells report it


class ReaderGone(BrokenPipeError):
    """stdout's reader went away (``cfx … | head -1``) while records were written;
    ``exit_code`` is what the run had earned so far (1 if an input had failed, else 0)."""

    def __init__(self, exit_code: int) -> None:
        super().__init__("stdout's reader went away")
        self.exit_code = exit_code


EXIT_CODES_HELP = "Exit codes: 0 all done; 1 some inputs failed (others still processed); 2 usage error; 3 detect --fail-on-colorized found a colorized image; 130 interrupted."


@dataclass
class RecordWriter:
    """Writes one line per record to ``stream`` and counts successes, skips and failures.

    ``--json`` mode prints every record as JSON (errors included). Plain mode prints
    ``plain(record)`` for successes and sends errors to stderr as one line each.
    """

    schema: str
    json_mode: bool = False
    plain: Callable[[dict[str, Any]], str] = lambda record: str(record.get("output", record.get("path", "")))
    stream: TextIO = field(default_factory=lambda: sys.stdout)
    errors: TextIO = field(default_factory=lambda: sys.stderr)
    quiet: bool = False
    command: str = "cfx"
    failed: int = 0
    written: int = 0  # successes, not counting skipped ones
    skipped: int = 0  # records with "skipped": true (--skip-existing)

    def write(self, record: dict[str, Any]) -> None:
        """Print ``record`` (see the class docstring); a :class:`ReaderGone` when stdout's reader has gone."""
        try:
            self._write(record)
        except BrokenPipeError:
            raise ReaderGone(self.exit_code) from None

    def _write(self, record: dict[str, Any]) -> None:
        record = {"schema": self.schema, **record}
        if "error" in record:
            self.failed += 1
            if not self.quiet or not self.json_mode:
                print(
                    f"{self.command}: error: {record.get('path', '?')}: {record['error']}", file=self.errors, flush=True
                )
            if not self.json_mode:
                return
        elif record.get("skipped"):
            self.skipped += 1
        else:
            self.written += 1
        line = json.dumps(record, ensure_ascii=False) if self.json_mode else self.plain(record)
        print(line, file=self.stream, flush=True)

    def error(self, path: Any, reason: str, **extra: Any) -> None:
        self.write({"path": str(path), "error": reason, **extra})

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed else EXIT_OK


def write_document(document: dict[str, Any], path: str | None = None, stream: TextIO | None = None) -> None:
    """A one-document report (train, eval, harden): to ``path`` atomically, else stdout."""
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if path:
        from pathlib import Path

        from cfx.imageio import atomic_write_bytes

        atomic_write_bytes(Path(path), text.encode())
    else:
        (stream or sys.stdout).write(text)
