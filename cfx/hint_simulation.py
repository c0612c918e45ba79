"""User points simulated from the true colours, as Zhang, Zhu, Isola, Geng, Lin, Yu & Efros 2017
("Real-Time User-Guided Image Colorization with Learned Deep Priors", §3.1 and §4.1) train and
evaluate their hint network: points drawn at random positions, each revealing the mean a*b*
of a small square patch of the true image around it.

- Training draws a geometric number of points per image (so that some images get none and
  the network stays an automatic colorizer), patches of 1..``max_patch`` cells.
- Evaluation (``cfx eval colorizer --hints N``) gives every image exactly N points, seeded
  (:func:`simulate_points`, which also returns the points for the bilateral baseline).

Hints are the three channels the hint-conditioned decoder reads: a*b*/110 times the mask,
and the mask (1 where a point is).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cfx.color import AB_RANGE


def empty_hints(batch: int, height: int, width: int, device: torch.device | None = None) -> torch.Tensor:
    """No hints: N×3×H×W zeros."""
    return torch.zeros(batch, 3, height, width, device=device)


def paint_point(hints: torch.Tensor, ab: torch.Tensor, y: int, x: int, patch: int) -> None:
    """Reveal in ``hints`` (3×H×W) the mean a*b* (Lab units) of ``ab`` (2×H×W) over the
    ``patch``×``patch`` square at (y, x), clipped to the image."""
    _, height, width = ab.shape
    top, left = max(0, y - patch // 2), max(0, x - patch // 2)
    bottom, right = min(height, top + patch), min(width, left + patch)
    mean = ab[:, top:bottom, left:right].float().mean(dim=(1, 2)) / AB_RANGE
    hints[:2, top:bottom, left:right] = mean[:, None, None]
    hints[2, top:bottom, left:right] = 1.0


def simulate_hints(
    ab: torch.Tensor,
    generator: torch.Generator,
    points: int | None = None,
    p_stop: float = 1.0 / 8.0,
    max_points: int = 40,
    max_patch: int = 2,
) -> torch.Tensor:
    """Hints (N×3×H×W) revealing patches of the true a*b* (N×2×H×W, Lab units).

    ``points``: exactly that many per image; None: a geometric number (P(k) = (1-p)^k p,
    k ≥ 0, at most ``max_points``), so a fraction ``p_stop`` of images gets none. Patches are
    squares of 1..``max_patch`` pixels of ``ab``'s grid.
    """
    count, _, height, width = ab.shape
    hints = empty_hints(count, height, width, ab.device)
    for index in range(count):
        if points is None:
            k = 0
            while k < max_points and torch.rand(1, generator=generator).item() >= p_stop:
                k += 1
        else:
            k = points
        for _ in range(k):
            y = int(torch.randint(height, (1,), generator=generator))
            x = int(torch.randint(width, (1,), generator=generator))
            patch = int(torch.randint(1, max_patch + 1, (1,), generator=generator))
            paint_point(hints[index], ab[index], y, x, patch)
    return hints


@dataclass(frozen=True)
class SimulatedPoint:
    """One simulated user point: the square patch ``[top, bottom) × [left, right)`` of the
    image and the mean true a*b* (Lab units) over it."""

    top: int
    left: int
    bottom: int
    right: int
    ab: tuple[float, float]

    @property
    def centre(self) -> tuple[float, float]:
        """(y, x) of the patch's centre, in pixels."""
        return (self.top + self.bottom - 1) / 2.0, (self.left + self.right - 1) / 2.0


def simulate_points(
    ab: torch.Tensor, generator: torch.Generator, points: int, max_patch: int = 9
) -> tuple[list[SimulatedPoint], torch.Tensor]:
    """Exactly ``points`` points on one image's true a*b* (2×H×W, Lab units): the points and
    their hint channels (3×H×W), drawn as :func:`simulate_hints` draws them (the same
    generator state gives the same channels), so that a baseline can be given the very
    points the network sees (``cfx eval colorizer --hints N``)."""
    _, height, width = ab.shape
    hints = empty_hints(1, height, width, ab.device)[0]
    drawn = []
    for _ in range(points):
        y = int(torch.randint(height, (1,), generator=generator))
        x = int(torch.randint(width, (1,), generator=generator))
        patch = int(torch.randint(1, max_patch + 1, (1,), generator=generator))
        paint_point(hints, ab, y, x, patch)
        top, left = max(0, y - patch // 2), max(0, x - patch // 2)
        bottom, right = min(height, top + patch), min(width, left + patch)
        mean = ab[:, top:bottom, left:right].float().mean(dim=(1, 2))
        drawn.append(SimulatedPoint(top, left, bottom, right, (float(mean[0]), float(mean[1]))))
    return drawn, hints
