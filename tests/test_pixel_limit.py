"""cfx's own pixel limit (cfx.limits.MAX_PIXELS, --max-pixels) decides, before Pillow's decompression-bomb limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from cfx.imageio import ImageError, load_image
from cfx.limits import MAX_PIXELS
from tests.conftest import smooth_image

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    """A 64x48 gray "scan": 3072 pixels."""
    path = tmp_path / "scan.png"
    Image.fromarray(smooth_image(48, 64, 0)).convert("L").save(path)
    return path


def test_the_limit_is_200_megapixels_and_the_error_says_how_to_raise_it(scan: Path) -> None:
    assert MAX_PIXELS == 200_000_000
    with pytest.raises(ImageError, match="64x48 = 3072 pixels exceeds the limit of 3000 .*--max-pixels"):
        load_image(scan, max_pixels=3000)
    assert load_image(scan, max_pixels=3072).size == (64, 48)


def test_cfx_limit_applies_before_pillows(scan: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow alone would refuse at 2000 pixels
    assert load_image(scan, max_pixels=5000).size == (64, 48)
    assert Image.MAX_IMAGE_PIXELS == 5000  # raised to cfx's, never lowered
    load_image(scan, max_pixels=4000)
    assert Image.MAX_IMAGE_PIXELS == 5000


@pytest.mark.parametrize("command", ["colorize", "detect", "transfer"])
def test_max_pixels_option(
    command: str, scan: Path, tmp_path: Path, tiny_weights: Path, detector_weights: Path
) -> None:
    style = tmp_path / "style.png"
    Image.fromarray(smooth_image(16, 16, 1)).save(style)
    extra = {
        "colorize": ["-o", tmp_path / "out", "--weights", tiny_weights],
        "detect": ["--weights", detector_weights],
        "transfer": ["-o", tmp_path / "out", "--style", style, "--method", "reinhard"],
    }[command]
    refused = invoke(command, scan, *extra, "--json", "--quiet", "--max-pixels", 3000)
    assert refused.exit_code == 1
    [record] = [json.loads(line) for line in refused.stdout.splitlines()]
    assert "exceeds the limit of 3000" in record["error"]
    raised = invoke(command, scan, *extra, "--json", "--quiet", "--max-pixels", 3072)
    assert raised.exit_code == 0, raised.stdout + raised.stderr


def test_a_style_over_the_limit_is_a_usage_error(scan: Path, tmp_path: Path) -> None:
    args = ("transfer", scan, "-o", tmp_path / "out", "--style", scan, "--method", "reinhard", "--max-pixels", 3000)
    result = invoke(*args)
    assert result.exit_code == 2 and "exceeds the limit of 3000" in result.stderr
