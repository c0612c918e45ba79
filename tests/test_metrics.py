"""Tests for cfx.metrics on hand-computed cases: PSNR, AuC of the a*b* error
curve (Zhang et al.), Hasler–Süsstrunk colourfulness."""

from __future__ import annotations

import math

import pytest
import torch

from cfx.metrics import AUC_MAX_THRESHOLD, ab_error_auc, colourfulness, psnr

# ---------------------------------------------------------------- PSNR


def test_psnr_uniform_error_point_one_is_20_db() -> None:
    target = torch.full((1, 3, 4, 5), 0.5)
    prediction = target + 0.1
    assert psnr(prediction, target).item() == pytest.approx(20.0, abs=1e-4)
    # The sign of the error does not matter.
    assert psnr(target - 0.1, target).item() == pytest.approx(20.0, abs=1e-4)


def test_psnr_hand_made_mixed_error() -> None:
    target = torch.zeros(1, 1, 2, 2)
    prediction = torch.tensor([[[[0.2, 0.0], [0.0, 0.0]]]])  # MSE = 0.04 / 4 = 0.01
    assert psnr(prediction, target).item() == pytest.approx(20.0, abs=1e-4)
    prediction = torch.tensor([[[[0.1, 0.1], [0.0, 0.0]]]])  # MSE = 0.005
    assert psnr(prediction, target).item() == pytest.approx(10 * math.log10(1 / 0.005), abs=1e-4)


def test_psnr_peak_255() -> None:
    target = torch.zeros(1, 3, 2, 2)
    prediction = torch.full_like(target, 25.5)
    assert psnr(prediction, target, peak=255.0).item() == pytest.approx(20.0, abs=1e-4)


def test_psnr_one_value_per_image() -> None:
    target = torch.zeros(3, 3, 4, 4)
    prediction = torch.stack([torch.full((3, 4, 4), e) for e in (0.1, 0.01, 1.0)])
    values = psnr(prediction, target)
    assert values.shape == (3,)
    assert torch.allclose(values, torch.tensor([20.0, 40.0, 0.0]), atol=1e-3)


def test_psnr_identical_images_is_finite_and_high() -> None:
    x = torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    values = psnr(x, x)
    assert torch.isfinite(values).all()
    assert torch.allclose(values, torch.full((2,), 120.0))  # MSE clamped to 1e-12


def test_psnr_accepts_uint8_like_integer_tensors() -> None:
    target = torch.zeros(1, 1, 2, 2, dtype=torch.uint8)
    prediction = torch.full((1, 1, 2, 2), 51, dtype=torch.uint8)  # 255 / 5
    assert psnr(prediction, target, peak=255.0).item() == pytest.approx(20 * math.log10(5), abs=1e-4)


# ---------------------------------------------------------------- AuC


def test_auc_zero_error_is_one() -> None:
    ab = torch.randn(2, 2, 4, 4, generator=torch.Generator().manual_seed(1)) * 30
    values = ab_error_auc(ab, ab.clone())
    assert values.shape == (2,)
    assert torch.allclose(values, torch.ones(2))


def test_auc_uniform_error_75() -> None:
    target = torch.zeros(1, 2, 3, 3)
    prediction = target.clone()
    prediction[:, 0] = 75.0  # Euclidean a*b* error 75 everywhere
    expected = (150 - 75 + 1) / 151
    assert ab_error_auc(prediction, target).item() == pytest.approx(expected, abs=1e-6)


def test_auc_uses_euclidean_ab_distance() -> None:
    target = torch.zeros(1, 2, 1, 1)
    prediction = torch.tensor([30.0, 40.0]).view(1, 2, 1, 1)  # distance 50
    assert ab_error_auc(prediction, target).item() == pytest.approx((150 - 50 + 1) / 151, abs=1e-6)


def test_auc_mixed_case_by_hand() -> None:
    # Four pixels with errors 0, 10, 100 and 200 (beyond the last threshold).
    target = torch.zeros(1, 2, 2, 2)
    prediction = torch.zeros(1, 2, 2, 2)
    prediction[0, 0, 0, 1] = 10.0
    prediction[0, 1, 1, 0] = -100.0
    prediction[0, 0, 1, 1] = 200.0
    # Pixel with error e counts for the thresholds e..150: 151 − e of them (0 if e > 150).
    expected = ((151 - 0) + (151 - 10) + (151 - 100) + 0) / (4 * 151)
    assert ab_error_auc(prediction, target).item() == pytest.approx(expected, abs=1e-6)


def test_auc_error_above_max_is_zero_and_custom_max() -> None:
    target = torch.zeros(1, 2, 2, 2)
    prediction = torch.full_like(target, 200.0)
    assert ab_error_auc(prediction, target).item() == 0.0
    prediction = torch.zeros_like(target)
    prediction[:, 0] = 5.0
    assert ab_error_auc(prediction, target, max_threshold=10).item() == pytest.approx(6 / 11, abs=1e-6)
    assert AUC_MAX_THRESHOLD == 150


def test_auc_per_image() -> None:
    target = torch.zeros(2, 2, 2, 2)
    prediction = target.clone()
    prediction[1, 0] = 75.0
    values = ab_error_auc(prediction, target)
    assert torch.allclose(values, torch.tensor([1.0, 76 / 151]))


# ---------------------------------------------------------------- colourfulness


def test_colourfulness_gray_is_zero() -> None:
    gray = torch.rand(2, 1, 5, 5, generator=torch.Generator().manual_seed(2)).expand(2, 3, 5, 5)
    assert torch.allclose(colourfulness(gray), torch.zeros(2), atol=1e-4)


def test_colourfulness_two_pixel_image_by_hand() -> None:
    # Pixel 1: pure red (255, 0, 0); pixel 2: black.
    # rg = (255, 0): mean 127.5, std 127.5. yb = (127.5, 0): mean 63.75, std 63.75.
    # C = sqrt(127.5² + 63.75²) + 0.3 · sqrt(127.5² + 63.75²) = 1.3 · 142.5452...
    image = torch.tensor([[[[1.0, 0.0]], [[0.0, 0.0]], [[0.0, 0.0]]]])
    expected = 1.3 * math.sqrt(127.5**2 + 63.75**2)
    assert colourfulness(image).item() == pytest.approx(expected, rel=1e-5)


def test_colourfulness_two_pixel_image_blue_yellow() -> None:
    # Pixel 1: blue (0, 0, 255): rg 0, yb −255. Pixel 2: yellow (255, 255, 0): rg 0, yb 255.
    # σ_rg = 0, σ_yb = 255 (population std), μ_rg = μ_yb = 0  →  C = 255.
    image = torch.tensor([[[[0.0, 1.0]], [[0.0, 1.0]], [[1.0, 0.0]]]])
    assert colourfulness(image).item() == pytest.approx(255.0, rel=1e-5)


def test_colourfulness_uniform_colour_only_mean_term() -> None:
    # A uniform colour has no spread: C = 0.3 · sqrt(μ_rg² + μ_yb²).
    image = torch.zeros(1, 3, 3, 3)
    image[:, 0] = 1.0
    image[:, 1] = 0.2
    rg = 255 * (1.0 - 0.2)
    yb = 0.5 * 255 * (1.0 + 0.2) - 0
    assert colourfulness(image).item() == pytest.approx(0.3 * math.hypot(rg, yb), rel=1e-5)


def test_colourfulness_orders_images() -> None:
    gen = torch.Generator().manual_seed(3)
    colourful = torch.rand(1, 3, 8, 8, generator=gen)
    muted = 0.5 + 0.1 * (colourful - 0.5)
    values = colourfulness(torch.cat((colourful, muted)))
    assert values.shape == (2,)
    assert values[0] > values[1] > 0


def test_ssim_matches_scikit_image() -> None:
    structural_similarity = pytest.importorskip("skimage.metrics").structural_similarity
    from cfx.metrics import ssim

    generator = torch.Generator().manual_seed(3)
    truth = torch.rand(1, 3, 40, 52, generator=generator)
    noisy = (truth + 0.1 * torch.randn(truth.shape, generator=generator)).clamp(0, 1)
    reference = structural_similarity(
        truth[0].permute(1, 2, 0).numpy(),
        noisy[0].permute(1, 2, 0).numpy(),
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1.0,
        channel_axis=-1,
    )
    assert float(ssim(noisy, truth)) == pytest.approx(reference, abs=1e-5)
    assert float(ssim(truth, truth)) == pytest.approx(1.0, abs=1e-6)
