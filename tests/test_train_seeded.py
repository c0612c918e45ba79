"""Every trainer, a few seeded epochs on a tiny preset: the per-epoch losses (and the
validation numbers that decide what is kept) are those of the code before the six
trainers moved onto one loop (issue 27; recorded at 024365f). The colorizer and the
cached colorizer's plain runs are pinned in tests/test_train_options.py."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from tests.conftest import smooth_image

runner = CliRunner()
RELATIVE = 1e-5
ROUNDED = 2e-5  # the harden reports round to 5 decimals


@pytest.fixture(autouse=True)
def _one_training_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trainers size their threads by os.cpu_count(); one thread gives the same sums everywhere."""
    import torch

    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    torch.set_num_threads(1)


def invoke(*args: object) -> dict[str, Any]:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """8 train and 4 val natural PNGs of several sizes, channel-swapped copies at the same paths;
    the options that name both folders."""
    root = tmp_path_factory.mktemp("pairs")
    natural, colorized = root / "natural", root / "colorized"
    for i in range(12):
        rel = Path("train" if i < 8 else "val") / f"{i}.png"
        rgb = smooth_image(36 + 4 * (i % 3), 40 + 4 * (i % 2), 50 + i)
        for folder, pixels in ((natural, rgb), (colorized, rgb[..., [2, 0, 1]])):
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.ascontiguousarray(pixels)).save(folder / rel)
    return ["--natural", natural, "--colorized", f"swap={colorized}", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train/ (two packages of unequal size, for --balance), val/ and a never-seen select/ folder."""
    root = tmp_path_factory.mktemp("photos")
    for split, package, count in (("train", "a", 4), ("train", "b", 2), ("val", "a", 2), ("select", "c", 2)):
        folder = root / split / package
        folder.mkdir(parents=True)
        for i in range(count):
            Image.fromarray(smooth_image(64, 72, 10 * len(split) + 3 * i + len(package))).save(folder / f"{i}.png")
    return root


def assert_close(got: Any, want: Any, rounded: bool = False) -> None:
    """Equal within 1e-5 relative (or, for numbers reported to 5 decimals, 2e-5 absolute)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    np.testing.assert_allclose(got, want, rtol=0.0 if rounded else RELATIVE, atol=ROUNDED if rounded else 0.0)


def losses(log: list[dict[str, Any]], *keys: str) -> list[list[float]]:
    return [[entry[key] for key in keys] for entry in log]


DETECTOR = {  # train_loss, val_auc, threshold per epoch
    "resize": [[0.7894296497106552, 0.75, 0.5333733260631561], [0.8224180489778519, 0.75, 0.5413300395011902]],
    "patch": [[0.7546015828847885, 0.5, 0.5401820540428162], [0.6327506899833679, 0.375, 0.5651687383651733]],
}


@pytest.mark.parametrize("mode", sorted(DETECTOR))
def test_detector_trainer(pairs: list[str], tmp_path: Path, mode: str) -> None:
    args = ["--model", "decnet.tiny", "--batch-size", "4", "--epochs", "2", "--lr-step", "1", "--mode", mode]
    report = invoke("train", "detector", *pairs, *args, "-o", tmp_path / "d.safetensors")
    assert_close(losses(report["log"], "train_loss", "val_auc", "threshold"), DETECTOR[mode])


CACHED_DETECTOR = [[0.625560536980629, 0.375], [0.6730999983847141, 0.4375]]  # train_loss, val_auc per epoch


def test_cached_detector_trainer(pairs: list[str], tmp_path: Path) -> None:
    args = ["--model", "litenet.tiny", "--batch-size", "4", "--epochs", "2", "--views", "2", "--frozen-stages", "5"]
    args += ["--lr-step", "1", "--cache-dir", tmp_path / "cache", "-o", tmp_path / "d.safetensors"]
    report = invoke("train", "detector", *pairs, *args)
    assert_close(losses(report["log"], "train_loss", "val_auc"), CACHED_DETECTOR)


HARDEN_DETECTOR = {  # train_loss and val_error per epoch of each round, then its kept and dropped pairs
    "rounds": [[[0.71724, 0.0], [0.6337, 0.0], [0, 8]], [[0.6438, 0.0], [0.59315, 0.0], [0, 0]]],
    "selected": {"round": 2, "epoch": 2, "alpha": 0.3, "val_error": 0.0, "under_theta": True},
}


def test_harden_detector_trainer(pairs: list[str], tmp_path: Path) -> None:
    parent = tmp_path / "parent.safetensors"
    invoke("train", "detector", *pairs, "--model", "decnet.tiny", "--batch-size", "4", "--epochs", "3", "-o", parent)
    args = ["--weights", parent, "--round-epochs", "2", "--alphas", "0.1,0.3", "--lr", "0.01", "--batch-size", "4"]
    report = invoke("harden", "detector", *pairs, *args, "-o", tmp_path / "h.safetensors")
    rounds = [
        [[e["train_loss"], e.get("val_error", -1.0)] for e in r["epochs"]] + [[r["kept_pairs"], r["dropped_pairs"]]]
        for r in report["rounds"]
    ]
    assert_close(rounds, HARDEN_DETECTOR["rounds"], rounded=True)
    assert report["selected"] == pytest.approx(HARDEN_DETECTOR["selected"], abs=ROUNDED)


HARDEN_COLORIZER = [
    [0.03638216853141785, 0.030841413885354996],
    [0.03565957769751549, 0.030921556055545807],
]  # train_loss, val_loss per epoch


def test_harden_colorizer_trainer(photos: Path, tiny_weights: Path, detector_weights: Path, tmp_path: Path) -> None:
    args = ["--data", photos, "--weights", tiny_weights, "--detector-weights", detector_weights, "--k", "8"]
    args += ["--held-out", "0.3", "--epochs", "2", "--batch-size", "4", "--device", "cpu", "--quiet"]
    report = invoke("harden", "colorizer", *args, "-o", tmp_path / "h.safetensors")
    assert_close(losses(report["training_log"], "train_loss", "val_loss"), HARDEN_COLORIZER)


CACHED_COLORIZER = {  # train_loss, val_loss, select_psnr per epoch
    "ema": [
        [2.7033840815226235, 2.6714463233947754, 11.166471481323242],
        [2.5124860604604087, 2.6093556880950928, 11.352204322814941],
        [2.5452537139256797, 2.557541847229004, 11.519336700439453],
    ],
    "hints": [
        [0.36979420979817706, 0.15233241021633148, 11.209707260131836],
        [0.3452947537104289, 0.15871331095695496, 11.198812484741211],
        [0.28618840376536053, 0.16606666147708893, 11.185684204101562],
    ],
}


@pytest.mark.parametrize("variant", sorted(CACHED_COLORIZER))
def test_cached_colorizer_trainer_with_its_options(photos: Path, tmp_path: Path, variant: str) -> None:
    """--ema, --select, --recache-epochs and --balance together; the guided preset with simulated hints."""
    model = "unet.tiny-guided" if variant == "hints" else "unet.tiny"
    args = ["--data", photos / "train", "-m", model, "--epochs", "3", "--batch-size", "4", "--crops-per-image", "2"]
    args += ["--val-fraction", "0.3", "--select", photos / "select", "--recache-epochs", "2", "--balance"]
    args += ["--cache-dir", tmp_path / "cache", "--device", "cpu", "--quiet", "-o", tmp_path / "c.safetensors"]
    if variant == "ema":
        args += ["--ema", "0.5"]
    report = invoke("train", "colorizer", *args)
    got = losses(report["log"], "train_loss", "val_loss", "select_psnr")
    assert_close(got, CACHED_COLORIZER[variant])
    assert report["training"]["selected_epoch"] == max(range(3), key=lambda e: got[e][2]) + 1
