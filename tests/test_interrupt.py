"""An interrupted run leaves no partial files, reports every file it wrote, and --skip-existing finishes exactly the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import smooth_image


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_then_skip_existing_finishes_the_rest(tmp_path: Path, tiny_weights: Path, signum: int) -> None:
    count = 40
    source = tmp_path / "in"
    source.mkdir()
    for i in range(count):
        Image.fromarray(smooth_image(300, 400, i)).convert("L").save(source / f"p{i:02d}.png")
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "cfx.cli.main",
        "colorize",
        str(source),
        "-o",
        str(out),
        "--weights",
        str(tiny_weights),
        "--json",
        "--quiet",
        "--batch-size",
        "1",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    first = run.stdout.readline()  # wait until the run is under way
    assert json.loads(first)["output"]
    time.sleep(0.2)
    run.send_signal(signum)
    rest = run.stdout.read()  # not communicate(): it would skip what readline already buffered
    errors = run.stderr.read()
    run.wait(timeout=120)
    assert run.returncode == 130, errors
    assert "Traceback" not in errors
    assert not [p for p in out.rglob("*") if p.name.startswith(".")], "temporary files left behind"
    done = sorted(out.glob("*.png"))
    assert 1 <= len(done) < count
    for path in done:  # every file that exists is complete, not half-written
        with Image.open(path) as image:
            image.load()
    # Every file written has its record: the writes under way when the signal came are reported too.
    reported = {Path(json.loads(line)["output"]).name for line in [first, *rest.splitlines()]}
    assert reported == {p.name for p in done}
    again = subprocess.run(command + ["--skip-existing"], capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    records = [json.loads(line) for line in again.stdout.splitlines()]
    skipped = {Path(r["output"]).name for r in records if r.get("skipped")}
    written = {Path(r["output"]).name for r in records if not r.get("skipped")}
    assert skipped == {p.name for p in done}
    assert len(written) == count - len(done) and not (written & skipped)
    assert len(list(out.glob("*.png"))) == count
