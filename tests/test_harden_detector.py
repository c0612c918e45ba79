"""Negative sample insertion (Quan et al. 2019, §III-D, Algorithm 1): the blend, the θ rule, model selection."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from cfx.train.harden_detector import (
    PAPER_ALPHAS,
    _final_lr,
    negative_samples,
    second_half,
    select_candidate,
    selection_bound,
)
from tests.conftest import smooth_image

runner = CliRunner()


def paired_folders(root: Path, count: int, train: int, height: int, width: int) -> list[str]:
    """``count`` natural PNGs (the first ``train`` in train/, the rest in val/) and channel-swapped
    "colorizations" at the same relative paths; the options that name both folders."""
    natural, colorized = root / "natural", root / "colorized"
    for i in range(count):
        rel = Path("train" if i < train else "val") / f"{i}.png"
        for folder in (natural, colorized):
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        rgb = smooth_image(height, width, i)
        Image.fromarray(rgb).save(natural / rel)
        Image.fromarray(rgb[..., ::-1].copy()).save(colorized / rel)
    return [
        "--natural",
        str(natural),
        "--colorized",
        f"swap={colorized}",
        "--device",
        "cpu",
        "--quiet",
        "--batch-size",
        "4",
    ]


def test_negative_sample_is_the_alpha_blend_of_its_pair() -> None:
    natural = [torch.full((3, 4, 4), 200, dtype=torch.uint8), torch.zeros(3, 4, 4, dtype=torch.uint8)]
    colorized = [torch.full((3, 4, 4), 100, dtype=torch.uint8), torch.full((3, 4, 4), 50, dtype=torch.uint8)]
    blends = negative_samples(natural, colorized, [(0, 1), (1, 0)], 0.2)
    assert blends[0].dtype == torch.uint8
    assert int(blends[0][0, 0, 0]) == round(0.2 * 200 + 0.8 * 50)  # α·I_N + (1 − α)·I_C, Eq. 2
    assert int(blends[1][0, 0, 0]) == round(0.2 * 0 + 0.8 * 100)
    assert torch.equal(negative_samples(natural, colorized, [(0, 0)], 1.0)[0], natural[0])
    assert torch.equal(negative_samples(natural, colorized, [(0, 0)], 0.0)[0], colorized[0])
    with pytest.raises(ValueError):
        negative_samples(natural, colorized, [(0, 0)], 1.5)
    with pytest.raises(ValueError, match="differ in size"):  # patch mode keeps native sizes: a pair must match
        negative_samples([torch.zeros(3, 4, 6, dtype=torch.uint8)], colorized, [(0, 0)], 0.2)
    assert PAPER_ALPHAS == (0.1, 0.2, 0.3, 0.4)


@pytest.mark.parametrize(
    ("error", "theta"), [(0.0, 0.02), (0.005, 0.02), (0.0099, 0.02), (0.01, 0.02), (0.03, 0.06), (0.1, 0.2)]
)
def test_theta_is_beta_times_the_error_or_two_percent(error: float, theta: float) -> None:
    assert selection_bound(error, beta=2.0) == pytest.approx(theta)


def test_selection_takes_the_largest_error_under_theta_the_later_on_ties() -> None:
    assert select_candidate([0.01, 0.03, 0.02, 0.05], theta=0.04) == (1, True)
    assert select_candidate([0.02, 0.01, 0.02], theta=0.04) == (2, True)  # tie: the later model
    assert select_candidate([0.05, 0.07, 0.05], theta=0.04) == (2, False)  # none under θ: the lowest error
    with pytest.raises(ValueError):
        select_candidate([], 0.02)


def test_candidates_come_from_the_second_half_of_each_round() -> None:
    for s in (1, 2, 4, 15):
        start = math.ceil(s / 2)
        assert [e for e in range(1, s + 1) if second_half(e, s)] == list(range(start, s + 1))


def test_default_lr0_continues_the_parent_schedule() -> None:
    card = {"training": {"recipe": {"lr": 0.01, "lr_step": 5}, "epochs": 7}}
    assert _final_lr(card) == pytest.approx(1e-3)
    assert _final_lr({"training": {"recipe": {"lr": 0.01, "lr_step": 0}, "epochs": 30}}) == pytest.approx(0.01)


def test_harden_detector_cli_report(tmp_path: Path) -> None:
    """Algorithm 1 end to end on tiny data: every round reported, selection consistent with θ."""
    common = paired_folders(tmp_path, 12, 8, 32, 32)
    trained = runner.invoke(
        app,
        [
            "train",
            "detector",
            *common,
            "--model",
            "decnet.tiny",
            "-o",
            str(tmp_path / "d.safetensors"),
            "--epochs",
            "3",  # one epoch leaves a parent that misses every natural photo, which hardening refuses
        ],
    )
    assert trained.exit_code == 0, trained.output
    result = runner.invoke(
        app,
        [
            "harden",
            "detector",
            "--weights",
            str(tmp_path / "d.safetensors"),
            *common,
            "-o",
            str(tmp_path / "h.safetensors"),
            "--round-epochs",
            "2",
            "--alphas",
            "0.1,0.3",
            "--lr",
            "0.01",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["schema"] == "cfx.harden-detector/1"
    assert report["theta"] == pytest.approx(selection_bound(report["base_val_error"]), abs=1e-5)
    assert [r["alpha"] for r in report["rounds"]] == [0.1, 0.3]
    assert [r["lr"] for r in report["rounds"]] == pytest.approx([0.01, 0.001])
    previous = 8
    for r in report["rounds"]:
        assert r["pairs"] == previous and r["negatives"] == r["pairs"]  # negatives come from the pairs still in P
        assert r["kept_pairs"] + r["dropped_pairs"] == r["pairs"]
        previous = r["kept_pairs"]
        assert [("val_error" in e) for e in r["epochs"]] == [True, True]  # ⌈2/2⌉ = epoch 1 on
    errors = [e["val_error"] for r in report["rounds"] for e in r["epochs"]]
    under = [e for e in errors if e < report["theta"]]
    assert report["selected"]["val_error"] == (max(under) if under else min(errors))
    card = json.loads((tmp_path / "h.json").read_text())
    assert card["parent"] == json.loads((tmp_path / "d.json").read_text())["sha256"]


def test_harden_keeps_a_patch_mode_parents_mode(tmp_path: Path) -> None:
    """A detector trained on native-resolution crops is hardened on them, and stays a patch-mode detector."""
    common = paired_folders(tmp_path, 8, 6, 40, 56)
    trained = runner.invoke(
        app,
        [
            "train",
            "detector",
            *common,
            "--model",
            "decnet.tiny",
            "--mode",
            "patch",
            "-o",
            str(tmp_path / "d.safetensors"),
            "--epochs",
            "3",  # one epoch leaves a parent that misses every natural photo, which hardening refuses
        ],
    )
    assert trained.exit_code == 0, trained.output
    result = runner.invoke(
        app,
        [
            "harden",
            "detector",
            "--weights",
            str(tmp_path / "d.safetensors"),
            *common,
            "-o",
            str(tmp_path / "h.safetensors"),
            "--round-epochs",
            "1",
            "--alphas",
            "0.2",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rounds"][0]["kept_pairs"] + report["rounds"][0]["dropped_pairs"] == 6
    assert json.loads((tmp_path / "h.json").read_text())["mode"] == "patch"
