"""Tests for the zhang, koala and autoencoder colorizers (tiny presets): the ColorizerBase
protocol (predict_ab, training_loss), that each can overfit one batch, and what is
particular to each (annealing temperature and prior, torchvision embedding, fixed size)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cfx.color import rgb_to_lab
from cfx.registry import create_model
from tests.conftest import smooth_image

TINY = ["zhang.tiny", "koala.tiny", "autoencoder.tiny", "unet.tiny-guided"]


def _batch(size: int, count: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """L*/100 and a*b* of smooth colour images with a warm cast (a colour to learn):
    (N, 1, size, size), (N, 2, size, size)."""
    rgb = np.stack([smooth_image(size, size, seed) for seed in range(count)])
    rgb = torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 255.0
    lab = rgb_to_lab(rgb * torch.tensor([1.0, 0.7, 0.35]).view(1, 3, 1, 1))
    return lab[:, :1] / 100.0, lab[:, 1:]


def _output_side(name: str, model: torch.nn.Module, height: int, width: int) -> tuple[int, int]:
    arch = name.split(".")[0]
    if arch == "zhang":
        return height // 4, width // 4
    if arch == "koala":
        return height, width
    if arch == "unet":
        return height // 4, width // 4
    return model.config.size, model.config.size


@pytest.mark.parametrize("name", TINY)
def test_training_loss_decreases_on_one_batch(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name).train()
    lightness, ab = _batch(model.train_size)
    labels = torch.full((len(ab),), -1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        loss, predicted = model.training_loss(lightness, ab, labels, 0.0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(np.isfinite(losses))
    assert min(losses[-3:]) < 0.85 * losses[0], losses
    assert predicted.shape == (len(ab), 2, *_output_side(name, model, *ab.shape[-2:]))


@pytest.mark.parametrize("name", TINY)
def test_predict_ab_shapes_and_range(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name).eval()
    assert model.multiple in (1, 8, 32)  # unet: the encoder's stride
    for height, width in ((48, 72), (40, 32)):
        lightness = torch.rand(2, 1, height, width)
        with torch.inference_mode():
            ab = model.predict_ab(lightness)
        assert ab.shape == (2, 2, *_output_side(name, model, height, width))
        assert ab.dtype == torch.float32 and torch.isfinite(ab).all()
        assert ab.abs().max() <= 110.0
    # training_loss's a*b* are those of predict_ab (eval mode: same network).
    lightness, ab = _batch(model.train_size, 2)
    with torch.inference_mode():
        _, predicted = model.training_loss(lightness, ab, torch.tensor([-1, -1]), 0.0)
        assert torch.allclose(predicted, model.predict_ab(lightness), atol=1e-4)


@pytest.mark.parametrize("name", TINY)
def test_classification_head_joins_the_loss(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=3).eval()
    lightness, ab = _batch(model.train_size, 2)
    with torch.inference_mode():
        _, logits = model(lightness)
        assert logits.shape == (2, 3)
        plain, _ = model.training_loss(lightness, ab, torch.tensor([-1, -1]), 1.0)
        joint, _ = model.training_loss(lightness, ab, torch.tensor([0, 2]), 1.0)
    assert joint > plain
    assert create_model(name)(lightness)[1] is None


@pytest.mark.parametrize("name", TINY)
def test_weights_round_trip_and_runner(name: str, tmp_path: Path) -> None:
    """Saved (fp16) and loaded through cfx.weights, then used by the colorize runner."""
    from cfx.colorize import load_colorizer
    from cfx.imageio import load_image
    from cfx.weights import load_model, save_model

    torch.manual_seed(0)
    model = create_model(name).train()
    lightness, ab = _batch(model.train_size, 2)
    model.training_loss(lightness, ab, torch.tensor([-1, -1]), 0.0)  # moves BN statistics and zhang's prior
    path = tmp_path / "m.safetensors"
    save_model(model, path, {"name": name, "arch": name.split(".")[0], "task": "colorize"}, half=True)
    loaded, _ = load_model(name, path)
    model.eval()
    with torch.inference_mode():
        assert torch.allclose(loaded.predict_ab(lightness), model.predict_ab(lightness), atol=0.5)
    if name.startswith("zhang"):
        assert torch.allclose(loaded.ab_prior, model.ab_prior, atol=1e-3)
        assert loaded.ab_prior_pixels == model.ab_prior_pixels
    image_path = tmp_path / "odd.png"
    Image.fromarray(smooth_image(37, 53, 5)).save(image_path)
    colorizer = load_colorizer(weights=path, device="cpu")
    out = colorizer.colorize_array(load_image(image_path))
    assert out.shape == (37, 53, 3) and np.isfinite(out).all()


def test_zhang_temperature_changes_the_output() -> None:
    torch.manual_seed(0)
    model = create_model("zhang.tiny").eval()
    assert model.temperature == pytest.approx(0.38)
    lightness = torch.rand(1, 1, 32, 32)
    with torch.inference_mode():
        paper = model.predict_ab(lightness)
        model.temperature = 1.0
        mean = model.predict_ab(lightness)
        model.temperature = 0.01
        mode = model.predict_ab(lightness)
    assert not torch.allclose(paper, mean, atol=1e-3)
    assert not torch.allclose(paper, mode, atol=1e-3)


def test_zhang_prior_accumulates_in_training_only() -> None:
    torch.manual_seed(0)
    model = create_model("zhang.tiny")
    uniform = model.ab_prior.clone()
    assert torch.allclose(model.rebalance_weights(), torch.ones(model.config.num_bins), atol=1e-5)
    lightness, ab = _batch(32, 2)
    labels = torch.tensor([-1, -1])
    model.eval()
    model.training_loss(lightness, ab, labels, 0.0)
    assert torch.equal(model.ab_prior, uniform) and model.ab_prior_pixels == 0
    model.train()
    model.training_loss(lightness, ab, labels, 0.0)
    pixels = 2 * 8 * 8  # the 1/4-resolution targets
    assert model.ab_prior_pixels == pixels
    assert model.ab_prior.sum() == pytest.approx(1.0) and (model.ab_prior * pixels).round().max() > 1
    first = model.ab_prior.clone()
    model.training_loss(lightness, ab, labels, 0.0)  # the same batch again: same distribution
    assert model.ab_prior_pixels == 2 * pixels and torch.allclose(model.ab_prior, first, atol=1e-6)
    weights = model.rebalance_weights()
    assert weights.max() > 1.0 > weights.min()
    # A prior estimated beforehand, frozen.
    counts = torch.arange(model.config.num_bins, dtype=torch.float32)
    model.set_prior(counts)
    model.training_loss(lightness, ab, labels, 0.0)
    assert torch.allclose(model.ab_prior, counts / counts.sum()) and model.ab_prior_pixels == int(counts.sum())
    with pytest.raises(ValueError, match="counts"):
        model.set_prior(torch.ones(3))


def test_zhang_num_bins_must_match_the_gamut() -> None:
    with pytest.raises(ValueError, match="num_bins"):
        create_model("zhang.tiny", num_bins=313)


def test_koala_embedding_is_an_untrained_torchvision_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision

    def no_download(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("a pretrained download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    torch.manual_seed(0)
    first = create_model("koala.tiny")
    assert isinstance(first.embedding, torchvision.models.MobileNetV3)
    assert type(first.embedding).__module__.startswith("torchvision.models")
    torch.manual_seed(1)
    second = create_model("koala.tiny")
    # Random initialisation: two seeds, two different networks (no loaded weights).
    assert not torch.equal(first.embedding.features[0][0].weight, second.embedding.features[0][0].weight)
    # The embedding sees a fixed-size copy replicated to 3 channels.
    seen = []
    first.embedding.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape))
    with torch.inference_mode():
        first.eval()(torch.rand(1, 1, 48, 64))
    assert seen == [(1, 3, first.config.global_size, first.config.global_size)]
    assert first.embedding.classifier[-1].out_features == first.config.embedding_dim
    with pytest.raises(ValueError, match="embedding network"):
        create_model("koala.tiny", embedding="vgg99")


def test_autoencoder_works_on_a_fixed_size_copy() -> None:
    torch.manual_seed(0)
    model = create_model("autoencoder.tiny").eval()
    size = model.config.size
    lightness = torch.rand(1, 1, size, size)
    with torch.inference_mode():
        direct = model.predict_ab(lightness)
        larger = model.predict_ab(torch.nn.functional.interpolate(lightness, scale_factor=2, mode="nearest"))
    assert direct.shape == larger.shape == (1, 2, size, size)
    with pytest.raises(ValueError, match="multiple of"):
        create_model("autoencoder.tiny", size=36)
