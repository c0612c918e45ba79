"""Fool rate of `cfx eval colorizer --detector` and the self-contained `--html` reports."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from tests.conftest import eval_detector_html, smooth_image

runner = CliRunner()
VOID = {"meta", "img", "br", "hr", "input", "link", "col", "area", "base", "wbr", "source", "track", "embed", "param"}
SVG_VOID = {"line", "rect", "polyline", "path", "circle"}  # written self-closing (<x/>)


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


class Page(HTMLParser):
    """Collects tags and checks that every opened element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.imgs: list[dict[str, str | None]] = []
        self.polylines: list[dict[str, str | None]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "img":
            self.imgs.append(dict(attrs))
        if tag == "polyline":
            self.polylines.append(dict(attrs))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "polyline":
            self.polylines.append(dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    assert not page.errors, page.errors[:5]
    assert not page.stack, f"unclosed: {page.stack}"
    assert text.startswith("<!DOCTYPE html>")
    for bad in ('src="http', "src='http", 'href="http', "url(http", "<script", "<link"):
        assert bad not in text  # self-contained
    return page


@pytest.fixture(scope="module")
def truth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("truth")
    for i in range(3):
        Image.fromarray(smooth_image(24 + 4 * i, 32, i)).save(root / f"{i}.png")
    return root


def test_fool_rate_matches_independent_scoring(truth_dir: Path, tiny_weights: Path, detector_weights: Path) -> None:
    from cfx.color import lab_to_rgb, rgb_to_lab
    from cfx.colorize import load_colorizer
    from cfx.detect import load_detector
    from cfx.evaluate import GROUND_TRUTH, evaluate_colorizers, image_paths
    from cfx.html_report import Thumbnails
    from cfx.imageio import load_image

    colorizer = load_colorizer(None, tiny_weights, device="cpu")
    detector = load_detector(None, detector_weights, device="cpu")
    paths = image_paths(truth_dir)

    expected: dict[str, list[float]] = {"grayscale": [], "iizuka.tiny": [], GROUND_TRUTH: []}
    for path in paths:
        image = load_image(path)
        lab = rgb_to_lab(torch.from_numpy(image.rgb).permute(2, 0, 1)[None])
        gray = lab_to_rgb(torch.cat((lab[:, :1], torch.zeros_like(lab[:, 1:])), 1))[0].permute(1, 2, 0).numpy()
        expected["grayscale"].append(detector.score_array(np.ascontiguousarray(gray)))
        expected["iizuka.tiny"].append(detector.score_array(colorizer.colorize_array(image)))
        expected[GROUND_TRUTH].append(detector.score_array(image.rgb))
    # a threshold between the scores (the untrained detector's are all near 0.45), away from any one score
    everything = np.sort(np.concatenate([np.array(v) for v in expected.values()]))
    middle = len(everything) // 2
    detector.threshold = float((everything[middle - 1] + everything[middle]) / 2)
    assert everything[middle] - everything[middle - 1] > 1e-4

    thumbs = Thumbnails(limit=2)
    report = evaluate_colorizers([colorizer], paths, detector=detector, on_result=thumbs)
    threshold = detector.threshold

    assert report["detector"] == {
        "model": "decnet.tiny",
        "weights_sha256": detector.card["sha256"],
        "threshold": threshold,
    }
    assert [s["model"] for s in report["summary"]] == ["grayscale", "iizuka.tiny", GROUND_TRUTH]
    assert len(report["rows"]) == 9
    for entry in report["summary"]:
        scores = expected[entry["model"]]
        rows = [r for r in report["rows"] if r["model"] == entry["model"]]
        assert [r["detector_score"] for r in rows] == pytest.approx(scores, abs=1e-5)
        assert [r["judged_natural"] for r in rows] == [s < threshold for s in scores]
        assert entry["fool_rate"] == pytest.approx(sum(s < threshold for s in scores) / len(scores))
        assert entry["detector_score"] == pytest.approx(sum(scores) / len(scores), abs=1e-5)
    assert 0 < sum(r["judged_natural"] for r in report["rows"]) < len(report["rows"])  # both verdicts occur
    truth = [r for r in report["rows"] if r["model"] == GROUND_TRUTH]
    assert all(r["psnr"] is None and r["colourfulness"] == r["true_colourfulness"] for r in truth)
    json.dumps(report, allow_nan=False)  # still strict JSON

    # the thumbnail hook kept only the first two photos, each with every column
    assert list(thumbs.images) == [str(p) for p in paths[:2]]
    assert all(set(cols) == {"grayscale", "iizuka.tiny", GROUND_TRUTH} for cols in thumbs.images.values())

    # without a detector nothing changes
    plain = evaluate_colorizers([colorizer], paths)
    assert "detector" not in plain and len(plain["rows"]) == 6
    assert all("fool_rate" not in s for s in plain["summary"])
    assert all("detector_score" not in r for r in plain["rows"])


def test_colorizer_html_contact_sheet(tmp_path: Path) -> None:
    from cfx.html_report import Thumbnails, colorizer_html, write_html

    thumbs = Thumbnails(limit=2)
    rows = []
    for i in range(3):
        path = f"photos/<{i}>.png"
        for model in ("grayscale", "m1", "m2", "ground truth"):
            thumbs(path, model, np.random.default_rng(i).random((300, 200, 3)))
            if model != "ground truth":
                rows.append({"path": path, "model": model, "psnr": 20.0 + i})
    summary = [
        {"model": m, "images": 3, "psnr": 20.0, "ssim": None, "auc": 0.9, "colourfulness_ratio": 0.5}
        for m in ("grayscale", "m1", "m2")
    ]
    text = colorizer_html(
        {"schema": "cfx.eval-colorizer/1", "data": "photos", "summary": summary, "rows": rows}, thumbs.images
    )
    write_html(tmp_path / "sheet.html", text)
    assert (tmp_path / "sheet.html").read_text(encoding="utf-8") == text
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.html"]  # no temp file left behind
    page = parse(text)
    assert "svg" in page.tags
    assert len(page.imgs) == 2 * 4  # 2 photos × (gray, m1, m2, ground truth)
    assert all(str(img["src"]).startswith("data:image/jpeg;base64,") for img in page.imgs)
    assert "The first 2 of 3 photos" in text
    assert "&lt;0&gt;" in text and "<0>" not in text  # escaped
    # thumbnails are small JPEGs
    import base64
    import io

    data = base64.b64decode(str(page.imgs[0]["src"]).split(",", 1)[1])
    assert max(Image.open(io.BytesIO(data)).size) <= 160


def test_roc_polyline_has_the_roc_points(tmp_path: Path) -> None:
    from cfx.detection_metrics import roc_auc, roc_curve
    from cfx.html_report import detector_html

    natural = [0.1, 0.4, 0.35, 0.8]
    colorized = {"a": [0.9, 0.2, 0.7], "b": [0.5, 0.5, 0.95, 0.3, 0.6]}
    rows = [{"path": f"n{i}", "source": "natural", "label": 0, "scores": {"d@1": s}} for i, s in enumerate(natural)]
    for name, scores in colorized.items():
        rows += [{"path": f"{name}{i}", "source": name, "label": 1, "scores": {"d@1": s}} for i, s in enumerate(scores)]
    metrics = {
        "hter": 0.25,
        "natural_miss_rate": 0.25,
        "colorized_miss_rate": 0.25,
        "accuracy": 0.75,
        "roc_auc": 0.8,
        "eer": 0.3,
        "natural": 4,
        "colorized": 3,
    }
    report = {
        "schema": "cfx.eval-detector/1",
        "natural": "nat",
        "detectors": [
            {
                "id": "d@1",
                "model": "d",
                "threshold": 0.5,
                "mode": "resize",
                "trained_on": ["a"],
                "hardened": False,
                "overall": metrics,
                "per_colorizer": {"a": metrics, "b": metrics},
            }
        ],
        "rows": rows,
        "matrix": {
            "columns": ["a", "b"],
            "rows": [
                {
                    "detector": "d [a]",
                    "trained_on": ["a"],
                    "hter": {"a": 0.1, "b": 0.4},
                    "seen": {"a": True, "b": False},
                    "blind_mean_hter": 0.4,
                }
            ],
        },
    }
    text = detector_html(report)
    page = parse(text)
    assert "svg" in page.tags and not page.imgs
    for name, scores in colorized.items():  # the legend's area under the curve is the Mann–Whitney AUC
        assert f"{name} ({roc_auc(natural + scores, [0] * len(natural) + [1] * len(scores)):.3f})" in text
    assert [p["data-name"] for p in page.polylines] == ["a", "b"]
    for line in page.polylines:
        scores = colorized[str(line["data-name"])]
        fpr, tpr, _ = roc_curve(natural + scores, [0] * len(natural) + [1] * len(scores))
        points = str(line["points"]).split()
        assert len(points) == len(fpr)
        # first point at (0, 0): bottom-left corner of the plot; last at (1, 1): top-right
        (x0, y0), (x1, y1) = (map(float, points[0].split(",")), map(float, points[-1].split(",")))
        assert x0 < x1 and y0 > y1


def test_cli_eval_colorizer_html(truth_dir: Path, tmp_path: Path, tiny_weights: Path, detector_weights: Path) -> None:
    out = tmp_path / "report.html"
    result = invoke(
        "eval",
        "colorizer",
        "--data",
        truth_dir,
        "--weights",
        tiny_weights,
        "--detector-weights",
        detector_weights,
        "--html",
        out,
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["detector"]["model"] == "decnet.tiny"
    assert all("fool_rate" in s for s in report["summary"])
    assert "fooled" in result.stderr and f"wrote {out}" in result.stderr
    page = parse(out.read_text())
    assert len(page.imgs) == 3 * 3  # 3 photos × (gray, iizuka.tiny, ground truth)
    assert "svg" in page.tags


def test_cli_eval_detector_html(tmp_path: Path, detector_weights: Path) -> None:
    result, out = eval_detector_html(tmp_path, detector_weights, 3)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["schema"] == "cfx.eval-detector/1"
    assert result.stderr == ""  # --quiet: no "wrote"
    text = out.read_text()
    page = parse(text)
    assert len(page.polylines) == 1 and page.polylines[0]["data-name"] == "fake"
    assert re.search(r"<h2>decnet\.tiny", text)
