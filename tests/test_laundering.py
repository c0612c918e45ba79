"""Laundered views for the cached detector trainer (`cfx train detector --launder`): copies
of a colorized photo found online are smaller and compressed again, sometimes twice."""

from __future__ import annotations

from pathlib import Path

import torch
from typer.testing import CliRunner

from cfx.cli.main import app
from cfx.train.cached_detector import LAUNDERED, PLAIN, augment
from cfx.train.common import seeded
from cfx.train.recipes import CachedDetectorRecipe


def _image() -> torch.Tensor:
    y, x = torch.meshgrid(torch.arange(200), torch.arange(240), indexing="ij")
    return torch.stack([(x % 256), (y % 256), ((x + y) % 256)]).to(torch.uint8)


def test_laundered_views_are_smaller_and_sometimes_compressed_twice(monkeypatch) -> None:
    import cfx.train.cached_detector as cached

    image = _image()
    plain = [augment(image, seeded(0, k), PLAIN) for k in range(40)]
    laundered = [augment(image, seeded(0, k), LAUNDERED) for k in range(40)]
    # same crop draws, a wider scale range: a laundered view is never larger, often much smaller
    assert all(b.shape[1] <= a.shape[1] and b.shape[2] <= a.shape[2] for a, b in zip(plain, laundered))
    assert min(v.shape[1] for v in laundered) < 0.5 * 0.6 * 200 < min(v.shape[1] for v in plain) + 1
    qualities: list[int] = []
    monkeypatch.setattr(cached, "jpeg", lambda crop, quality: qualities.append(quality) or crop)
    rounds = []
    for k in range(200):
        before = len(qualities)
        augment(image, seeded(1, k), LAUNDERED)
        rounds.append(len(qualities) - before)
    assert set(rounds) == {0, 1, 2} and 0.1 < rounds.count(2) / 200 < 0.4  # 3/4 × 1/3 = 1/4 twice
    assert min(qualities) >= 40 and max(qualities) <= 95
    assert LAUNDERED.describe(CachedDetectorRecipe(launder=True))["jpeg_twice"] == LAUNDERED.twice
    assert "jpeg_twice" not in PLAIN.describe(CachedDetectorRecipe())
    assert LAUNDERED.tag != PLAIN.tag  # laundered features are cached apart


def test_launder_without_the_cached_trainer_is_refused(tmp_path: Path) -> None:
    natural = tmp_path / "nat"
    natural.mkdir()
    result = CliRunner().invoke(
        app,
        [
            "train",
            "detector",
            "--natural",
            str(natural),
            "--colorizers",
            "iizuka.tiny",
            "--launder",
            "-o",
            str(tmp_path / "d.safetensors"),
        ],
    )
    assert result.exit_code == 2 and "--launder" in result.output
