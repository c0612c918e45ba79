"""`cfx harden colorizer` (Mu and Lee, n.d., §3.4): hard cases, split, fine-tuning from the parent, before/after."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from cfx.train.harden_colorizer import split_cases
from tests.conftest import smooth_image


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for i in range(12):
        folder = root / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(smooth_image(40, 48, i)).save(folder / f"{i}.jpg", quality=95)
    return root


def test_split_is_stable_and_complete(tmp_path: Path) -> None:
    cases = [(tmp_path / f"{i}.jpg", i / 100) for i in range(50)]
    train, held = split_cases(cases, tmp_path, 0.2)
    assert sorted(train + held) == sorted(p for p, _ in cases)
    assert split_cases(list(reversed(cases)), tmp_path, 0.2)[1] == list(reversed(held))
    assert 3 <= len(held) <= 20


def test_harden_colorizer_cli(photos: Path, tiny_weights: Path, detector_weights: Path, tmp_path: Path) -> None:
    out = tmp_path / "hard.safetensors"
    result = CliRunner().invoke(
        app,
        [
            "harden",
            "colorizer",
            "--data",
            str(photos),
            "--weights",
            str(tiny_weights),
            "--detector-weights",
            str(detector_weights),
            "-o",
            str(out),
            "--k",
            "10",
            "--held-out",
            "0.3",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--device",
            "cpu",
            "--quiet",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["schema"] == "cfx.harden-colorizer/1"
    assert len(report["hard_cases"]) == 10
    scores = [c["score"] for c in report["hard_cases"]]
    assert scores == sorted(scores)  # the most "real" first
    assert report["train_images"] + report["held_out_images"] == 10
    for side in ("before", "after"):
        assert report[side]["images"] == report["held_out_images"]
        assert 0.0 <= report[side]["fool_rate"] <= 1.0
        assert report[side]["psnr"] > 0
    card = json.loads(out.with_suffix(".json").read_text())
    parent = json.loads(tiny_weights.with_suffix(".json").read_text())
    assert card["parent"] == parent["sha256"] and card["hardening"]["parent"]["sha256"] == parent["sha256"]
    init = card["training"]["recipe"]["init"]  # the parent, shown by name: no folder of this machine
    assert init.endswith(tiny_weights.name) and not init.startswith("/")
