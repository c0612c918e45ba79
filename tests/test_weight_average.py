"""The moving average of a model's weights (cfx.train.weight_average) and the cached
colorizer trainer's ``--ema``: the average is what is validated and written, and it
survives a resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from cfx.train.weight_average import WeightAverage
from tests.conftest import smooth_image


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))


def test_average_follows_the_weights_with_a_warm_up() -> None:
    model = _net()
    average = WeightAverage(model, 0.9)
    assert average.rate() == pytest.approx(0.1)  # (1 + 0) / (10 + 0): the start counts little
    start = model[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    average.update(model)
    assert torch.allclose(average.shadow["0.weight"], start + 0.9)
    assert "1.num_batches_tracked" not in average.shadow  # integer buffers are not averaged
    for _ in range(200):
        average.update(model)
    assert average.rate() == 0.9
    assert torch.allclose(average.shadow["0.weight"], model[0].weight.detach(), atol=1e-6)
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(model, 1.0)


def test_applied_swaps_the_average_in_and_restores_the_model() -> None:
    model = _net()
    average = WeightAverage(model, 0.5)
    own = model[0].weight.detach().clone()
    average.shadow["0.weight"].fill_(3.0)
    with average.applied(model):
        assert torch.all(model[0].weight == 3.0)
    assert torch.equal(model[0].weight, own)
    other = WeightAverage(_net(), 0.5)
    other.restore(average.tensors())
    assert torch.all(other.shadow["0.weight"] == 3.0) and other.updates == average.updates


def _folder(root: Path) -> Path:
    for split, n in (("train", 4), ("val", 2)):
        (root / split / "x").mkdir(parents=True)
        for i in range(n):
            Image.fromarray(smooth_image(80, 96, i + 7 * (split == "val"))).save(root / split / "x" / f"{i}.png")
    return root


def test_cached_trainer_writes_and_resumes_the_average(tmp_path: Path) -> None:
    from cfx.train.cached_colorizer import CachedRecipe, train_cached_colorizer
    from cfx.train.checkpoint import checkpoint_tensors
    from cfx.weights import load_model

    data = _folder(tmp_path / "data")
    common = dict(model="unet.tiny", batch_size=4, crops_per_image=2, precision="fp32", ema=0.9)
    once = tmp_path / "once.safetensors"
    report = train_cached_colorizer(data, once, CachedRecipe(epochs=2, **common), quiet=True)
    assert report["training"]["recipe"]["ema"] == 0.9
    stored = checkpoint_tensors(Path(report["checkpoint"]))
    assert int(stored["ema_updates"]) == 4  # 8 crops in batches of 4, two epochs
    written, _ = load_model("unet.tiny", once)
    head = next(k for k in written.state_dict() if k.startswith("head") and k.endswith("weight"))
    # the weights written are the average's, not the last step's
    assert torch.allclose(written.state_dict()[head].float(), stored[f"ema.{head}"], atol=1e-6)
    assert not torch.allclose(stored[f"model.{head}"], stored[f"ema.{head}"])
    # one epoch, then a resume for the second, ends where the uninterrupted run did
    split = tmp_path / "split.safetensors"
    train_cached_colorizer(data, split, CachedRecipe(epochs=1, **common), quiet=True)
    train_cached_colorizer(data, split, CachedRecipe(epochs=2, **common), resume=True, quiet=True)
    resumed = checkpoint_tensors(split.with_name(split.name + ".ckpt"))
    assert int(resumed["ema_updates"]) == 4
    assert torch.allclose(resumed[f"ema.{head}"], stored[f"ema.{head}"], atol=1e-5)
    assert [entry["epoch"] for entry in report["log"]] == [1, 2] and "val_psnr" in report["log"][-1]
