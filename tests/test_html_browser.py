"""The `cfx eval ... --html` reports as a browser draws them: headless Chromium renders each
page to a PNG, and the pixels show a page that is not blank, a drawn ROC curve and a drawn
contact sheet. `.ci/run` installs Debian's `chromium` when it is missing; elsewhere the test
is skipped, saying so."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from tests.conftest import eval_detector_html

runner = CliRunner()
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TRUTH_COLOUR = (0, 200, 100)  # every ground-truth photo is this colour, found on the page by it
ROC_COLOUR = (0x1F, 0x77, 0xB4)  # the first curve's colour (cfx.html_report.PALETTE[0])


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium to render the HTML reports in: .ci/run installs it (apt-get install -y chromium, as root)")


def render(html: Path, png: Path, width: int = 1200, height: int = 1800) -> np.ndarray:
    """The page as headless Chromium draws it (a width×height viewport), as an RGB array."""
    profile = png.parent / f"{png.stem}-profile"
    profile.mkdir()
    command = [
        browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        f"--screenshot={png}",
        html.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and png.is_file(), done.stderr[-2000:]
    with Image.open(png) as shot:
        return np.asarray(shot.convert("RGB")).astype(np.int16)


def near(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int) -> np.ndarray:
    return np.abs(pixels - np.array(colour, np.int16)).max(axis=2) <= tolerance


def assert_not_blank(pixels: np.ndarray) -> None:
    ink = (pixels < 200).any(axis=2)  # text, lines, images: anything not near-white
    assert ink.mean() > 0.005, "the page is (nearly) blank"
    rows = np.flatnonzero(ink.any(axis=1))
    assert rows[-1] - rows[0] > 300, "only a sliver of the page is drawn"


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_colorizer_report_draws_its_contact_sheet(tmp_path: Path, tiny_weights: Path, detector_weights: Path) -> None:
    browser()
    truth = tmp_path / "truth"
    truth.mkdir()
    for i in range(3):
        Image.new("RGB", (128, 96), TRUTH_COLOUR).save(truth / f"{i}.png")
    report = tmp_path / "colorizer.html"
    result = invoke(
        "eval",
        "colorizer",
        "--data",
        truth,
        "--weights",
        tiny_weights,
        "--detector-weights",
        detector_weights,
        "--html",
        report,
        "--device",
        "cpu",
        "--quiet",
    )
    assert result.exit_code == 0, result.stderr
    pixels = render(report, tmp_path / "colorizer.png")
    assert_not_blank(pixels)
    # the contact sheet: three ground-truth thumbnails (128×96 each), drawn in their colour
    truth_pixels = near(pixels, TRUTH_COLOUR, 24)
    assert truth_pixels.sum() > 0.8 * 3 * 128 * 96, f"{truth_pixels.sum()} ground-truth pixels drawn"
    rows = np.flatnonzero(truth_pixels.any(axis=1))
    assert rows[-1] - rows[0] > 2 * 96, "the three photos are not on three rows"
    # the grayscale column beside them: gray thumbnails, as bright as the truth's lightness
    left = np.flatnonzero(truth_pixels.any(axis=0))[0]
    band = pixels[rows[0] : rows[0] + 90, : left - 10]
    gray = (np.ptp(band, axis=2) <= 6) & (band.mean(axis=2) > 60) & (band.mean(axis=2) < 200)
    assert gray.sum() > 0.5 * 128 * 90, "no grayscale thumbnail left of the ground truth"
    # the PSNR bar chart
    assert near(pixels, ROC_COLOUR, 12).sum() > 200, "the bar chart is not drawn"


def test_detector_report_draws_its_roc_curve(tmp_path: Path, detector_weights: Path) -> None:
    browser()
    result, report = eval_detector_html(tmp_path, detector_weights, 6)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["schema"] == "cfx.eval-detector/1"
    pixels = render(report, tmp_path / "detector.png")
    assert_not_blank(pixels)
    curve = near(pixels, ROC_COLOUR, 40)
    ys, xs = np.nonzero(curve)
    assert len(xs) > 150, f"only {len(xs)} pixels of the ROC curve's colour"
    # the curve runs from (0, 0) to (1, 1) of a plot a few hundred pixels wide: it spans it
    assert xs.max() - xs.min() > 150 and ys.max() - ys.min() > 150, "the ROC curve is not drawn across its plot"


def test_roc_legend_fits_in_its_plot() -> None:
    """A legend entry (a name cut to 16 characters and its AUC) ends inside the SVG, which
    the browser clips: at font-size 11 a character is at most about 7 px wide."""
    import re

    from cfx.html_report import roc_svg

    svg = roc_svg({"a-very-long-colorizer-name": ([0.0, 0.5, 1.0], [0.0, 0.9, 1.0])})
    width = float(re.search(r'<svg width="(\d+)"', svg).group(1))
    for x, text in re.findall(
        r'<text x="([\d.]+)" y="[\d.]+" font-size="11"(?: font-weight="bold")?>([^<]+)</text>', svg
    ):
        if float(x) > 300:  # right of the plot: the legend
            assert float(x) + 7 * len(text) <= width, f"{text!r} is cut off at {width:.0f} px"
