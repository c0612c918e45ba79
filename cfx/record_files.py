"""Read JSON Lines record files (the `--json` output of cfx commands) with provenance.

Several files (and ``-`` for stdin, at most once) are read as their concatenation.
Every record remembers where it came from (``file:line``), so problems name the place:
a missing or unreadable file, a line that is not a JSON object, a record of another
schema, a record without a field it needs, or two records for the same item (for
example overlapping shards of one run) all raise :class:`RecordFileError`, which the
CLI turns into a usage error (exit 2).

    records = read_records(["detect-1.jsonl", "detect-2.jsonl"], "cfx.detect/1")
    check_unique([r for r in records if r.ok], key=lambda r: (r["model"], r["path"]))
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable, Iterator, Sequence, TextIO

from cfx.errors import UsageError

STDIN = "-"
STDIN_NAME = "<stdin>"


class RecordFileError(UsageError):
    """A record file that cannot be used; the message names the file (and line)."""


@dataclass(frozen=True)
class Record:
    """One JSON object from a record file, with the file name and 1-based line number."""

    data: dict[str, Any]
    source: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def ok(self) -> bool:
        """A success record (no ``error``)."""
        return "error" not in self.data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def failure(self, reason: str | None = None, **extra: Any) -> dict[str, Any]:
        """A ``failed`` report entry for this record: its path and model, ``extra``, the
        reason (default: the record's own ``error``) and where the record is."""
        entry = {
            "path": self.data["path"],
            **({"model": self.data["model"]} if self.data.get("model") else {}),
            **extra,
        }
        return {**entry, "error": str(self.data.get("error") if reason is None else reason), "record": self.where}

    def number(self, field: str) -> float:
        """A numeric field; RecordFileError when it is missing or not a number."""
        value = self.data.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecordFileError(f"{self.where}: {field} {value!r} is not a number")
        return float(value)

    def require(self, *fields: str) -> None:
        """RecordFileError unless every field is present (and not null)."""
        missing = [name for name in fields if self.data.get(name) is None]
        if missing:
            raise RecordFileError(f"{self.where}: record has no {', '.join(missing)}")


def iter_records(names: Sequence[str], schema: str, stdin: TextIO | None = None) -> Iterator[Record]:
    """The records of ``names`` in order (blank lines skipped); each must have ``schema``."""
    if list(names).count(STDIN) > 1:
        raise RecordFileError("- (stdin) given more than once")
    given: dict[str, int] = {}  # one file twice would give every record twice
    for i, name in enumerate(names):
        first = given.setdefault(same_file(name), i) if name != STDIN else i
        if first != i:
            earlier = names[first]
            raise RecordFileError(f"{name}: given twice" + (f" (also as {earlier})" if earlier != name else ""))
    for name in names:
        if name == STDIN:
            yield from _parse(stdin or sys.stdin, STDIN_NAME, schema)
            continue
        try:  # opened here and closed by the ``with`` below, so that open errors are told apart from read errors
            handle = open(name, encoding="utf-8")  # noqa: SIM115
        except FileNotFoundError:
            raise RecordFileError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise RecordFileError(f"{name}: is a directory, not a record file") from None
        except OSError as error:
            raise RecordFileError(f"{name}: cannot read ({error.strerror or error})") from None
        with handle:
            yield from _parse(handle, name, schema)


def read_records(names: Sequence[str], schema: str, stdin: TextIO | None = None) -> list[Record]:
    """All records of ``names`` (see :func:`iter_records`); RecordFileError if there are none."""
    records = list(iter_records(names, schema, stdin))
    if not records:
        raise RecordFileError(f"no {schema} records in {', '.join(STDIN_NAME if n == STDIN else n for n in names)}")
    return records


def _parse(handle: TextIO, name: str, schema: str) -> Iterator[Record]:
    lineno = 0
    try:
        for lineno, text in enumerate(handle, 1):
            if not text.strip():
                continue
            where = f"{name}:{lineno}"
            try:
                data = json.loads(text)
            except ValueError as error:
                raise RecordFileError(f"{where}: not JSON ({error})") from None
            if not isinstance(data, dict):
                raise RecordFileError(f"{where}: not a JSON object")
            if data.get("schema") != schema:
                found = data.get("schema")
                raise RecordFileError(
                    f"{where}: schema {found!r}, expected {schema!r}"
                    if found
                    else f"{where}: no schema, expected {schema!r}"
                )
            if not isinstance(data.get("path"), str) or not data["path"]:
                raise RecordFileError(f"{where}: record has no path")
            yield Record(data, name, lineno)
    except UnicodeDecodeError:
        raise RecordFileError(f"{name}:{lineno + 1}: not UTF-8 text") from None
    except OSError as error:
        raise RecordFileError(f"{name}: cannot read ({error.strerror or error})") from None


def check_unique(records: Iterable[Record], key: Callable[[Record], Hashable]) -> None:
    """RecordFileError naming both places when two records share ``key`` (e.g. overlapping shards)."""
    seen: dict[Hashable, Record] = {}
    for record in records:
        k = key(record)
        first = seen.setdefault(k, record)
        if first is not record:
            model = f" with model {record.get('model')}" if record.get("model") else ""
            raise RecordFileError(
                f"{record['path']}{model} appears twice: {first.where} and {record.where} (overlapping shards?)"
            )


def same_file(path: str) -> str:
    """A key for ``path`` that is equal for every spelling of one file (absolute, normalised, symlinks resolved)."""
    return os.path.realpath(path)
