"""Tests for cfx.models.fcid: Guo et al.'s FCID-HIST features and its linear SVM."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import torch

from cfx.models.fcid import (
    FcidConfig,
    FcidHist,
    bright_channel,
    dark_channel,
    fcid_histograms,
    hsv_hue_saturation,
    normalized_histogram,
)
from cfx.registry import create_model, get_spec

BINS = 8


def _signed(rgb01: torch.Tensor) -> torch.Tensor:
    """[0, 1] → the detectors' [-1, 1]."""
    return rgb01 * 2.0 - 1.0


def _constant(r: float, g: float, b: float, side: int = 6) -> torch.Tensor:
    return torch.tensor([r, g, b]).view(1, 3, 1, 1).expand(1, 3, side, side).clone()


def _split(features: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return features.view(features.shape[0], 4, -1).unbind(dim=1)  # hue, saturation, dark, bright


def test_each_histogram_sums_to_one() -> None:
    torch.manual_seed(0)
    features = fcid_histograms(torch.rand(3, 3, 9, 13) * 2 - 1, BINS, 3)
    assert features.shape == (3, 4 * BINS)
    assert (features >= 0).all()
    for histogram in _split(features):
        assert torch.allclose(histogram.sum(dim=1), torch.ones(3))


def test_gray_image_has_zero_saturation_and_hue_bin_zero() -> None:
    hue, saturation, _, _ = _split(fcid_histograms(_signed(_constant(0.5, 0.5, 0.5)), BINS, 3))
    assert saturation[0, 0] == 1.0 and hue[0, 0] == 1.0


def test_pure_red_hue_bin_zero_saturation_last_bin() -> None:
    hue, saturation, dark, bright = _split(fcid_histograms(_signed(_constant(1.0, 0.0, 0.0)), BINS, 3))
    assert hue[0, 0] == 1.0
    assert saturation[0, -1] == 1.0
    assert dark[0, 0] == 1.0 and bright[0, -1] == 1.0


def test_hue_saturation_match_colorsys() -> None:
    torch.manual_seed(1)
    rgb = torch.rand(1, 3, 4, 5)
    hue, saturation = hsv_hue_saturation(rgb)
    for i in range(4):
        for j in range(5):
            h, s, _ = colorsys.rgb_to_hsv(*rgb[0, :, i, j].tolist())
            assert hue[0, i, j].item() == pytest.approx(h % 1.0, abs=1e-5)
            assert saturation[0, i, j].item() == pytest.approx(s, abs=1e-5)


def test_hue_is_circular() -> None:
    # Hue just below 1 (a red with a touch of blue) falls in the last bin, not past it.
    circular = normalized_histogram(torch.tensor([[0.999, 1.0, 0.0]]), 4, circular=True)
    assert torch.allclose(circular, torch.tensor([[2 / 3, 0, 0, 1 / 3]]))
    # On a linear channel 1.0 is in the last bin.
    assert normalized_histogram(torch.tensor([[1.0, 0.0]]), 4).tolist() == [[0.5, 0, 0, 0.5]]


def test_dark_channel_with_an_empty_channel_is_all_bin_zero() -> None:
    torch.manual_seed(2)
    rgb = torch.rand(2, 3, 10, 10)
    rgb[:, 1] = 0.0
    _, _, dark, _ = _split(fcid_histograms(_signed(rgb), BINS, 3))
    assert torch.equal(dark[:, 0], torch.ones(2))


def test_bright_channel_of_white_is_last_bin() -> None:
    _, saturation, dark, bright = _split(fcid_histograms(_signed(_constant(1.0, 1.0, 1.0)), BINS, 3))
    assert bright[0, -1] == 1.0 and dark[0, -1] == 1.0 and saturation[0, 0] == 1.0


@pytest.mark.parametrize("window", [1, 3, 4])
def test_extreme_channels_match_brute_force(window: int) -> None:
    rng = np.random.default_rng(3)
    rgb = rng.random((3, 5, 7)).astype(np.float32)
    low, high = rgb.min(axis=0), rgb.max(axis=0)
    before, after = (window - 1) // 2, window // 2
    expected_dark, expected_bright = np.empty_like(low), np.empty_like(high)
    for i in range(5):
        for j in range(7):
            rows = slice(max(0, i - before), i + after + 1)
            cols = slice(max(0, j - before), j + after + 1)
            expected_dark[i, j], expected_bright[i, j] = low[rows, cols].min(), high[rows, cols].max()
    tensor = torch.from_numpy(rgb).unsqueeze(0)
    assert np.array_equal(dark_channel(tensor, window)[0].numpy(), expected_dark)
    assert np.array_equal(bright_channel(tensor, window)[0].numpy(), expected_bright)


def test_forward_shape_zero_first_logit_and_odd_sizes() -> None:
    model = create_model("fcid.tiny").eval()
    assert isinstance(model, FcidHist) and model.input_size == 64 and get_spec("fcid.tiny").tiny
    for shape in [(2, 3, 16, 24), (1, 3, 1, 1), (3, 3, 5, 2)]:
        with torch.no_grad():
            logits = model(torch.rand(shape) * 2 - 1)
        assert logits.shape == (shape[0], 2)
        assert (logits[:, 0] == 0).all() and torch.isfinite(logits).all()
    probability = model.probability(torch.rand(2, 3, 8, 8) * 2 - 1)
    assert probability.shape == (2,) and ((probability > 0) & (probability < 1)).all()


def test_full_preset_feature_length() -> None:
    model = create_model("fcid.hist")
    assert model.config == FcidConfig() and model.features(torch.zeros(1, 3, 8, 8)).shape == (1, 128)


def test_training_loss_is_the_hinge_loss() -> None:
    model = FcidHist(FcidConfig(bins=2, window=1)).eval()  # eval: running stats mean 0, var 1
    with torch.no_grad():
        model.svm.weight.copy_(torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0]]))
        model.svm.bias.fill_(0.5)
    images = _signed(torch.cat((_constant(0.4, 0.4, 0.4), _constant(1.0, 0.0, 0.0), _constant(0.2, 0.2, 0.1))))
    labels = torch.tensor([0, 1, 1])
    loss, logits = model.training_loss(images, labels)
    # hue bin 0 fraction is 1 for all three; bright bin 1 fraction: 0, 1, 0 (eps of BatchNorm is 1e-5).
    scale = 1 / (1 + 1e-5) ** 0.5
    z = torch.tensor([1.0 * scale + 0.5, (1.0 - 2.0) * scale + 0.5, 1.0 * scale + 0.5])
    assert torch.allclose(logits[:, 1], z, atol=1e-6)
    y = torch.tensor([-1.0, 1.0, 1.0])
    assert loss.item() == pytest.approx(torch.clamp(1 - y * z, min=0).mean().item(), abs=1e-6)


def test_sgd_separates_vivid_from_desaturated() -> None:
    torch.manual_seed(0)
    vivid = torch.rand(24, 3, 6, 6)
    gray = vivid.mean(dim=1, keepdim=True)
    dull = gray + 0.6 * (vivid - gray)  # "colorized": the same images, less saturated
    images = _signed(torch.cat((vivid, dull)))
    labels = torch.cat((torch.zeros(24, dtype=torch.long), torch.ones(24, dtype=torch.long)))
    model = create_model("fcid.tiny").eval()
    with torch.no_grad():
        assert (model(images).argmax(dim=1) != labels).any()  # not separated before training
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-4)
    for _ in range(200):
        optimizer.zero_grad()
        loss, _ = model.training_loss(images, labels)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    model.eval()
    with torch.no_grad():
        predicted = model(images).argmax(dim=1)
    assert (predicted == labels).all()
    assert model.probability(images[24:]).min() > 0.5 > model.probability(images[:24]).max()


def test_single_image_training_step_works() -> None:
    model = create_model("fcid.tiny").train()
    loss, logits = model.training_loss(torch.rand(1, 3, 8, 8) * 2 - 1, torch.tensor([1]))
    loss.backward()
    assert logits.shape == (1, 2) and model.svm.weight.grad is not None
