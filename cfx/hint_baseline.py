"""The plain baseline of guided colour: user points spread by a joint-bilateral interpolation,
with no learning, beside the hint network of Zhang, Zhu, Isola, Geng, Lin, Yu & Efros 2017
("Real-Time User-Guided Image Colorization with Learned Deep Priors", §4.1, where random
user points are simulated from the truth and PSNR is reported by their number), as the
grayscale baseline stands beside automatic colour.

At each pixel p, with points i at (y_i, x_i) of lightness L_i and colour ab_i::

    w_i(p) = exp(-d(p, i)² / 2σ_s²) · exp(-(L*(p) - L_i)² / 2σ_L²)
    ab(p)  = Σ_i w_i ab_i / (Σ_i w_i + ε)

σ_s = 0.3 of the image's long side, σ_L = 10 (L* units). The ε in the denominator shrinks
the colour towards gray (a*b* = 0) by Σw / (Σw + ε) where the points have little weight:
far from every point and at a lightness unlike theirs (across an edge).

Example::

    >>> import torch
    >>> from cfx.hint_baseline import ColourPoint, bilateral_ab
    >>> lightness = torch.full((1, 8, 8), 50.0)
    >>> ab = bilateral_ab(lightness, [ColourPoint(2.0, 2.0, 50.0, (40.0, -10.0))])
    >>> ab.shape, round(float(ab[0, 2, 2]), 1)  # 40 · 1 / (1 + ε)
    (torch.Size([2, 8, 8]), 39.6)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import torch

from cfx.hint_simulation import SimulatedPoint

SIGMA_SPACE = 0.3  # of the image's long side
SIGMA_LIGHTNESS = 10.0  # L* units
EPSILON = 1e-2  # Σw at which the colour is halved towards gray (best of 1e-4..1 on unseen-select)


@dataclass(frozen=True)
class ColourPoint:
    """A user point: position (pixels, 0-based), the lightness L* there and its a*b*."""

    y: float
    x: float
    lightness: float
    ab: tuple[float, float]


def bilateral_sums(
    lightness: torch.Tensor,
    points: Sequence[ColourPoint],
    sigma_space: float = SIGMA_SPACE,
    sigma_lightness: float = SIGMA_LIGHTNESS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ_i w_i ab_i as 2×H×W, Σ_i w_i as H×W) of ``points`` over the image whose L* is
    ``lightness`` (1×H×W or H×W, in [0, 100]). Time: one pass over the image per point."""
    if sigma_space <= 0 or sigma_lightness <= 0:
        raise ValueError("sigma_space and sigma_lightness must be positive")
    light = lightness.float().reshape(lightness.shape[-2:])
    height, width = light.shape
    numerator = torch.zeros(2, height, width)
    total = torch.zeros(height, width)
    spread = 2.0 * (sigma_space * max(height, width)) ** 2
    rows = torch.arange(height, dtype=torch.float32)
    cols = torch.arange(width, dtype=torch.float32)
    weight = torch.empty(height, width)
    for point in points:
        near = torch.outer(torch.exp(-((rows - point.y) ** 2) / spread), torch.exp(-((cols - point.x) ** 2) / spread))
        torch.sub(light, point.lightness, out=weight)
        weight.square_().div_(-2.0 * sigma_lightness**2).exp_().mul_(near)
        total.add_(weight)
        numerator[0].add_(weight, alpha=point.ab[0])
        numerator[1].add_(weight, alpha=point.ab[1])
    return numerator, total


def bilateral_ab(
    lightness: torch.Tensor,
    points: Sequence[ColourPoint],
    sigma_space: float = SIGMA_SPACE,
    sigma_lightness: float = SIGMA_LIGHTNESS,
    epsilon: float = EPSILON,
    prior: torch.Tensor | None = None,
) -> torch.Tensor:
    """a*b* (2×H×W, Lab units, float32) spread from ``points`` over the image whose L* is
    ``lightness`` (1×H×W or H×W, in [0, 100]); no points: zeros (gray), or ``prior``.

    ``sigma_space`` is a fraction of the long side. ``prior`` (2×H×W): the colour where the
    points have little weight, (Σ w_i ab_i + ε · prior) / (Σ w_i + ε); None is gray.
    """
    if epsilon <= 0:
        raise ValueError("sigma_space, sigma_lightness and epsilon must be positive")
    numerator, total = bilateral_sums(lightness, points, sigma_space, sigma_lightness)
    if prior is not None:
        numerator = numerator + epsilon * prior.float()
    return numerator / (total + epsilon)


def points_from_patches(lightness: torch.Tensor, patches: Iterable[SimulatedPoint]) -> list[ColourPoint]:
    """Simulated points (:func:`cfx.hint_simulation.simulate_points`) as :class:`ColourPoint`:
    each at its patch's centre, with the patch's mean L* and a*b*."""
    light = lightness.float().reshape(lightness.shape[-2:])
    points = []
    for patch in patches:
        y, x = patch.centre
        mean = float(light[patch.top : patch.bottom, patch.left : patch.right].mean())
        points.append(ColourPoint(y, x, mean, patch.ab))
    return points
