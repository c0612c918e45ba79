"""Errors that are the user's to fix, told apart from bugs.

A :class:`UsageError` is a mistake in what was asked (an unknown model, a weights file
that does not fit, a folder without images, an option out of range): the CLI prints its
message on one line and exits 2. Any other exception is a bug or an environment failure:
the CLI names it on one line, exits 1, and prints the traceback only with ``CFX_DEBUG=1``
(see :func:`cfx.cli.common.command`).

A :class:`RunFailed` is a run that finished without a result worth keeping (hardening
whose every candidate misses every natural photo): one line, exit 1, nothing written.

``UsageError`` is a ``ValueError``, so library code that caught ``ValueError`` around
these calls keeps working.
"""

from __future__ import annotations


class UsageError(ValueError):
    """A mistake in the arguments, options or inputs a user gave (exit code 2)."""


class MissingFolderError(UsageError, FileNotFoundError):
    """A folder the user named does not exist or is not a directory."""


class RunFailed(Exception):
    """A run that produced nothing worth writing; its message says why (exit code 1)."""
