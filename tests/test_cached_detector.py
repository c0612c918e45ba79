"""`cfx train detector --cache-dir`: litenet trained above its cut on cached features of
augmented views (cfx.train.cached_detector): the split forward, the views, the cache and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from cfx.cli.main import app
from cfx.detect import model_input
from cfx.models.lite_detector import WHOLE_ENCODER
from cfx.registry import create_model
from cfx.train.cached_detector import CachedDetectorRecipe, augment, jpeg, view
from cfx.train.common import seeded
from tests.conftest import smooth_image
from tests.test_lite_detector import TINY, detector_args, pairs  # noqa: F401  (the shared fixture)

runner = CliRunner()


@pytest.fixture(autouse=True)
def _one_training_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cfx.train.distributed.os.cpu_count", lambda: 1)


def uint8_image(h: int, w: int, seed: int) -> torch.Tensor:
    return torch.from_numpy(np.array(smooth_image(h, w, seed))).permute(2, 0, 1).contiguous()


@pytest.mark.parametrize("cut", range(1, WHOLE_ENCODER + 1))
def test_upper_of_lower_is_the_forward_pass(cut: int) -> None:
    torch.manual_seed(cut)
    model = create_model(TINY).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        features, side = model.lower(x, cut)
        assert (side is None) == (cut <= model.config.side_stage)  # the side branch's input, when below the cut
        torch.testing.assert_close(model.upper(features, side, cut), model(x), rtol=1e-5, atol=1e-5)


def test_lower_rejects_a_bad_cut() -> None:
    model = create_model(TINY)
    with pytest.raises(ValueError, match="cut"):
        model.lower(torch.zeros(1, 3, 32, 32), 0)


def test_view_zero_is_the_test_time_resize_and_the_others_are_augmented() -> None:
    recipe = CachedDetectorRecipe(model=TINY)
    image = uint8_image(60, 90, 1)
    torch.testing.assert_close(view(image, 0, 3, recipe, 32), model_input(image[None], 32)[0])
    augmented = view(image, 1, 3, recipe, 32)
    assert augmented.shape == (3, 32, 32) and not torch.allclose(augmented, view(image, 0, 3, recipe, 32))
    torch.testing.assert_close(augmented, view(image, 1, 3, recipe, 32))  # deterministic


def test_augment_gives_a_photo_and_its_colorized_copy_the_same_crop() -> None:
    natural = uint8_image(80, 120, 2)
    colorized = natural[[2, 0, 1]].contiguous()
    shapes = set()
    for photo in range(12):
        a = augment(natural, seeded(0, photo))
        b = augment(colorized, seeded(0, photo))
        assert a.dtype == torch.uint8 and a.shape == b.shape
        assert 0.6 * 0.5 * 80 - 1 <= a.shape[1] <= 80 and 0.6 * 0.5 * 120 - 1 <= a.shape[2] <= 120
        shapes.add(tuple(a.shape))
    assert len(shapes) > 6  # the crops and scales vary from photo to photo


def test_jpeg_round_trip_loses_detail_at_low_quality() -> None:
    image = uint8_image(40, 40, 3)
    low, high = jpeg(image, 50), jpeg(image, 95)
    assert low.shape == image.shape and low.dtype == torch.uint8
    error = lambda x: (x.float() - image.float()).abs().mean()  # noqa: E731
    assert error(high) < error(low)


def cached_train(pairs: tuple[Path, Path], out: Path, cache: Path, *extra: str):  # noqa: F811
    args = detector_args(pairs, out)
    args += ["--model", TINY, "--batch-size", "4", "--epochs", "2", "--cache-dir", cache, *extra]
    return runner.invoke(app, [str(a) for a in args])


def test_cached_training_writes_a_detector_and_reuses_its_cache(pairs: tuple[Path, Path], tmp_path: Path) -> None:  # noqa: F811
    from cfx.detect import load_detector

    out, cache = tmp_path / "lite.safetensors", tmp_path / "cache"
    result = cached_train(pairs, out, cache, "--views", "3", "--frozen-stages", "6")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["schema"] == "cfx.train/1" and report["name"] == TINY
    assert [e["epoch"] for e in report["log"]] == [1, 2] and all("val_hter" in e for e in report["log"])
    card = json.loads(out.with_suffix(".json").read_text())
    training = card["training"]
    assert card["mode"] == "resize" and training["trainer"] == "cached"
    assert card["config"]["frozen_stages"] == 6 and training["recipe"]["views"] == 3
    assert training["augmentation"]["views"] == 3 and training["cached_views"] == {"natural": 12, "colorized": 12}
    assert set(card["metrics"]["val_per_colorizer"]) == {"hue"}
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 4  # train natural, train hue, val natural, val hue
    from safetensors.torch import load_file

    stored = [load_file(str(cache / name)) for name in files]
    assert all(set(part) == {"features", "side"} for part in stored)  # litenet.tiny's side branch reads stage 2
    assert sorted(part["features"].shape[:2] for part in stored) == [(2, 1), (2, 1), (4, 3), (4, 3)]
    again = cached_train(pairs, tmp_path / "again.safetensors", cache, "--views", "3", "--frozen-stages", "6")
    assert again.exit_code == 0, again.stderr
    assert again.stderr.count("features from the cache") == 4
    assert sorted(p.name for p in cache.iterdir()) == files
    detector = load_detector(weights=out, device="cpu")
    assert 0.0 <= detector.score_array(smooth_image(50, 70, 5).astype(np.float32) / 255.0) <= 1.0


def test_cached_training_checks_its_options(pairs: tuple[Path, Path], tmp_path: Path) -> None:  # noqa: F811
    natural, colorized = pairs
    cache = tmp_path / "cache"
    patch = cached_train(pairs, tmp_path / "a.safetensors", cache, "--mode", "patch")
    assert patch.exit_code == 2 and "--mode patch" in patch.stderr
    unfrozen = cached_train(pairs, tmp_path / "b.safetensors", cache, "--frozen-stages", "0")
    assert unfrozen.exit_code == 2 and "frozen stage" in unfrozen.stderr
    args = ["train", "detector", "--natural", natural, "--colorized", f"hue={colorized}"]
    args += ["-o", tmp_path / "c.safetensors", "--model", "decnet.tiny", "--cache-dir", cache]
    other = runner.invoke(app, [str(a) for a in args])
    assert other.exit_code == 2 and "litenet" in other.stderr
    assert not any((tmp_path / name).exists() for name in ("a.safetensors", "b.safetensors", "c.safetensors"))


def test_views_without_a_cache_is_refused_and_cuda_without_a_gpu_too(pairs: tuple[Path, Path], tmp_path: Path) -> None:  # noqa: F811
    """Options are honoured or refused: --views belongs to the cached trainer, and --device
    reaches the cached trainer as it reaches the others (it used to train on the CPU)."""
    args = detector_args(pairs, tmp_path / "v.safetensors")
    views = runner.invoke(app, [str(a) for a in [*args, "--model", "decnet.tiny", "--views", "3"]])
    assert views.exit_code == 2 and "--views" in views.stderr and "decnet.tiny" in views.stderr
    if not torch.cuda.is_available():
        cuda = cached_train(pairs, tmp_path / "d.safetensors", tmp_path / "cache", "--device", "cuda")
        assert cuda.exit_code == 2 and "CUDA is not available" in cuda.stderr
    assert not (tmp_path / "v.safetensors").exists() and not (tmp_path / "d.safetensors").exists()
