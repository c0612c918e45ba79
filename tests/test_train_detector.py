"""`cfx train detector`: balanced batches, the rate schedule, and tiny end-to-end runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from cfx.train.detector_parts import DetectorRecipe, balanced_batches, scheduled_lr
from tests.conftest import smooth_image

runner = CliRunner()
SIZES = [(32, 40), (40, 32), (48, 36), (36, 48), (32, 32), (44, 40), (40, 44), (48, 48), (36, 40)]


@pytest.fixture(autouse=True)
def _one_training_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trainer uses every core (os.cpu_count()); on a shared test machine that
    oversubscribes and makes tiny convolutions many times slower."""
    monkeypatch.setattr("cfx.train.distributed.os.cpu_count", lambda: 1)


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


def hue_shift(rgb: np.ndarray) -> np.ndarray:
    """A crude 'colorization': the channels rotated."""
    return np.ascontiguousarray(rgb[..., [2, 0, 1]])


@pytest.fixture(scope="module")
def natural_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 train and 3 val colour JPEGs of 32-48 px."""
    root = tmp_path_factory.mktemp("natural")
    for i, (h, w) in enumerate(SIZES):
        split = "train" if i < 6 else "val"
        (root / split).mkdir(exist_ok=True)
        Image.fromarray(smooth_image(h, w, 10 + i)).save(root / split / f"img{i}.jpg", quality=95)
    return root


@pytest.fixture(scope="module")
def colorized_dir(natural_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Channel-rotated copies of 4 of the 6 train images and all 3 val images (same
    relative paths), plus one file matching no natural image."""
    root = tmp_path_factory.mktemp("colorized")
    for path in sorted(natural_dir.rglob("*.jpg")):
        if path.parent.name == "train" and path.stem in ("img4", "img5"):
            continue
        rel = path.relative_to(natural_dir)
        (root / rel.parent).mkdir(parents=True, exist_ok=True)
        Image.fromarray(hue_shift(np.asarray(Image.open(path).convert("RGB")))).save(root / rel, quality=95)
    Image.fromarray(smooth_image(40, 40, 99)).save(root / "train" / "stray.jpg", quality=95)
    return root


def train(natural: Path, out: Path, *extra: str):
    return invoke(
        "train",
        "detector",
        "--natural",
        natural,
        "-o",
        out,
        "--model",
        "decnet.tiny",
        "--batch-size",
        "4",
        "--quiet",
        *extra,
    )


# ---------------------------------------------------------------- the training core


def test_balanced_batches_half_and_half() -> None:
    g = torch.Generator().manual_seed(0)
    batches = balanced_batches(7, 3, 2, g)
    assert len(batches) == 7 // 2
    for nat, col in batches:
        assert len(nat) == len(col) == 2
        assert all(0 <= i < 7 for i in nat) and all(0 <= j < 3 for j in col)
    # One pass over the larger pool: every natural index once (6 of 7 fit whole batches).
    seen = [i for nat, _ in batches for i in nat]
    assert len(seen) == len(set(seen)) == 6
    # The smaller pool is cycled: every colorized index used.
    assert {j for _, col in batches for j in col} == {0, 1, 2}


def test_balanced_batches_cover_larger_pool() -> None:
    g = torch.Generator().manual_seed(1)
    batches = balanced_batches(4, 10, 5, g)
    assert len(batches) == 2
    assert sorted(j for _, col in batches for j in col) == list(range(10))
    assert {i for nat, _ in batches for i in nat} == {0, 1, 2, 3}
    assert all(len(nat) == len(col) == 5 for nat, col in batches)
    assert len(balanced_batches(3, 3, 10, g)) == 1  # at least one batch
    assert len(balanced_batches(4, 4, 2, g, count=12)) == 6


def test_balanced_batches_deterministic_per_seed() -> None:
    a = balanced_batches(9, 5, 3, torch.Generator().manual_seed(7))
    b = balanced_batches(9, 5, 3, torch.Generator().manual_seed(7))
    c = balanced_batches(9, 5, 3, torch.Generator().manual_seed(8))
    assert a == b and a != c


def test_scheduled_lr_divides_by_ten_every_step() -> None:
    recipe = DetectorRecipe(lr=0.1, lr_step=3)
    rates = [scheduled_lr(recipe, epoch) for epoch in range(8)]
    assert rates[:3] == [0.1] * 3
    assert rates[3:6] == pytest.approx([0.01] * 3)
    assert rates[6:8] == pytest.approx([0.001] * 2)
    assert scheduled_lr(DetectorRecipe(lr=0.1, lr_step=0), 50) == 0.1


# ---------------------------------------------------------------- end to end


def test_train_with_colorizer_weights(natural_dir: Path, tiny_weights: Path, tmp_path: Path) -> None:
    from cfx.detect import load_detector

    out = tmp_path / "det.safetensors"
    result = train(natural_dir, out, "--colorizers", str(tiny_weights), "--epochs", "2")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["schema"] == "cfx.train/1" and report["name"] == "decnet.tiny" and report["task"] == "detect"
    assert len(report["log"]) == 2 and [e["epoch"] for e in report["log"]] == [1, 2]
    assert all(np.isfinite(e["train_loss"]) for e in report["log"])
    assert out.is_file() and Path(report["checkpoint"]).is_file()
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["sha256"] == report["sha256"]
    assert 0.0 <= card["threshold"] <= 1.0
    assert 0.0 <= card["metrics"]["val"]["hter"] <= 1.0
    assert card["training"]["epochs"] == 2
    assert card["training"]["train_natural"] == 6 and card["training"]["val_natural"] == 3
    assert card["training"]["train_colorized"] == {"iizuka.tiny": 6}
    detector = load_detector(weights=out, device="cpu")
    assert detector.threshold == card["threshold"] and detector.name == "decnet.tiny"
    score = detector.score_array(smooth_image(40, 40, 1).astype(np.float32) / 255.0)
    assert 0.0 <= score <= 1.0


def test_train_with_colorized_folder_pairs_by_relative_path(
    natural_dir: Path, colorized_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "det.safetensors"
    result = train(natural_dir, out, "--colorized", f"hue={colorized_dir}", "--epochs", "1")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    training = report["training"]
    assert training["train_colorized"] == {"hue": 4}  # img4, img5 have no copy; stray.jpg has no original
    assert training["val_colorized"] == {"hue": 3}
    assert training["colorized_dirs"] == {"hue": f"{colorized_dir.name}/"}  # beside the natural folder
    assert len(report["log"]) == 1
    assert "hue" in json.loads(out.with_suffix(".json").read_text())["metrics"]["val_per_colorizer"]


def test_resume_gives_the_same_weights(natural_dir: Path, colorized_dir: Path, tmp_path: Path) -> None:
    source = ("--colorized", f"hue={colorized_dir}")
    whole = tmp_path / "whole.safetensors"
    assert train(natural_dir, whole, *source, "--epochs", "2").exit_code == 0
    parts, log = tmp_path / "parts.safetensors", tmp_path / "parts.log.jsonl"
    first = train(natural_dir, parts, *source, "--epochs", "1", "--log-file", log)
    assert first.exit_code == 0 and len(json.loads(first.stdout)["log"]) == 1
    after_one = json.loads(first.stdout)["sha256"]
    resumed = train(natural_dir, parts, *source, "--epochs", "2", "--resume", "--log-file", log)
    assert resumed.exit_code == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert [e["epoch"] for e in report["log"]] == [1, 2]
    # The resumed run trained one epoch only (a restart from scratch would log epochs 1 and 2 again).
    assert [json.loads(line)["epoch"] for line in log.read_text().splitlines()] == [1, 2]
    assert report["sha256"] != after_one
    assert report["training"]["epochs"] == 2
    assert parts.read_bytes() == whole.read_bytes()
    assert report["sha256"] == json.loads(whole.with_suffix(".json").read_text())["sha256"]


def test_no_colorized_source_is_usage_error(natural_dir: Path, tmp_path: Path) -> None:
    result = train(natural_dir, tmp_path / "det.safetensors", "--epochs", "1")
    assert result.exit_code == 2
    assert "colorized" in result.stderr
    assert not (tmp_path / "det.safetensors").exists()
    missing = train(natural_dir, tmp_path / "det.safetensors", "--colorized", f"x={tmp_path / 'nowhere'}")
    assert missing.exit_code == 2


def test_init_starts_from_the_parent_weights(
    natural_dir: Path, colorized_dir: Path, tiny_weights: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    source = ("--colorized", f"hue={colorized_dir}")
    parent = tmp_path / "parent.safetensors"
    assert train(natural_dir, parent, *source, "--epochs", "1", "--seed", "3").exit_code == 0
    child = tmp_path / "child.safetensors"
    # A rate of 0 moves no parameter: the child's learnt tensors are the parent's exactly
    # (batch-norm running statistics still follow the new data).
    result = train(natural_dir, child, *source, "--epochs", "1", "--lr", "0", "--init", parent)
    assert result.exit_code == 0, result.stderr
    init = json.loads(result.stdout)["training"]["recipe"]["init"]  # relative to the natural folder's parent
    assert init == parent.resolve().relative_to(natural_dir.resolve().parent).as_posix()
    fresh = tmp_path / "fresh.safetensors"
    assert train(natural_dir, fresh, *source, "--epochs", "1", "--lr", "0").exit_code == 0
    before, after, scratch = load_file(parent), load_file(child), load_file(fresh)
    learnt = [k for k in before if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert learnt and all(torch.equal(before[k], after[k]) for k in learnt)
    assert not all(torch.equal(before[k], scratch[k]) for k in learnt)
    # A colorizer's weights cannot start a detector: a usage error naming the file.
    wrong = train(natural_dir, tmp_path / "wrong.safetensors", *source, "--epochs", "1", "--init", tiny_weights)
    assert wrong.exit_code == 2
    assert str(tiny_weights) in wrong.stderr and "colorize model" in wrong.stderr


def test_colorizer_init_refuses_detector_weights(natural_dir: Path, detector_weights: Path, tmp_path: Path) -> None:
    result = invoke(
        "train",
        "colorizer",
        "--data",
        natural_dir,
        "-o",
        tmp_path / "c.safetensors",
        "--model",
        "iizuka.tiny",
        "--epochs",
        "1",
        "--quiet",
        "--init",
        detector_weights,
    )
    assert result.exit_code == 2
    assert str(detector_weights) in result.stderr and "detect model" in result.stderr
    assert not (tmp_path / "c.safetensors").exists()


def test_training_autocast_choices() -> None:
    from cfx.train.common import training_autocast

    cpu = torch.device("cpu")
    with training_autocast(cpu, "auto"):  # the CPU trains in fp32 unless asked
        assert not torch.is_autocast_enabled("cpu")
    with training_autocast(cpu, "bf16"):
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
        assert torch.nn.Linear(4, 2)(torch.ones(1, 4)).dtype == torch.bfloat16
    with training_autocast(cpu, "fp32"):
        assert not torch.is_autocast_enabled("cpu")
    with pytest.raises(ValueError, match="fp16"):
        training_autocast(cpu, "fp16")


def test_bf16_training_keeps_fp32_weights(natural_dir: Path, colorized_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "det.safetensors"
    result = train(natural_dir, out, "--colorized", f"hue={colorized_dir}", "--epochs", "1", "--precision", "bf16")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["training"]["recipe"]["precision"] == "bf16"
    assert np.isfinite(report["log"][0]["train_loss"])
    assert json.loads(out.with_suffix(".json").read_text())["dtype"] == "float32"
    # An unknown precision is a usage error before any data is read.
    wrong = train(natural_dir, tmp_path / "x.safetensors", "--colorized", f"hue={colorized_dir}", "--precision", "fp16")
    assert wrong.exit_code == 2 and "precision" in wrong.stderr
    assert not (tmp_path / "x.safetensors").exists()


# ---------------------------------------------------------------- patch mode


def test_random_patch_is_a_native_crop_or_an_upscaled_small_image() -> None:
    from cfx.detect import random_patch

    image = torch.arange(3 * 40 * 60, dtype=torch.int64).remainder(256).to(torch.uint8).reshape(3, 40, 60)
    generator = torch.Generator().manual_seed(0)
    crop = random_patch(image, 32, generator)
    assert crop.shape == (3, 32, 32) and crop.dtype == torch.uint8
    # A crop at native resolution: some window of the image, pixel for pixel.
    assert any(torch.equal(crop, image[:, top : top + 32, left : left + 32]) for top in range(9) for left in range(29))
    small = random_patch(image, 64, generator)  # shorter side 40 < 64: scaled up first
    assert small.shape == (3, 64, 64) and small.dtype == torch.uint8


def test_patch_scores_are_the_max_over_the_grid(detector_weights: Path) -> None:
    from cfx.detect import load_detector
    from cfx.train.detector_parts import score_images

    detector = load_detector(weights=detector_weights, device="cpu", mode="patch")
    rng = np.random.default_rng(0)
    images = [torch.from_numpy(rng.integers(0, 256, (3, h, w), dtype=np.uint8)) for h, w in ((300, 520), (256, 256))]
    scores = score_images(detector.model, images, mode="patch")
    expected = [detector.score_array(image.permute(1, 2, 0).numpy().astype(np.float32) / 255.0) for image in images]
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-6)


def test_patch_mode_training_sets_the_detectors_default_mode(
    natural_dir: Path, colorized_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "det.safetensors"
    result = train(natural_dir, out, "--colorized", f"hue={colorized_dir}", "--epochs", "1", "--mode", "patch")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mode"] == "patch" and report["training"]["recipe"]["mode"] == "patch"
    assert 0.0 <= report["metrics"]["val"]["hter"] <= 1.0
    image = next(natural_dir.rglob("*.jpg"))
    verdict = json.loads(invoke("detect", image, "--weights", out, "--json", "--quiet").stdout)
    assert verdict["mode"] == "patch" and verdict["patches"] >= 1  # the card's mode, not resize
    override = json.loads(invoke("detect", image, "--weights", out, "--json", "--quiet", "--mode", "resize").stdout)
    assert override["mode"] == "resize"
    wrong = train(natural_dir, tmp_path / "x.safetensors", "--colorized", f"hue={colorized_dir}", "--mode", "crop")
    assert wrong.exit_code == 2 and "mode" in wrong.stderr


def test_recipe_mode_defaults_to_the_papers_resize() -> None:
    assert DetectorRecipe().mode == "resize"
    with pytest.raises(ValueError, match="mode"):
        DetectorRecipe(mode="crop")
