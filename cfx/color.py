"""Colour science in torch: sRGB ↔ CIE L*a*b* (D65), as used by every colorizer.

Iizuka, Simo-Serra and Ishikawa 2016, §3.3, train on the a*b* channels of CIE L*a*b* with the lightness as input,
normalising a*b* into the [0, 1] range of the output sigmoid. These functions work on
tensors of shape (..., 3, H, W) (channel dimension at -3), in float32, on any device,
and are differentiable.

References: IEC 61966-2-1 (sRGB transfer curve), CIE 15:2004 (L*a*b*), D65 white
(Xn, Yn, Zn) = (0.95047, 1.0, 1.08883) as in scikit-image's ``rgb2lab``.
"""

from __future__ import annotations

import torch

# sRGB (linear) → XYZ, D65.
_RGB_TO_XYZ = torch.tensor(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ],
    dtype=torch.float64,
)
_XYZ_TO_RGB = torch.linalg.inv(_RGB_TO_XYZ)
_WHITE_D65 = (0.95047, 1.0, 1.08883)
_EPSILON = 216.0 / 24389.0  # (6/29)^3
_KAPPA = 24389.0 / 27.0
_DELTA = 6.0 / 29.0
# XYZ → linear sRGB with the white point folded in (rows as Python floats), and the Y row.
_XYZ_TO_RGB_WHITE = (_XYZ_TO_RGB * torch.tensor(_WHITE_D65)).tolist()
_Y_ROW = _RGB_TO_XYZ[1].tolist()

# Global normalisation of a*b* into [0, 1] for the sigmoid output (Iizuka, Simo-Serra and Ishikawa 2016, §3.3).
# The sRGB gamut spans a* ∈ [-86.2, 98.3], b* ∈ [-107.9, 94.5]; ±110 covers both.
AB_RANGE = 110.0


def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    """Undo the sRGB transfer curve (values in [0, 1])."""
    return torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(lin: torch.Tensor) -> torch.Tensor:
    """Apply the sRGB transfer curve (values in [0, 1])."""
    return torch.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin.clamp(min=0.0031308) ** (1 / 2.4) - 0.055)


def _apply_matrix(x: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    m = matrix.to(device=x.device, dtype=x.dtype)
    return torch.einsum("ij,...jhw->...ihw", m, x)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1], shape (..., 3, H, W) → L* in [0, 100], a*, b* (same shape)."""
    xyz = _apply_matrix(srgb_to_linear(rgb.clamp(0.0, 1.0)), _RGB_TO_XYZ)
    white = torch.tensor(_WHITE_D65, device=rgb.device, dtype=rgb.dtype).view(3, 1, 1)
    t = xyz / white
    f = torch.where(t > _EPSILON, t.clamp(min=_EPSILON) ** (1.0 / 3.0), (_KAPPA * t + 16.0) / 116.0)
    fx, fy, fz = f.unbind(dim=-3)
    return torch.stack((116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)), dim=-3)


def _f_inverse(f: torch.Tensor) -> torch.Tensor:
    """Inverse of the L*a*b* companding function: f³ above 6/29, its linear segment below."""
    return torch.where(f > _DELTA, f * f * f, (116.0 * f - 16.0) / _KAPPA)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """L*a*b*, shape (..., 3, H, W) → sRGB in [0, 1] (out-of-gamut colours clipped).

    Written channel by channel, with the white point folded into the matrix, so that a
    full-resolution merge makes few passes over memory (no stacked intermediates).
    """
    lightness, a, b = lab.unbind(dim=-3)
    fy = (lightness + 16.0) / 116.0
    t = (_f_inverse(fy + a / 500.0), _f_inverse(fy), _f_inverse(fy - b / 200.0))
    channels = [
        linear_to_srgb((t[0] * row[0] + t[1] * row[1] + t[2] * row[2]).clamp(0.0, 1.0)) for row in _XYZ_TO_RGB_WHITE
    ]
    return torch.stack(channels, dim=-3).clamp(0.0, 1.0)


def rgb_to_lightness(rgb: torch.Tensor) -> torch.Tensor:
    """L* channel only, shape (..., 1, H, W): the grayscale input of every colorizer.

    The same value as ``rgb_to_lab(rgb)[..., :1]``, from the luminance Y alone (Yn = 1).
    """
    linear = srgb_to_linear(rgb.clamp(0.0, 1.0))
    r, g, b = linear.unbind(dim=-3)
    return _lightness_of_luminance((r * _Y_ROW[0] + g * _Y_ROW[1] + b * _Y_ROW[2]).unsqueeze(-3))


def gray_to_lightness(gray: torch.Tensor) -> torch.Tensor:
    """L* of a gray sRGB value (R = G = B), shape (..., 1, H, W): the row of Y sums to 1,
    so Y is the linearised gray value itself (a third of :func:`rgb_to_lightness`'s work)."""
    return _lightness_of_luminance(srgb_to_linear(gray.clamp(0.0, 1.0)))


def _lightness_of_luminance(y: torch.Tensor) -> torch.Tensor:
    f = torch.where(y > _EPSILON, y.clamp(min=_EPSILON) ** (1.0 / 3.0), (_KAPPA * y + 16.0) / 116.0)
    return 116.0 * f - 16.0


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """a*b* in [-AB_RANGE, AB_RANGE] → [0, 1] (the sigmoid's range)."""
    return (ab / AB_RANGE + 1.0) * 0.5


def denormalize_ab(ab01: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize_ab`."""
    return (ab01 * 2.0 - 1.0) * AB_RANGE


def merge_luminance(lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Join a full-resolution L* (..., 1, H, W) with a*b* at any size into sRGB.

    The chroma is upsampled bilinearly to the lightness's size (Iizuka, Simo-Serra and Ishikawa 2016, §3.5: the
    predicted chrominance is combined with the input intensity at full resolution).
    """
    if ab.shape[-2:] != lightness.shape[-2:]:
        lead = ab.shape[:-3]
        flat = ab.reshape(-1, 2, *ab.shape[-2:])
        flat = torch.nn.functional.interpolate(flat, size=lightness.shape[-2:], mode="bilinear", align_corners=False)
        ab = flat.reshape(*lead, 2, *lightness.shape[-2:])
    return lab_to_rgb(torch.cat((lightness, ab), dim=-3))
