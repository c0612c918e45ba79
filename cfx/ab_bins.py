"""Quantised a*b* for classification colorizers (Zhang, Isola & Efros 2016, §2.1–2.2; Mu and Lee, n.d., §2.1).

The a*b* plane is cut into square cells of side ``bin_size`` (10) centred on multiples
of ``bin_size``; a bin is kept when some in-gamut colour falls in its cell. For the
whole sRGB gamut that gives K = 262 bins for size 10 (a* ∈ [-90, 100], b* ∈ [-110, 90],
the same box as the paper's 313; the paper's criterion was looser than "an sRGB colour
lies in the cell"). Around these bins:

- :func:`encode_soft`: the soft target of a pixel, Gaussian weights (σ = 5) on its 5
  nearest bin centres (§2.1);
- :func:`rebalance_weights`: class rebalancing (§2.2, Eq. 3–4): the empirical bin
  distribution smoothed with a Gaussian (σ = 5), mixed with the uniform one by λ = 0.5,
  inverted and normalised so that its expectation under the smoothed prior is 1;
- :func:`annealed_mean`: decoding (§2.3, Eq. 5): the mean of softmax(log p / T); T → 0
  gives the mode, T = 1 the mean, the paper uses T = 0.38.

Tensors of a*b* are (N, 2, H, W) in Lab units (or any (..., 2) with ``channel_dim=-1``);
bin centres are (K, 2), float32.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import torch
import torch.nn.functional as F

from cfx.color import rgb_to_lab

BIN_SIZE = 10.0
SOFT_SIGMA = 5.0
SOFT_NEIGHBOURS = 5
REBALANCE_LAMBDA = 0.5
ANNEALED_T = 0.38


def _full_precision(tensor: torch.Tensor) -> torch.autocast:
    """Autocast off: bin arithmetic stays in float32 inside a mixed-precision region."""
    return torch.autocast(device_type=tensor.device.type, enabled=False)


def _grid_cells(ab_pairs: torch.Tensor, bin_size: float) -> torch.Tensor:
    """Integer cell indices (P, 2) of a*b* pairs (P, 2): the nearest multiple of bin_size."""
    return torch.round(ab_pairs.double() / bin_size).long()


def _centres(cells: torch.Tensor, bin_size: float) -> torch.Tensor:
    """Sorted (by a*, then b*) unique cell centres, float32 (K, 2)."""
    unique = torch.unique(cells, dim=0)  # lexicographic order: deterministic
    return (unique.double() * bin_size).float()


def _pairs(ab: torch.Tensor) -> torch.Tensor:
    """(N, 2, H, W) or (2, H, W) → (P, 2)."""
    if ab.dim() < 3 or ab.shape[-3] != 2:
        raise ValueError(f"expected a*b* of shape (..., 2, H, W), got {tuple(ab.shape)}")
    return ab.movedim(-3, -1).reshape(-1, 2)


def bins_from_images(images: Iterable[torch.Tensor] | torch.Tensor, bin_size: float = BIN_SIZE) -> torch.Tensor:
    """Centres (K, 2) of the bins occupied by the a*b* of some images (each (..., 2, H, W))."""
    if isinstance(images, torch.Tensor):
        images = [images]
    cells = [torch.unique(_grid_cells(_pairs(ab.detach().cpu()), bin_size), dim=0) for ab in images]
    if not cells:
        raise ValueError("no a*b* given")
    return _centres(torch.cat(cells), bin_size)


def _rgb_cube_surface(face_steps: int, edge_steps: int) -> torch.Tensor:
    """Points on the faces (face_steps² each) and, denser, the 12 edges of the RGB cube: (3, P).

    The a*b* projection of the gamut solid equals that of its surface (the line of
    constant a*b* through an inner colour leaves the solid through the surface), and
    its outline comes mostly from the cube's edges, hence their denser sampling.
    """
    grid = torch.linspace(0.0, 1.0, face_steps, dtype=torch.float64)
    u, v = (t.reshape(-1) for t in torch.meshgrid(grid, grid, indexing="ij"))
    line = torch.linspace(0.0, 1.0, edge_steps, dtype=torch.float64)
    points = []
    for axis in range(3):
        for value in (0.0, 1.0):
            coords = [u, v]
            coords.insert(axis, torch.full_like(u, value))
            points.append(torch.stack(coords))
        for first in (0.0, 1.0):
            for second in (0.0, 1.0):
                coords = [torch.full_like(line, first), torch.full_like(line, second)]
                coords.insert(axis, line)
                points.append(torch.stack(coords))
    return torch.cat(points, dim=1)


@lru_cache(maxsize=8)
def _gamut_bins_cached(bin_size: float, face_steps: int, edge_steps: int) -> torch.Tensor:
    with torch.device("cpu"):  # real data even when a model is built on the meta device
        rgb = _rgb_cube_surface(face_steps, edge_steps)
        lab = rgb_to_lab(rgb[:, None, :])[:, 0, :]  # (3, P), float64
        return _centres(_grid_cells(lab[1:].T, bin_size), bin_size)


# gamut_bins() with its defaults, as computed by _gamut_bins_cached (tests/test_ab_bins.py
# checks that they agree): for each a* cell (a*/10), the first and last b* cell (b*/10) it
# holds. Building the default colorizers does not pay the 0.1 s of sampling the gamut.
_DEFAULT_GAMUT_COLUMNS = {
    -9: (8, 8), -8: (4, 8), -7: (2, 9), -6: (0, 9), -5: (-2, 9), -4: (-3, 9), -3: (-4, 9), -2: (-4, 9),
    -1: (-5, 9), 0: (-6, 9), 1: (-7, 8), 2: (-8, 8), 3: (-8, 8), 4: (-9, 8), 5: (-9, 7), 6: (-10, 7),
    7: (-11, 7), 8: (-11, 7), 9: (-9, 0), 10: (-7, -5),
}  # fmt: skip


def _default_gamut_bins() -> torch.Tensor:
    cells = [(a, b) for a, (first, last) in sorted(_DEFAULT_GAMUT_COLUMNS.items()) for b in range(first, last + 1)]
    return (torch.tensor(cells, dtype=torch.float64) * BIN_SIZE).float()


def gamut_bins(bin_size: float = BIN_SIZE, face_steps: int = 64, edge_steps: int = 16384) -> torch.Tensor:
    """Centres (K, 2) of the bins reached by any sRGB colour (at any L*); deterministic.

    K = 262 for bin size 10; denser sampling (1024² per face) finds no more bins.
    """
    if (float(bin_size), face_steps, edge_steps) == (BIN_SIZE, 64, 16384):
        return _default_gamut_bins()
    return _gamut_bins_cached(float(bin_size), face_steps, edge_steps).clone()


def nearest_bin(ab: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Index of the nearest bin centre of every pixel: (N, 2, H, W) → (N, H, W)."""
    pairs = _pairs(ab).float()
    with _full_precision(pairs):
        index = torch.cdist(pairs, centers.to(pairs)).argmin(dim=1)
    return index.reshape(*ab.shape[:-3], *ab.shape[-2:])


def encode_soft(
    ab: torch.Tensor, centers: torch.Tensor, sigma: float = SOFT_SIGMA, k: int = SOFT_NEIGHBOURS
) -> torch.Tensor:
    """Soft-encoded targets (N, K, H, W): Gaussian weights on the k nearest bins, rows sum to 1."""
    pairs = _pairs(ab).float()
    centers = centers.to(pairs)
    with _full_precision(pairs):
        distances, index = torch.cdist(pairs, centers).topk(min(k, len(centers)), dim=1, largest=False)
    weights = torch.softmax(-(distances**2) / (2.0 * sigma**2), dim=1)  # exp(-d²/2σ²), normalised
    encoded = torch.zeros(pairs.shape[0], len(centers), dtype=pairs.dtype, device=pairs.device)
    encoded.scatter_(1, index, weights)
    lead, spatial = ab.shape[:-3], ab.shape[-2:]
    return encoded.reshape(*lead, *spatial, len(centers)).movedim(-1, -3)


def estimate_prior(ab: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Pixel counts per bin (K,) of the nearest bins of ``ab`` (the empirical distribution, unnormalised)."""
    index = nearest_bin(ab, centers).reshape(-1)
    return torch.bincount(index, minlength=len(centers)).to(torch.float32)


def gaussian_kernel(centers: torch.Tensor, sigma: float) -> torch.Tensor:
    """(K, K) Gaussian weights exp(-‖c_i − c_j‖² / 2σ²) between bin centres."""
    centers = centers.float()
    return torch.exp(-(torch.cdist(centers, centers) ** 2) / (2.0 * sigma**2))


def smooth_prior(
    prior: torch.Tensor, centers: torch.Tensor, sigma: float = SOFT_SIGMA, kernel: torch.Tensor | None = None
) -> torch.Tensor:
    """The prior (any non-negative (K,), e.g. counts) smoothed over the bin centres, summing to 1.

    A normalised local average, p̃_i ∝ Σ_j G_ij p_j / Σ_j G_ij, so that a uniform prior stays
    uniform at the edge of the gamut (a plain convolution would drain the edge bins).
    """
    if kernel is None:
        kernel = gaussian_kernel(centers, sigma)
    kernel = kernel.to(prior.device, torch.float32)
    p = prior.float() / prior.float().sum().clamp(min=1e-12)
    with _full_precision(p):
        smoothed = (kernel @ p) / kernel.sum(dim=1)
    return smoothed / smoothed.sum()


def rebalance_weights(
    prior: torch.Tensor,
    centers: torch.Tensor,
    lam: float = REBALANCE_LAMBDA,
    sigma: float = SOFT_SIGMA,
    kernel: torch.Tensor | None = None,
) -> torch.Tensor:
    """Class-rebalancing weights w (K,): w ∝ ((1 − λ) p̃ + λ / K)⁻¹ with Σ_q p̃_q w_q = 1 (Eq. 4)."""
    smoothed = smooth_prior(prior, centers, sigma, kernel)
    weights = 1.0 / ((1.0 - lam) * smoothed + lam / len(smoothed))
    return weights / (smoothed * weights).sum()


def annealed_mean(
    logits: torch.Tensor, centers: torch.Tensor, temperature: float = ANNEALED_T, dim: int = 1
) -> torch.Tensor:
    """a*b* from per-bin logits (or log-probabilities) along ``dim``: E[softmax(log p / T)] over the centres.

    log p differs from the logits by a constant per pixel, so softmax(logits / T) is the
    paper's f_T(p). (N, K, H, W) → (N, 2, H, W). T must be > 0 (T → 0 is the mode).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    with _full_precision(logits):
        probabilities = F.softmax(logits.float() / temperature, dim=dim)
        moved = probabilities.movedim(dim, -1)  # (..., K)
        ab = moved @ centers.to(moved)  # (..., 2)
    return ab.movedim(-1, dim)
