"""`cfx train colorizer`: options are honoured or refused, the recipes hold the defaults,
and a few seeded steps give the losses the trainers gave before these changes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from tests.conftest import smooth_image

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """train/ and val/ folders of two classes: JPEGs, RGBA PNGs and RGB PNGs of several sizes."""
    data = tmp_path / "data"
    for split, count in (("train", 6), ("val", 2)):
        for i in range(count):
            label = data / split / ("sky" if i % 2 else "grass")
            label.mkdir(parents=True, exist_ok=True)
            pixels = smooth_image(40 + 4 * i, 48, i + (100 if split == "val" else 0))
            if i % 3 == 0:
                Image.fromarray(pixels).save(label / f"{i}.jpg", quality=90)
            elif i % 3 == 1:
                alpha = np.full(pixels.shape[:2], 200, np.uint8)
                Image.fromarray(np.dstack([pixels, alpha]), "RGBA").save(label / f"{i}.png")
            else:
                Image.fromarray(pixels).save(label / f"{i}.png")
    return data


@pytest.mark.parametrize(
    ("model", "options", "named"),
    [
        ("unet.tiny", ["--optimizer", "adadelta", "--alpha", "5"], ["--optimizer", "--alpha"]),
        ("iizuka.tiny", ["--phase", "finetune"], ["--phase"]),
        ("iizuka.tiny", ["--crops-per-image", "3", "--recache-epochs", "2"], ["--crops-per-image", "--recache-epochs"]),
        ("iizuka.tiny", ["--balance", "--weight-decay", "0.1", "--loss", "mse"], ["--balance", "--weight-decay"]),
        ("iizuka.tiny", ["--select", "{data}", "--cache-dir", "{tmp}/cache"], ["--select", "--cache-dir"]),
    ],
)
def test_an_option_the_trainer_does_not_use_is_a_usage_error(
    photos: Path, tmp_path: Path, model: str, options: list[str], named: list[str]
) -> None:
    options = [o.format(data=photos, tmp=tmp_path) for o in options]
    result = invoke("train", "colorizer", "--data", photos, "-m", model, "-o", tmp_path / "w.safetensors", *options)
    assert result.exit_code == 2, result.output
    assert all(option in result.stderr for option in named) and model in result.stderr
    assert not (tmp_path / "w.safetensors").exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="refusing CUDA needs a machine without it")
@pytest.mark.parametrize("model", ["unet.tiny", "iizuka.tiny"])
def test_cuda_without_a_gpu_is_refused_by_every_colorizer_trainer(photos: Path, tmp_path: Path, model: str) -> None:
    result = invoke(
        "train", "colorizer", "--data", photos, "-m", model, "-o", tmp_path / "w.safetensors", "--device", "cuda"
    )
    assert result.exit_code == 2 and "CUDA is not available" in result.stderr, result.output


def test_the_issue_s_command_exits_2_on_a_machine_without_a_gpu(photos: Path, tmp_path: Path) -> None:
    """`cfx train colorizer --model unet.tiny --device cuda --optimizer adadelta --alpha 5` used to train on the CPU."""
    args = ["--model", "unet.tiny", "--device", "cuda", "--optimizer", "adadelta", "--alpha", "5"]
    result = invoke("train", "colorizer", "--data", photos, "-o", tmp_path / "w.safetensors", *args)
    assert result.exit_code == 2, result.output


def test_the_recipes_hold_the_defaults_the_cli_shows() -> None:
    from cfx.train.recipes import CachedRecipe, ColorizerRecipe

    assert (CachedRecipe.epochs, CachedRecipe.crops_per_image) == (10, 5) == (ColorizerRecipe.epochs, 5)
    help_text = " ".join(invoke("train", "colorizer", "--help").stdout.split())
    assert "[default: (10); x>=1]" in help_text and "[default: (5); x>=1]" in help_text


def test_cached_trainer_records_the_device_and_a_complete_recipe(photos: Path, tmp_path: Path) -> None:
    from dataclasses import fields

    from cfx.train.recipes import CachedRecipe

    out = tmp_path / "w.safetensors"
    args = ["-m", "unet.tiny", "-o", out, "--epochs", "1", "--crops-per-image", "1", "--batch-size", "4"]
    result = invoke("train", "colorizer", "--data", photos, *args, "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    recipe = json.loads(out.with_suffix(".json").read_text())["training"]["recipe"]
    assert set(recipe) == {f.name for f in fields(CachedRecipe)}
    assert recipe["device"] == "cpu" and recipe["epochs"] == 1 and recipe["half"] is False


# Train and validation losses of two epochs, recorded with the code before issue 27 (d9a8ee4).
BEFORE = {
    "iizuka.tiny": [[0.04950789362192154, 0.035846009850502014], [0.043220402052005134, 0.035318464040756226]],
    "unet.tiny": [[3.3445263703664145, 2.628371238708496], [2.928748607635498, 2.5857763290405273]],
}


@pytest.mark.parametrize("model", sorted(BEFORE))
def test_seeded_steps_give_the_losses_of_the_code_before(
    photos: Path, tmp_path: Path, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(os, "cpu_count", lambda: 1)  # train_colorizer sizes its threads by it
    torch.set_num_threads(1)
    report = tmp_path / "report.json"
    extra = ["--crops-per-image", "2", "--cache-dir", tmp_path / "cache"] if model == "unet.tiny" else []
    args = ["-m", model, "-o", tmp_path / "w.safetensors", "--epochs", "2", "--batch-size", "4", "--report", report]
    result = invoke("train", "colorizer", "--data", photos, *args, *extra, "--quiet")
    assert result.exit_code == 0, result.output
    log = json.loads(report.read_text())["log"]
    assert [[e["train_loss"], e["val_loss"]] for e in log] == BEFORE[model]


def test_cuda_features_get_cache_keys_of_their_own_and_cpu_keys_stay() -> None:
    from cfx.train.cached_colorizer import cache_key
    from cfx.train.recipes import CachedRecipe

    recipe = CachedRecipe(model="unet.tiny", crops_per_image=5, precision="bf16", epochs=3)
    cpu = cache_key(recipe, "abc", "def", 128, 100, 0)
    assert cpu == "9f5f1683a54b447e"  # the key of the code before: caches built on the CPU are still found
    assert cache_key(recipe, "abc", "def", 128, 100, 0, "cuda") != cpu
