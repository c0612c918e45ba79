"""How every subcommand is registered, and what its errors become.

:func:`add_command` registers a function as ``cfx NAME`` or ``cfx GROUP NAME`` (the group
made on first use), wrapped in the error policy of :func:`reporting_errors`:

- a :class:`cfx.errors.UsageError` (the user's to fix) is one line, ``cfx: error: …``,
  and exit code 2;
- a :class:`cfx.errors.RunFailed` (a run with no result worth keeping) is one line,
  ``cfx: error: …``, and exit code 1;
- any other exception is a bug or a failure of the environment: one line naming the
  exception and saying how to see the traceback, and exit code 1; with ``CFX_DEBUG=1``
  the exception propagates with its traceback;
- stdout's reader going away (``cfx detect … | head -1``, a :class:`BrokenPipeError`)
  stops the command without a word, as Unix tools do: exit code 0, or 1 if an input had
  failed before (:class:`cfx.reports.ReaderGone` carries it).

Python warnings raised while a command runs are one ``cfx: warning: …`` line each on
stderr, silenced by ``--quiet`` (:func:`cfx.progress.warnings_as_messages`).
"""

from __future__ import annotations

import functools
import os
import re
import sys
from typing import Any, Callable, NoReturn

import typer
from typer.core import TyperCommand

from cfx.errors import RunFailed, UsageError
from cfx.reports import EXIT_FAILED, EXIT_OK

DEBUG_VARIABLE = "CFX_DEBUG"


def reporting_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` with the CLI's error policy (see the module docstring)."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        from cfx.progress import warnings_as_messages

        try:
            with warnings_as_messages(quiet=bool(kwargs.get("quiet"))):
                return function(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):  # the CLI's own exits and usage messages
            raise
        except BrokenPipeError as error:
            reader_gone(error)
        except UsageError as error:
            from cfx.cli.common import fail_usage

            fail_usage(_first_line(error))
        except RunFailed as error:
            print(f"cfx: error: {_first_line(error)}", file=sys.stderr)
            raise typer.Exit(EXIT_FAILED) from None
        except Exception as error:
            if os.environ.get(DEBUG_VARIABLE):
                raise
            print(
                f"cfx: error: {type(error).__name__}: {_first_line(error)} (not a usage error; {DEBUG_VARIABLE}=1 shows the traceback)",
                file=sys.stderr,
            )
            raise typer.Exit(EXIT_FAILED) from None

    return run


def reader_gone(error: BrokenPipeError) -> NoReturn:
    """Stop quietly after stdout's reader went away. stdout is pointed at the null device
    first, so that the interpreter's last flush of what is still buffered fails no more."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):  # no file descriptor (an in-process test's captured stdout)
        pass
    raise typer.Exit(getattr(error, "exit_code", EXIT_OK))


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0]


def add_command(
    app: typer.Typer,
    name: str,
    function: Callable[..., Any],
    help: str | None = None,
    groups: dict[str, str] | None = None,
) -> None:
    """Register ``function`` as ``name`` ("colorize", or "train colorizer" for a group's
    command) under :func:`reporting_errors`; ``help`` defaults to the function's docstring.
    A group is made, with its help from ``groups``, the first time one of its commands is added."""
    *group_names, command = name.split()
    target = app
    for group in group_names:
        target = _group(target, group, (groups or {}).get(group, ""))
    target.command(command, help=help, cls=_Command)(reporting_errors(function))


class _Command(TyperCommand):
    """A command whose usage line reads ``INPUTS...``, as Unix usage lines do (typer writes ``{INPUTS}...``)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [re.sub(r"^\{(.*)\}", r"\1", piece) for piece in super().collect_usage_pieces(ctx)]


def _group(app: typer.Typer, name: str, help: str) -> typer.Typer:
    for info in app.registered_groups:
        if info.name == name:
            return info.typer_instance
    group = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group
