"""The joint-bilateral baseline of guided colour (beside Zhang, Zhu, Isola, Geng, Lin, Yu &
Efros 2017's hint network) and the simulated points it shares with the network."""

from __future__ import annotations

import doctest
import math

import pytest
import torch

import cfx.hint_baseline
from cfx.hint_baseline import EPSILON, SIGMA_LIGHTNESS, SIGMA_SPACE, ColourPoint, bilateral_ab, points_from_patches
from cfx.hint_simulation import SimulatedPoint, simulate_hints, simulate_points


def test_no_points_is_gray() -> None:
    ab = bilateral_ab(torch.rand(1, 6, 9) * 100, [])
    assert ab.shape == (2, 6, 9) and torch.equal(ab, torch.zeros(2, 6, 9))


def test_matches_the_formula_pixel_by_pixel() -> None:
    torch.manual_seed(0)
    light = torch.rand(7, 11) * 100
    points = [
        ColourPoint(1.0, 2.0, 40.0, (30.0, -5.0)),
        ColourPoint(5.5, 9.0, 70.0, (-20.0, 45.0)),
        ColourPoint(3, 3, 55, (0, 10)),
    ]
    ab = bilateral_ab(light[None], points)
    side = SIGMA_SPACE * 11
    for y, x in ((0, 0), (3, 7), (6, 10), (5, 9)):
        weights = [
            math.exp(-((y - p.y) ** 2 + (x - p.x) ** 2) / (2 * side**2))
            * math.exp(-((float(light[y, x]) - p.lightness) ** 2) / (2 * SIGMA_LIGHTNESS**2))
            for p in points
        ]
        for channel in (0, 1):
            expected = sum(w * p.ab[channel] for w, p in zip(weights, points)) / (sum(weights) + EPSILON)
            assert float(ab[channel, y, x]) == pytest.approx(expected, rel=1e-4, abs=1e-4)


def test_one_point_keeps_its_hue_and_fades_with_distance() -> None:
    ab = bilateral_ab(torch.full((40, 40), 50.0), [ColourPoint(0.0, 0.0, 50.0, (40.0, -20.0))])
    assert ab[:, 0, 0] == pytest.approx(torch.tensor([40.0, -20.0]) / (1 + EPSILON))
    assert torch.allclose(ab[1], -ab[0] / 2, atol=1e-5)  # the same hue everywhere
    assert ab[0, 39, 39] < ab[0, 20, 20] < ab[0, 0, 0]


def test_colour_stays_on_its_side_of_an_edge() -> None:
    light = torch.full((20, 40), 30.0)
    light[:, 20:] = 70.0  # an edge of 40 L* units
    ab = bilateral_ab(light, [ColourPoint(10.0, 15.0, 30.0, (50.0, 30.0))])
    left, right = ab[:, :, 19].norm(dim=0).min(), ab[:, :, 20].norm(dim=0).max()
    assert left > 0.9 * math.hypot(50, 30) and right < 0.05 * left


def test_two_points_meet_halfway() -> None:
    points = [ColourPoint(5.0, 0.0, 50.0, (40.0, 0.0)), ColourPoint(5.0, 20.0, 50.0, (-40.0, 20.0))]
    ab = bilateral_ab(torch.full((11, 21), 50.0), points)
    assert abs(float(ab[0, 5, 10])) < 1e-4 and 9.5 < float(ab[1, 5, 10]) < 10.0  # the mean, a little shrunk
    assert ab[0, 5, 0] > 15 and ab[0, 5, 20] < -15


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="positive"):
        bilateral_ab(torch.zeros(3, 3), [], sigma_space=0)


def test_simulated_points_are_simulate_hints_points() -> None:
    torch.manual_seed(1)
    ab = torch.rand(2, 30, 50) * 100 - 50
    points, channels = simulate_points(ab, torch.Generator().manual_seed(7), 6, max_patch=9)
    same = simulate_hints(ab[None], torch.Generator().manual_seed(7), points=6, max_patch=9)[0]
    assert len(points) == 6 and torch.equal(channels, same)
    for point in points:
        assert 1 <= point.bottom - point.top <= 9 and 1 <= point.right - point.left <= 9
        patch = ab[:, point.top : point.bottom, point.left : point.right]
        assert point.ab == pytest.approx(patch.mean(dim=(1, 2)).tolist(), abs=1e-4)
    assert simulate_points(ab, torch.Generator().manual_seed(7), 0)[1].abs().sum() == 0


def test_points_from_patches_use_centre_and_mean_lightness() -> None:
    light = torch.arange(30.0).view(5, 6)
    (point,) = points_from_patches(light, [SimulatedPoint(1, 2, 4, 5, (3.0, 4.0))])
    assert (point.y, point.x, point.ab) == (2.0, 3.0, (3.0, 4.0))
    assert point.lightness == pytest.approx(float(light[1:4, 2:5].mean()))


def test_docstring_example_runs() -> None:
    assert doctest.testmod(cfx.hint_baseline).failed == 0
