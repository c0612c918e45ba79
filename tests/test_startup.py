"""`cfx --help` must stay instant: the CLI imports torch only inside commands."""

from __future__ import annotations

import subprocess
import sys


def test_cli_import_does_not_import_torch() -> None:
    code = "import sys, cfx.cli.main; print('torch' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_version_flag() -> None:
    out = subprocess.run([sys.executable, "-m", "cfx.cli.main", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("cfx ")
