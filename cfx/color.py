"""Colour science in torch: sRGB ↔ CIE L*a*b* (D65), as used by every colorizer.

Iizuka, Simo-Serra and Ishikawa 2016, §3.3, train on the a*b* channels of CIE L*a*b* with the lightness as input,
normalising a*b* into the [0, 1] range of the output sigmoid. These functions work on
tensors of shape (..., 3, H, W) (channel dimension at -3), in float32, on any device,
and are differentiable. As kornia's colour functions do, each checks its input's shape
first (from the shape alone: no cost per pixel) and says what it expected in one
``ValueError``, instead of failing deep inside an einsum.

    >>> import torch
    >>> from cfx.color import rgb_to_lab
    >>> rgb_to_lab(torch.ones(1, 3, 2, 2))[0, 0, 0, 0].round().item()  # white: L* = 100
    100.0
    >>> rgb_to_lab(torch.ones(2, 2, 3))
    Traceback (most recent call last):
    ...
    ValueError: rgb_to_lab: expected sRGB of shape (*, 3, H, W), got (2, 2, 3)

References: IEC 61966-2-1 (sRGB transfer curve), CIE 15:2004 (L*a*b*), D65 white
(Xn, Yn, Zn) = (0.95047, 1.0, 1.08883) as in scikit-image's ``rgb2lab``.
"""

from __future__ import annotations

import functools

import numpy as np
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
Y_ROW = _RGB_TO_XYZ[1].tolist()  # luminance Y of linear sRGB

# Global normalisation of a*b* into [0, 1] for the sigmoid output (Iizuka, Simo-Serra and Ishikawa 2016, §3.3).
# The sRGB gamut spans a* ∈ [-86.2, 98.3], b* ∈ [-107.9, 94.5]; ±110 covers both.
AB_RANGE = 110.0


def check_channels(x: torch.Tensor, channels: int, what: str, function: str) -> None:
    """Raise a ValueError naming ``function`` and the expected shape (*, channels, H, W)
    unless ``x`` is a tensor of at least 3 dimensions with ``channels`` at dimension -3."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{function}: expected {what} as a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 3 or x.shape[-3] != channels:
        raise ValueError(f"{function}: expected {what} of shape (*, {channels}, H, W), got {tuple(x.shape)}")


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
    """sRGB in [0, 1], shape (..., 3, H, W) → L* in [0, 100], a*, b* (same shape).

    Raises ValueError for any other shape.
    """
    check_channels(rgb, 3, "sRGB", "rgb_to_lab")
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
    Raises ValueError for any other shape.
    """
    check_channels(lab, 3, "L*a*b*", "lab_to_rgb")
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
    Raises ValueError for any other shape.
    """
    check_channels(rgb, 3, "sRGB", "rgb_to_lightness")
    linear = srgb_to_linear(rgb.clamp(0.0, 1.0))
    r, g, b = linear.unbind(dim=-3)
    return luminance_to_lightness((r * Y_ROW[0] + g * Y_ROW[1] + b * Y_ROW[2]).unsqueeze(-3))


def gray_to_lightness(gray: torch.Tensor) -> torch.Tensor:
    """L* of a gray sRGB value (R = G = B), shape (..., 1, H, W): the row of Y sums to 1,
    so Y is the linearised gray value itself (a third of :func:`rgb_to_lightness`'s work)."""
    return luminance_to_lightness(srgb_to_linear(gray.clamp(0.0, 1.0)))


def luminance_to_lightness(y: torch.Tensor) -> torch.Tensor:
    """L* in [0, 100] of a relative luminance Y (Yn = 1), any shape."""
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
    Raises ValueError for other shapes.
    """
    check_channels(lightness, 1, "L*", "merge_luminance")
    check_channels(ab, 2, "a*b*", "merge_luminance")
    if ab.shape[:-3] != lightness.shape[:-3]:
        raise ValueError(
            f"merge_luminance: L* {tuple(lightness.shape)} and a*b* {tuple(ab.shape)} differ before (C, H, W)"
        )
    if ab.shape[-2:] != lightness.shape[-2:]:
        lead = ab.shape[:-3]
        flat = ab.reshape(-1, 2, *ab.shape[-2:])
        flat = torch.nn.functional.interpolate(flat, size=lightness.shape[-2:], mode="bilinear", align_corners=False)
        ab = flat.reshape(*lead, 2, *lightness.shape[-2:])
    return lab_to_rgb(torch.cat((lightness, ab), dim=-3))


# ---------------------------------------------------------------- full-resolution work, at memory speed
#
# The functions below serve the full-resolution merge of a colorizer's output (cfx.colorize):
# they work on one strip of rows at a time, in float32, in place where they can, and
# replace the transfer curves by tables where the result is an integer level anyway.

_LEVEL_STEPS = {8: 1 << 18, 16: 1 << 20}  # table steps over linear [0, 1]: within 0.007 (8-bit) / 0.4 (16-bit) levels


_FY_OFFSET = torch.tensor(16.0 / 116.0)


@functools.cache
def srgb_level_table(bit_depth: int) -> tuple[int, torch.Tensor]:
    """(steps, table) encoding linear light as sRGB levels: ``table[int(v · steps)]`` is
    ``round((2**bit_depth - 1) · linear_to_srgb(v))`` for v in [0, 1], computed in float64 at the
    centre of each of the ``steps`` buckets. The sRGB curve's slope never exceeds 12.92, so the
    lookup is within 12.92 / (2 · steps) of the exact value: 0.007 of a level at 8 bits (uint8
    table), 0.4 at 16 bits (uint16 table).
    """
    steps = _LEVEL_STEPS[bit_depth]
    levels = (1 << bit_depth) - 1
    centres = ((torch.arange(steps + 1, dtype=torch.float64) + 0.5) / steps).clamp(max=1.0)
    encoded = (linear_to_srgb(centres) * levels).round()
    if bit_depth == 8:
        return steps, encoded.to(torch.uint8)
    return steps, torch.from_numpy(encoded.numpy().astype(np.uint16))


@functools.cache
def linear_level_table(bit_depth: int) -> torch.Tensor:
    """Linear light (float32) of each sRGB level 0 … 2**bit_depth - 1, computed in float64."""
    levels = (1 << bit_depth) - 1
    return srgb_to_linear(torch.arange(levels + 1, dtype=torch.float64) / levels).float()


@functools.cache
def gray_lightness_table(bit_depth: int) -> torch.Tensor:
    """L* (float32) of each gray level 0 … 2**bit_depth - 1, computed in float64."""
    levels = (1 << bit_depth) - 1
    gray = torch.arange(levels + 1, dtype=torch.float64) / levels
    return gray_to_lightness(gray).float()


def _f_inverse_(f: torch.Tensor) -> torch.Tensor:
    """:func:`_f_inverse` in place, as max(f, δ)³ + (116/κ)·(min(f, δ) − δ) (the two pieces meet at δ)."""
    below = torch.clamp(f, max=_DELTA)
    return f.clamp_(min=_DELTA).pow_(3).add_(below, alpha=116.0 / _KAPPA).sub_(116.0 / _KAPPA * _DELTA)


def lab_rows_to_srgb(
    lightness: torch.Tensor, a: torch.Tensor, b: torch.Tensor, out: np.ndarray, darkest: float | None = None
) -> np.ndarray:
    """L*a*b* planes (each rows×W, float32) → sRGB written into ``out`` (rows×W×3, contiguous).

    ``out``'s dtype chooses the result: float32 in [0, 1] (the exact transfer curve, as
    :func:`lab_to_rgb`), or uint8 / uint16 levels (through :func:`srgb_level_table`,
    within one level of rounding the float result). The same arithmetic as
    :func:`lab_to_rgb` in about 20 passes over the strip, for strips that fit the cache.
    ``darkest``: a lower bound of the companded values (L* + 16)/116 + a*/500 and
    (L* + 16)/116 − b*/200 over the strip, if the caller knows one; above 6/29 (no colour
    darker than L* = 8) the inverse companding is a plain cube. Out-of-gamut colours are
    clipped; ``a`` and ``b`` must be finite. Other shapes raise a ValueError.
    """
    if not (lightness.dim() == 2 and lightness.shape == a.shape == b.shape and out.shape == (*lightness.shape, 3)):
        raise ValueError(
            "lab_rows_to_srgb: expected L*, a*, b* planes of one shape (rows, W) and out (rows, W, 3), got "
            f"{tuple(lightness.shape)}, {tuple(a.shape)}, {tuple(b.shape)} and {tuple(out.shape)}"
        )
    fy = torch.add(_FY_OFFSET, lightness, alpha=1.0 / 116.0)
    fx = torch.add(fy, a, alpha=1.0 / 500.0)
    fz = torch.add(fy, b, alpha=-1.0 / 200.0)
    if darkest is None:
        darkest = min(float(fx.min()), float(fy.min()), float(fz.min()))
    if darkest > _DELTA:
        xyz = (fx.pow_(3), fy.pow_(3), fz.pow_(3))
    else:
        xyz = (_f_inverse_(fx), _f_inverse_(fy), _f_inverse_(fz))
    if out.dtype == np.float32:
        for channel, row in enumerate(_XYZ_TO_RGB_WHITE):
            linear = torch.mul(xyz[0], row[0]).add_(xyz[1], alpha=row[1]).add_(xyz[2], alpha=row[2]).clamp_(0.0, 1.0)
            out[..., channel] = linear_to_srgb(linear).numpy()
        return out
    steps, table = srgb_level_table(8 if out.dtype == np.uint8 else 16)
    index = torch.empty(out.shape, dtype=torch.int32)
    scratch = torch.empty_like(fy)
    for channel, row in enumerate(_XYZ_TO_RGB_WHITE):
        torch.mul(xyz[0], row[0] * steps, out=scratch).add_(xyz[1], alpha=row[1] * steps)
        index[..., channel] = scratch.add_(xyz[2], alpha=row[2] * steps).clamp_(0.0, steps)  # truncated: the bucket
    torch.index_select(table, 0, index.view(-1), out=torch.from_numpy(out).view(-1))
    return out
