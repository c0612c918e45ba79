"""A reader that closes stdout early (`cfx … | head -1`) stops cfx quietly: no error, exit 0 unless an input failed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.conftest import smooth_image

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _cfx_into_closed_pipe(*args: str) -> subprocess.CompletedProcess:
    """Run ``cfx ARGS`` with stdout a pipe whose reader has already gone: its first write fails."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "cfx.cli.main", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
            timeout=120,
        )
    finally:
        os.close(write_end)


def _assert_quiet(stderr: str) -> None:
    assert "error" not in stderr.lower() and "Exception" not in stderr and "Traceback" not in stderr, stderr


def test_models_into_a_closed_pipe_exits_0_without_a_word() -> None:
    result = _cfx_into_closed_pipe("models")
    assert result.returncode == 0, result.stderr
    _assert_quiet(result.stderr)


def test_detect_into_a_closed_pipe(tmp_path: Path, detector_weights: Path) -> None:
    for i in range(3):
        Image.fromarray(smooth_image(64, 64, i)).save(tmp_path / f"p{i}.png")
    result = _cfx_into_closed_pipe("detect", str(tmp_path), "--weights", str(detector_weights), "--quiet")
    assert result.returncode == 0
    assert result.stderr == ""


def test_a_failure_before_the_pipe_closed_still_exits_1(tmp_path: Path, detector_weights: Path) -> None:
    (tmp_path / "a-broken.png").write_bytes(b"not an image")
    Image.fromarray(smooth_image(64, 64, 0)).save(tmp_path / "b.png")
    args = ("detect", str(tmp_path), "--weights", str(detector_weights), "--json", "--quiet")
    result = _cfx_into_closed_pipe(*args)  # the error record is the first line written
    assert result.returncode == 1
    assert "BrokenPipe" not in result.stderr and "Exception" not in result.stderr, result.stderr


def test_colorize_into_a_reader_of_one_line(tmp_path: Path, tiny_weights: Path) -> None:
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    for i in range(40):
        Image.fromarray(smooth_image(96, 128, i)).convert("L").save(source / f"p{i:02d}.png")
    reader = subprocess.Popen(
        [sys.executable, "-c", "import sys; print(sys.stdin.readline(), end='')"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    command = [sys.executable, "-m", "cfx.cli.main", "colorize", str(source), "-o", str(out)]
    run = subprocess.run(
        [*command, "--weights", str(tiny_weights), "--batch-size", "1"],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        timeout=300,
    )
    reader.stdin.close()
    first = reader.stdout.read()
    reader.wait(timeout=60)
    assert first.strip().endswith(".png")
    assert run.returncode == 0, run.stderr
    _assert_quiet(run.stderr)
    assert not [p for p in out.rglob("*") if p.name.startswith(".")], "temporary files left behind"
