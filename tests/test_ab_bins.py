"""Tests for cfx.ab_bins: gamut bins, soft encoding, class rebalancing, annealed mean."""

from __future__ import annotations

import math

import pytest
import torch

from cfx.ab_bins import (
    annealed_mean,
    bins_from_images,
    encode_soft,
    estimate_prior,
    gamut_bins,
    nearest_bin,
    rebalance_weights,
    smooth_prior,
)
from cfx.color import rgb_to_lab


def _ab(rgb: torch.Tensor) -> torch.Tensor:
    return rgb_to_lab(rgb)[:, 1:]


def test_gamut_bins_cover_the_srgb_gamut() -> None:
    centers = gamut_bins()
    # 262 bins of size 10 (the paper's 313 used a looser criterion over the same box).
    assert centers.shape == (262, 2)
    assert 250 <= len(centers) <= 330
    assert torch.equal(centers, gamut_bins())  # deterministic
    assert torch.equal(centers, torch.unique(centers, dim=0))  # sorted, no duplicates
    assert torch.equal(centers, torch.round(centers / 10) * 10)  # multiples of 10
    assert centers[:, 0].min() == -90 and centers[:, 0].max() == 100
    assert centers[:, 1].min() == -110 and centers[:, 1].max() == 90
    assert (centers == 0).all(dim=1).any()  # gray
    # Every sRGB colour (random ones and the primaries) lies in a kept bin's cell.
    rgb = torch.cat(
        (torch.rand(3, 1, 4000, generator=torch.Generator().manual_seed(0)), torch.eye(3)[:, None, :]), dim=2
    )
    ab = _ab(rgb[None])
    nearest = centers[nearest_bin(ab, centers).reshape(-1)]
    assert ((ab[0, :, 0].T - nearest).abs() <= 5.0 + 1e-4).all()


def test_the_default_gamut_table_is_what_sampling_the_gamut_gives() -> None:
    from cfx.ab_bins import _gamut_bins_cached

    assert torch.equal(gamut_bins(), _gamut_bins_cached(10.0, 64, 16384))


def test_bins_from_images_are_the_occupied_gamut_bins() -> None:
    rgb = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    centers = bins_from_images([_ab(rgb[:1]), _ab(rgb[1:])])
    gamut = {tuple(c) for c in gamut_bins().tolist()}
    assert {tuple(c) for c in centers.tolist()} <= gamut
    assert torch.equal(centers, bins_from_images(_ab(rgb)))  # a list or one tensor
    flat = torch.zeros(1, 2, 4, 4)
    flat[:, 0], flat[:, 1] = 23.0, -41.0  # a single colour: a single bin (20, -40)
    assert bins_from_images(flat).tolist() == [[20.0, -40.0]]


def test_soft_encoding_sums_to_one_and_peaks_at_true_bin() -> None:
    centers = gamut_bins()
    ab = _ab(torch.rand(2, 3, 5, 7, generator=torch.Generator().manual_seed(2)))
    encoded = encode_soft(ab, centers)
    assert encoded.shape == (2, len(centers), 5, 7)
    assert torch.allclose(encoded.sum(dim=1), torch.ones(2, 5, 7), atol=1e-5)
    assert ((encoded > 0).sum(dim=1) == 5).all()  # 5 nearest neighbours
    assert torch.equal(encoded.argmax(dim=1), nearest_bin(ab, centers))
    # A pixel on a bin centre: Gaussian weights (σ = 5) on it and its 4 grid neighbours at 10.
    on_centre = torch.tensor([30.0, -20.0]).view(1, 2, 1, 1)
    row = encode_soft(on_centre, centers)[0, :, 0, 0]
    centre_index = nearest_bin(on_centre, centers).item()
    neighbour = math.exp(-(10.0**2) / (2 * 5.0**2))
    assert row[centre_index] == pytest.approx(1.0 / (1.0 + 4 * neighbour), rel=1e-5)
    assert sorted(row[row > 0].tolist())[0] == pytest.approx(neighbour / (1.0 + 4 * neighbour), rel=1e-5)


def test_estimate_prior_counts_nearest_bins() -> None:
    centers = gamut_bins()
    ab = torch.zeros(1, 2, 3, 4)
    ab[0, 0, 0] = 52.0  # one row of (50, 0)
    counts = estimate_prior(ab, centers)
    assert counts.sum() == 12
    zero = nearest_bin(torch.zeros(1, 2, 1, 1), centers).item()
    fifty = nearest_bin(torch.tensor([50.0, 0.0]).view(1, 2, 1, 1), centers).item()
    assert counts[zero] == 8 and counts[fifty] == 4


def test_rebalance_uniform_prior_gives_ones() -> None:
    centers = gamut_bins()
    uniform = torch.ones(len(centers))
    assert torch.allclose(smooth_prior(uniform, centers), uniform / len(centers))
    assert torch.allclose(rebalance_weights(uniform, centers), torch.ones(len(centers)), atol=1e-5)


def test_rebalance_favours_rare_bins_with_unit_expectation() -> None:
    centers = gamut_bins()
    # A desaturated prior, as in natural images: mass falls with the chroma.
    prior = torch.exp(-centers.norm(dim=1) / 15.0)
    weights = rebalance_weights(prior, centers, lam=0.5, sigma=5.0)
    smoothed = smooth_prior(prior, centers, sigma=5.0)
    assert (smoothed * weights).sum() == pytest.approx(1.0, abs=1e-5)  # E_p̃[w] = 1
    gray = nearest_bin(torch.zeros(1, 2, 1, 1), centers).item()
    assert weights[gray] == weights.min() and weights[gray] < 1.0
    assert weights.max() > 1.0
    # Inversely related to the smoothed prior: a rarer bin never weighs less.
    order = smoothed.argsort()
    assert (weights[order].diff() <= 1e-5).all()
    # λ = 1 is the uniform distribution: no rebalancing.
    assert torch.allclose(rebalance_weights(prior, centers, lam=1.0), torch.ones(len(centers)), atol=1e-5)


def test_annealed_mean_interpolates_mode_and_mean() -> None:
    centers = torch.tensor([[0.0, 0.0], [40.0, 10.0], [-20.0, 60.0]])
    probabilities = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    logits = probabilities.log().view(2, 3, 1, 1) + 7.0  # any per-pixel shift
    mode = annealed_mean(logits, centers, temperature=1e-3)
    assert torch.allclose(mode[:, :, 0, 0], centers[probabilities.argmax(dim=1)], atol=1e-3)
    mean = annealed_mean(logits, centers, temperature=1.0)
    assert torch.allclose(mean[:, :, 0, 0], probabilities @ centers, atol=1e-4)
    # The paper's T = 0.38 lies between: closer to the mode than the mean is.
    between = annealed_mean(logits, centers, temperature=0.38)[:, :, 0, 0]
    mode, mean = mode[:, :, 0, 0], mean[:, :, 0, 0]
    assert ((between - mode).norm(dim=1) < (mean - mode).norm(dim=1)).all()
    with pytest.raises(ValueError, match="temperature"):
        annealed_mean(logits, centers, temperature=0.0)
