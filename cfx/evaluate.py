"""`cfx eval colorizer`: score colorizers on colour photos against the grayscale baseline.

Each ground-truth photo is reduced to its lightness, colorized through the same path as
`cfx colorize` (render size, full-resolution merge) and compared with the truth: PSNR
and SSIM on sRGB, AuC of the cumulative per-pixel a*b* error curve over thresholds
0–150 (Zhang et al., as in seed 004's evaluation), and Hasler–Süsstrunk colourfulness as
a ratio to the truth's. The grayscale baseline (the true L*, a*b* = 0) is always a row.

With a detector (:class:`cfx.detect.Detector`), every image as the detector sees it (the
colorization as `cfx colorize` writes it — JPEG q95 for JPEG inputs —, the grayscale baseline, and the ground truth,
which then gets rows of its own named ``ground truth`` with no PSNR/SSIM/AuC) gets
``detector_score`` (P(colorized)) and ``judged_natural`` (score < the detector's
threshold); each summary entry gets ``fool_rate``, the share judged natural.

    python -m cfx.evaluate /work/corpus/val [--model NAME | --weights FILE]

prints the summary of one colorizer as one JSON object (the CLI gives the full report).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np
import torch

from cfx.color import lab_to_rgb, rgb_to_lab
from cfx.colorize import Colorizer, load_colorizer
from cfx.imageio import IMAGE_SUFFIXES, is_jpeg, jpeg_roundtrip, load_image
from cfx.metrics import ab_error_auc, colourfulness, psnr, ssim

REPORT_SCHEMA = "cfx.eval-colorizer/1"
GRAY = "grayscale"
GROUND_TRUTH = "ground truth"  # rows only with a detector (its fool rate is 1 − the natural miss rate)
SSIM_MIN_SIDE = 11  # the SSIM window

if TYPE_CHECKING:
    from cfx.detect import Detector

OnResult = Callable[[Path, str, np.ndarray], None]  # (photo, model name, H×W×3 sRGB in [0, 1])


def _metrics(predicted: torch.Tensor, truth: torch.Tensor, lab_truth: torch.Tensor) -> dict[str, float | None]:
    lab_predicted = rgb_to_lab(predicted)
    small = min(truth.shape[-2:]) < SSIM_MIN_SIDE
    return {
        "psnr": float(psnr(predicted, truth)),
        "ssim": None if small else float(ssim(predicted, truth)),
        "auc": float(ab_error_auc(lab_predicted[:, 1:], lab_truth[:, 1:])),
        "colourfulness": float(colourfulness(predicted)),
    }


def as_written_jpeg(rgb: np.ndarray, quality: int = 95) -> np.ndarray:
    """``rgb`` (H×W×3 in [0, 1]) after a JPEG round trip at ``quality``, as cfx writes JPEG outputs."""
    return jpeg_roundtrip(rgb, quality).astype(np.float32) / 255.0


def score_image(
    colorizers: Sequence[Colorizer],
    path: Path,
    detector: Detector | None = None,
    on_result: OnResult | None = None,
) -> dict[str, dict[str, Any]]:
    """Metrics of one photo per model name, the grayscale baseline included.

    With ``detector``: ``detector_score`` and ``judged_natural`` on each, and a
    ``ground truth`` entry (the photo itself; no PSNR/SSIM/AuC). ``on_result(path,
    name, rgb)`` gets every image compared (H×W×3 float sRGB in [0, 1]): the
    baseline, each colorization, then the ground truth.
    """
    image = load_image(path)
    truth = torch.from_numpy(image.rgb).permute(2, 0, 1)[None]
    lab_truth = rgb_to_lab(truth)
    judged: dict[str, float] = {}

    def seen(name: str, rgb: np.ndarray) -> None:  # each image right away: no full-size copies kept
        if detector is not None:  # as `cfx colorize` would write it: JPEG inputs give JPEG (q95) outputs
            written = as_written_jpeg(rgb) if name != GROUND_TRUTH and is_jpeg(path) else rgb
            judged[name] = float(detector.score_array(written))
        if on_result is not None:
            on_result(path, name, rgb)

    gray = lab_to_rgb(torch.cat((lab_truth[:, :1], torch.zeros_like(lab_truth[:, 1:])), 1))
    scores: dict[str, dict[str, Any]] = {GRAY: _metrics(gray, truth, lab_truth)}
    seen(GRAY, gray[0].permute(1, 2, 0).numpy())
    for colorizer in colorizers:
        rgb = colorizer.colorize_array(image)
        scores[colorizer.name] = _metrics(torch.from_numpy(rgb).permute(2, 0, 1)[None], truth, lab_truth)
        seen(colorizer.name, rgb)
    truth_colourfulness = float(colourfulness(truth))
    if detector is not None:
        scores[GROUND_TRUTH] = {"psnr": None, "ssim": None, "auc": None, "colourfulness": truth_colourfulness}
    seen(GROUND_TRUTH, image.rgb)
    for name, values in scores.items():
        values["true_colourfulness"] = truth_colourfulness
        if detector is not None:
            values["detector_score"] = judged[name]
            values["judged_natural"] = judged[name] < detector.threshold
    return scores


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-model means; the colourfulness ratio is of the means."""
    summary = []
    for name in dict.fromkeys(row["model"] for row in rows):
        mine = [row for row in rows if row["model"] == name]
        entry: dict[str, Any] = {"model": name, "images": len(mine)}
        for key in ("psnr", "ssim", "auc", "colourfulness", "true_colourfulness"):
            entry[key] = _mean([row[key] for row in mine])
        entry["colourfulness_ratio"] = entry["colourfulness"] / max(entry["true_colourfulness"], 1e-9)
        if all("judged_natural" in row for row in mine):
            entry["detector_score"] = _mean([row["detector_score"] for row in mine])
            entry["fool_rate"] = sum(bool(row["judged_natural"]) for row in mine) / len(mine)
        summary.append(entry)
    return summary


def evaluate_colorizers(
    colorizers: Sequence[Colorizer],
    paths: Iterable[Path],
    on_image: Callable[[Path], None] | None = None,
    detector: Detector | None = None,
    on_result: OnResult | None = None,
) -> dict[str, Any]:
    """The whole report: per-model summary (grayscale first) and one row per image and model.

    ``detector`` adds the fool rate (see the module docstring) and a ``detector`` entry;
    ``on_result`` sees every compared image (see :func:`score_image`; e.g. thumbnails).
    """
    rows: list[dict[str, Any]] = []
    for path in paths:
        for model, values in score_image(colorizers, path, detector, on_result).items():
            rows.append({"path": str(path), "model": model, **values})
        if on_image:
            on_image(path)
    if not rows:
        raise ValueError("no images to evaluate")
    weights = {c.name: c.card.get("sha256") for c in colorizers}
    summary = [{**entry, "weights_sha256": weights.get(entry["model"])} for entry in summarize(rows)]
    report: dict[str, Any] = {"schema": REPORT_SCHEMA, "summary": summary, "rows": rows}
    if detector is not None:
        report["detector"] = {"model": detector.name, "weights_sha256": detector.card.get("sha256"), "threshold": detector.threshold}
    return report


def evaluate(colorizer: Colorizer, paths: Iterable[Path]) -> dict[str, Any]:
    """One colorizer's means with the baseline's beside them (``gray_psnr`` …)."""
    report = evaluate_colorizers([colorizer], paths)
    gray, ours = report["summary"]
    return {**{k: v for k, v in ours.items() if k != "model"}, **{f"gray_{k}": gray[k] for k in ("psnr", "ssim", "auc")}}


def image_paths(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cfx.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="folder of colour photos (walked recursively)")
    parser.add_argument("--model")
    parser.add_argument("--weights")
    parser.add_argument("--render-size", type=int)
    args = parser.parse_args(argv)
    colorizer = load_colorizer(args.model, args.weights, render_size=args.render_size)
    summary = evaluate(colorizer, image_paths(args.data))
    summary = {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}
    print(json.dumps({"model": colorizer.name, "render_size": colorizer.render_size, **summary}))


if __name__ == "__main__":
    main()
