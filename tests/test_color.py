"""Tests for cfx.color: sRGB ↔ CIE L*a*b* against scikit-image, round trips,
luminance merging, a*b* normalisation and differentiability."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cfx.color import (
    AB_RANGE,
    denormalize_ab,
    lab_to_rgb,
    linear_to_srgb,
    merge_luminance,
    normalize_ab,
    rgb_to_lab,
    rgb_to_lightness,
    srgb_to_linear,
)

skcolor = pytest.importorskip("skimage.color")


def _rgb_grid(steps: int = 33) -> torch.Tensor:
    """Every combination of ``steps`` levels per channel as a 1×3×steps×steps² image."""
    levels = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)
    r, g, b = torch.meshgrid(levels, levels, levels, indexing="ij")
    rgb = torch.stack((r, g, b), dim=0).reshape(3, steps, steps * steps)
    return rgb.unsqueeze(0)


def _delta_e(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIE76 ΔE over the last axis."""
    return np.sqrt(((lab1 - lab2) ** 2).sum(axis=-1))


# ---------------------------------------------------------------- against scikit-image


def test_rgb_to_lab_matches_skimage_over_the_gamut() -> None:
    rgb = _rgb_grid(33)  # 35937 colours
    ours = rgb_to_lab(rgb.float())[0].permute(1, 2, 0).double().numpy()
    theirs = skcolor.rgb2lab(rgb[0].permute(1, 2, 0).numpy())
    assert ours.shape == theirs.shape
    assert _delta_e(ours, theirs).max() < 0.5


def test_rgb_to_lab_float64_matches_skimage_closely() -> None:
    rgb = _rgb_grid(17)
    ours = rgb_to_lab(rgb)[0].permute(1, 2, 0).numpy()
    theirs = skcolor.rgb2lab(rgb[0].permute(1, 2, 0).numpy())
    assert _delta_e(ours, theirs).max() < 1e-3


def test_lab_to_rgb_matches_skimage_over_the_gamut() -> None:
    rgb = _rgb_grid(33)
    lab = skcolor.rgb2lab(rgb[0].permute(1, 2, 0).numpy())  # in-gamut Lab values
    ours = lab_to_rgb(torch.from_numpy(lab).permute(2, 0, 1).float().unsqueeze(0))[0].permute(1, 2, 0).double().numpy()
    theirs = skcolor.lab2rgb(lab)
    # Compare in Lab (ΔE) and directly in RGB.
    assert _delta_e(skcolor.rgb2lab(ours), skcolor.rgb2lab(theirs)).max() < 0.5
    assert np.abs(ours - theirs).max() < 2e-3


def test_known_colours() -> None:
    # Reference values for D65 / 2° (scikit-image, and e.g. Bruce Lindbloom's calculator).
    colours = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    expected = torch.tensor(
        [
            [100.0, 0.0, 0.0],
            [0.0, 0.0, 0.0],
            [53.24, 80.09, 67.20],
            [87.73, -86.18, 83.18],
            [32.30, 79.19, -107.86],
        ]
    )
    lab = rgb_to_lab(colours.T.reshape(1, 3, 1, 5))[0, :, 0, :].T
    assert torch.allclose(lab, expected, atol=0.05)


def test_gray_has_zero_chroma() -> None:
    levels = torch.linspace(0, 1, 11)
    gray = levels.view(1, 1, 1, 11).expand(1, 3, 1, 11)
    lab = rgb_to_lab(gray)
    # Not exactly 0: the sRGB matrix's rows sum to the D65 white only to ~5 digits
    # (scikit-image gives the same residual).
    assert lab[:, 1:].abs().max() < 1e-2
    # L* increases monotonically with the gray level.
    assert torch.all(lab[0, 0, 0, 1:] > lab[0, 0, 0, :-1])


def test_lab_range_fits_ab_range() -> None:
    lab = rgb_to_lab(_rgb_grid(17).float())
    assert lab[:, 0].min() >= -1e-4 and lab[:, 0].max() <= 100.0 + 1e-3
    assert lab[:, 1:].abs().max() < AB_RANGE


def test_transfer_curve_round_trip_and_continuity() -> None:
    x = torch.linspace(0, 1, 1001, dtype=torch.float64)
    assert torch.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-9)
    # Both branches meet at the threshold.
    t = torch.tensor([0.04045], dtype=torch.float64)
    assert abs(float(t / 12.92) - float(((t + 0.055) / 1.055) ** 2.4)) < 1e-6
    assert srgb_to_linear(torch.tensor([1.0])).item() == pytest.approx(1.0)


# ---------------------------------------------------------------- round trip


def test_round_trip_rgb_lab_rgb() -> None:
    rgb = _rgb_grid(33).float()
    back = lab_to_rgb(rgb_to_lab(rgb))
    assert back.shape == rgb.shape
    assert (back - rgb).abs().max() < 2e-3


def test_round_trip_preserves_batch_dims() -> None:
    rgb = torch.rand(2, 3, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    lab = rgb_to_lab(rgb)
    assert lab.shape == rgb.shape
    assert torch.allclose(lab_to_rgb(lab), rgb, atol=2e-3)
    # Unbatched (3, H, W) works too.
    assert torch.allclose(rgb_to_lab(rgb[0, 0]), lab[0, 0])


def test_lab_to_rgb_clips_out_of_gamut() -> None:
    lab = torch.tensor([[[[50.0]], [[200.0]], [[-200.0]]]])
    rgb = lab_to_rgb(lab)
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    assert not torch.isnan(rgb).any()


def test_rgb_to_lightness_is_l_channel() -> None:
    rgb = torch.rand(2, 3, 4, 6, generator=torch.Generator().manual_seed(1))
    lightness = rgb_to_lightness(rgb)
    assert lightness.shape == (2, 1, 4, 6)
    torch.testing.assert_close(
        lightness, rgb_to_lab(rgb)[:, :1], atol=1e-4, rtol=0
    )  # same value, computed from Y alone


# ---------------------------------------------------------------- merge_luminance


def test_merge_luminance_zero_ab_gives_gray_of_lightness() -> None:
    gray = torch.linspace(0, 1, 24).view(1, 1, 4, 6).expand(1, 3, 4, 6).contiguous()
    lightness = rgb_to_lab(gray)[:, :1]
    rgb = merge_luminance(lightness, torch.zeros(1, 2, 4, 6))
    assert rgb.shape == (1, 3, 4, 6)
    # R = G = B, and equal to the gray the lightness came from.
    assert torch.allclose(rgb[:, 0], rgb[:, 1], atol=1e-4) and torch.allclose(rgb[:, 1], rgb[:, 2], atol=1e-4)
    assert torch.allclose(rgb, gray, atol=2e-3)


def test_merge_luminance_upsamples_ab_and_keeps_lightness() -> None:
    rgb = torch.rand(1, 3, 8, 12, generator=torch.Generator().manual_seed(2))
    lab = rgb_to_lab(rgb)
    # A constant ab at quarter resolution upsamples to the same constant.
    ab = torch.tensor([20.0, -15.0]).view(1, 2, 1, 1).expand(1, 2, 2, 3)
    merged = merge_luminance(lab[:, :1], ab)
    assert merged.shape == (1, 3, 8, 12)
    merged_lab = rgb_to_lab(merged)
    in_gamut = (merged > 0.001).all(dim=1) & (merged < 0.999).all(dim=1)
    assert in_gamut.any()
    assert torch.allclose(merged_lab[:, 0][in_gamut], lab[:, 0][in_gamut], atol=0.1)
    assert torch.allclose(merged_lab[:, 1][in_gamut], torch.full_like(merged_lab[:, 1][in_gamut], 20.0), atol=0.2)


def test_merge_luminance_same_size_is_lab_to_rgb() -> None:
    rgb = torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(3))
    lab = rgb_to_lab(rgb)
    assert torch.allclose(merge_luminance(lab[:, :1], lab[:, 1:]), lab_to_rgb(lab))


# ---------------------------------------------------------------- normalisation


def test_normalize_denormalize_are_inverse() -> None:
    ab = torch.linspace(-AB_RANGE, AB_RANGE, 101).view(1, 1, 101).expand(2, 1, 101)
    assert torch.allclose(denormalize_ab(normalize_ab(ab)), ab, atol=1e-4)
    x = torch.rand(2, 2, 5, 5, generator=torch.Generator().manual_seed(4))
    assert torch.allclose(normalize_ab(denormalize_ab(x)), x, atol=1e-6)


def test_normalize_known_values() -> None:
    values = normalize_ab(torch.tensor([-AB_RANGE, 0.0, AB_RANGE]))
    assert torch.allclose(values, torch.tensor([0.0, 0.5, 1.0]))


# ---------------------------------------------------------------- differentiability


def test_rgb_to_lab_is_differentiable() -> None:
    rgb = (torch.rand(1, 3, 4, 4, generator=torch.Generator().manual_seed(5)) * 0.9 + 0.05).requires_grad_()
    rgb_to_lab(rgb).sum().backward()
    assert rgb.grad is not None
    assert torch.isfinite(rgb.grad).all()
    assert rgb.grad.abs().sum() > 0


def test_lab_to_rgb_and_merge_are_differentiable() -> None:
    lab = rgb_to_lab(torch.rand(1, 3, 4, 4, generator=torch.Generator().manual_seed(6)) * 0.8 + 0.1)
    lightness = lab[:, :1].clone().requires_grad_()
    ab = (lab[:, 1:, ::2, ::2] * 0.5).clone().requires_grad_()
    merge_luminance(lightness, ab).sum().backward()
    for tensor in (lightness, ab):
        assert tensor.grad is not None
        assert torch.isfinite(tensor.grad).all()
        assert tensor.grad.abs().sum() > 0


def test_gradcheck_rgb_to_lab() -> None:
    rgb = (
        torch.rand(1, 3, 2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(7)) * 0.8 + 0.1
    ).requires_grad_()
    assert torch.autograd.gradcheck(rgb_to_lab, (rgb,), eps=1e-6, atol=1e-4)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            lambda: rgb_to_lab(torch.rand(4, 4, 3)),
            r"rgb_to_lab: expected sRGB of shape \(\*, 3, H, W\), got \(4, 4, 3\)",
        ),
        (lambda: rgb_to_lab(torch.rand(3, 8)), r"rgb_to_lab: .*\(\*, 3, H, W\), got \(3, 8\)"),
        (lambda: lab_to_rgb(torch.rand(1, 2, 4, 4)), r"lab_to_rgb: expected L\*a\*b\* of shape \(\*, 3, H, W\)"),
        (lambda: rgb_to_lightness(torch.rand(1, 1, 4, 4)), r"rgb_to_lightness: .*\(\*, 3, H, W\)"),
        (
            lambda: merge_luminance(torch.rand(1, 3, 4, 4), torch.rand(1, 2, 4, 4)),
            r"expected L\* of shape \(\*, 1, H, W\)",
        ),
        (lambda: merge_luminance(torch.rand(1, 1, 4, 4), torch.rand(1, 3, 2, 2)), r"a\*b\* of shape \(\*, 2, H, W\)"),
        (lambda: merge_luminance(torch.rand(2, 1, 4, 4), torch.rand(1, 2, 2, 2)), r"differ before \(C, H, W\)"),
    ],
)
def test_wrong_shapes_say_what_was_expected(call, expected: str) -> None:
    """One clear ValueError naming the expected shape (as kornia's colour functions), not an einsum error."""
    with pytest.raises(ValueError, match=expected):
        call()


def test_lab_rows_to_srgb_checks_its_planes() -> None:
    from cfx.color import lab_rows_to_srgb

    planes = [torch.zeros(2, 3) for _ in range(3)]
    with pytest.raises(ValueError, match=r"lab_rows_to_srgb: expected .* \(rows, W, 3\)"):
        lab_rows_to_srgb(*planes, np.empty((2, 4, 3), dtype=np.float32))
    assert lab_rows_to_srgb(*planes, np.empty((2, 3, 3), dtype=np.float32)).shape == (2, 3, 3)
