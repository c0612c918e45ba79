"""`cfx`: entry point. Subcommands are imported here but import torch only when run."""

from __future__ import annotations

import signal
from typing import Annotated, Optional

import typer

from cfx import __version__
from cfx.reports import EXIT_CODES_HELP

app = typer.Typer(
    name="cfx",
    help=f"Unix-style tools for automatic image colorization and for detecting machine-colorized images.\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cfx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = None,
) -> None:
    """cfx: colorize, detect, train, harden, eval."""


from cfx.cli import (  # noqa: E402
    colorize_command,
    detect_command,
    eval_command,
    harden_command,
    models_command,
    train_command,
    transfer_command,
)
from cfx.cli.commands import add_command  # noqa: E402

GROUPS = {
    "train": "Train colorizers and detectors on image folders.",
    "eval": "Evaluate colorizers and detectors on image folders.",
    "harden": "Harden detectors against colorizers they never saw, and colorizers against detectors.",
}
# (name, function, help): a top-level command's help is its module's docstring, a group's
# command's its function's docstring.
COMMANDS = (
    ("colorize", colorize_command.colorize, colorize_command.__doc__),
    ("models", models_command.models, models_command.__doc__),
    ("transfer", transfer_command.transfer, transfer_command.__doc__),
    ("detect", detect_command.detect, detect_command.__doc__),
    ("train colorizer", train_command.colorizer, None),
    ("train detector", train_command.detector, None),
    ("eval colorizer", eval_command.colorizer, None),
    ("eval detector", eval_command.detector, None),
    ("harden detector", harden_command.detector, None),
    ("harden colorizer", harden_command.colorizer, None),
)
for _name, _function, _help in COMMANDS:
    add_command(app, _name, _function, _help, GROUPS)


def _terminate(signum: int, frame: object) -> None:
    # SIGINT and SIGTERM unwind as KeyboardInterrupt (typer exits 130), so atomic writes remove
    # their temporary files; a running pipeline first finishes and reports the writes under way.
    from cfx.runner import request_stop

    request_stop()


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    app()


if __name__ == "__main__":
    main()
