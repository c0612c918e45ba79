"""`cfx train colorizer` under torchrun: 2 CPU processes (gloo) against a single process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import smooth_image


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(data: Path, out: Path, processes: int) -> dict:
    # Every option must pass torchrun's own parser untouched (it would take e.g. --log as --log-dir).
    cli = [
        "-m",
        "cfx.cli.main",
        "train",
        "colorizer",
        "--data",
        str(data),
        "-o",
        str(out),
        "--model",
        "iizuka.tiny",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--device",
        "cpu",
        "--quiet",
        "--log-file",
        str(out.with_suffix(".log.jsonl")),
    ]
    if processes == 1:
        command = [sys.executable, *cli]
    else:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={processes}",
            "--master_addr=127.0.0.1",
            f"--master_port={_free_port()}",
            *cli,
        ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)  # exactly one report, from rank 0


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for i in range(20):
        folder = root / ("train" if i < 16 else "val") / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(smooth_image(40, 40, i)).save(folder / f"{i}.png")
    return root


def test_two_process_training_matches_single_process_schedule(data: Path, tmp_path: Path) -> None:
    single = _train(data, tmp_path / "one.safetensors", 1)
    double = _train(data, tmp_path / "two.safetensors", 2)
    assert [e["processes"] for e in double["log"]] == [2, 2]
    # Same global batches: every process trains on its half, so the samples and epochs agree.
    assert [e["samples"] for e in double["log"]] == [e["samples"] for e in single["log"]] == [16, 32]
    assert double["training"]["steps"] == single["training"]["steps"] == 4  # optimizer steps: one per global batch
    assert (tmp_path / "two.safetensors").is_file() and (tmp_path / "two.json").is_file()
    assert len((tmp_path / "two.log.jsonl").read_text().splitlines()) == 2  # rank 0 alone writes the log
    assert abs(double["log"][0]["train_loss"] - single["log"][0]["train_loss"]) < 0.05


def _run(cli: list[str], processes: int) -> dict:
    if processes == 1:
        command = [sys.executable, *cli]
    else:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={processes}",
            "--master_addr=127.0.0.1",
            f"--master_port={_free_port()}",
            *cli,
        ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_detector_training_and_hardening_under_torchrun(data: Path, tmp_path: Path) -> None:
    """`cfx train detector` and `cfx harden detector` run unchanged on 2 gloo processes."""
    colorized = tmp_path / "colorized"
    for source in data.rglob("*.png"):  # a channel-swapped copy of every photo, same relative path
        target = colorized / source.relative_to(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        r, g, b = Image.open(source).convert("RGB").split()
        Image.merge("RGB", (b, r, g)).save(target)
    common = [
        "--natural",
        str(data),
        "--colorized",
        f"swap={colorized}",
        "--batch-size",
        "8",
        "--device",
        "cpu",
        "--quiet",
    ]
    # Three epochs: after fewer, the parent misses every natural photo and hardening refuses to write a model.
    train = ["-m", "cfx.cli.main", "train", "detector", *common, "--model", "decnet.tiny", "--epochs", "3"]
    single = _run([*train, "-o", str(tmp_path / "one.safetensors")], 1)
    double = _run([*train, "-o", str(tmp_path / "two.safetensors")], 2)
    assert [e["processes"] for e in double["log"]] == [2, 2, 2]
    assert double["log"][0]["samples"] == single["log"][0]["samples"] == 32  # 16 natural + 16 colorized
    assert 0.0 <= double["threshold"] <= 1.0
    hard = _run(
        [
            "-m",
            "cfx.cli.main",
            "harden",
            "detector",
            "--weights",
            str(tmp_path / "two.safetensors"),
            *common,
            "-o",
            str(tmp_path / "hard.safetensors"),
            "--round-epochs",
            "1",
            "--alphas",
            "0.1,0.2",
            "--lr",
            "0.01",
        ],
        2,
    )
    assert [r["alpha"] for r in hard["rounds"]] == [0.1, 0.2]
    assert json.loads((tmp_path / "hard.json").read_text())["parent"] == double["sha256"]
