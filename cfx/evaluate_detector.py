"""`cfx eval detector`: HTER, miss rates, accuracy, ROC AUC and EER per colorizer (seed 000 §IV).

Natural photos and colorized ones (folders, or made on the fly from the natural photos
by registry colorizers, JPEG-encoded like `cfx colorize` output) are scored by each
detector through the same path as `cfx detect`. Every metric is computed per colorizer
against the whole natural set (HTER = mean of the natural and the colorized miss
rates at the detector's threshold) and over everything.

The blind-generalization matrix of seed 000 (Tables III–V: train on X, test on Y)
is the per-colorizer HTER of detectors each trained on some colorizers, with the
colorizers a detector saw at training time (its card) marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from cfx.detect import Detector
from cfx.detection_metrics import by_source
from cfx.evaluate import image_paths
from cfx.imageio import load_image

REPORT_SCHEMA = "cfx.eval-detector/1"
NATURAL = "natural"


def trained_on(card: dict[str, Any]) -> list[str]:
    """Colorizers whose images a detector was trained (or hardened) on, from its card."""
    training = card.get("training", {})
    names = list(training.get("colorizers", {})) + list(training.get("colorized_dirs", {}))
    return list(dict.fromkeys(names))


def detector_id(detector: Detector) -> str:
    """A key unique per weights file: ``name@sha256[:8]`` (two trainings of one preset differ)."""
    return f"{detector.name}@{str(detector.card.get('sha256') or '')[:8]}"


def score_sets(
    detectors: Sequence[Detector],
    natural: Sequence[Path],
    colorized: dict[str, Sequence[Path]],
    colorizers: Sequence[Any] = (),
    on_image: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per image: path, source (``natural`` or the colorizer), scores per detector."""
    from cfx.train.detector import colorized_copy

    rows: list[dict[str, Any]] = []

    def add(path: Path, source: str, rgb: np.ndarray) -> None:
        prepared = {detector_id(d): d.predict([d.prepare_array(rgb, path)])[0] for d in detectors}
        rows.append({"path": str(path), "source": source, "label": 0 if source == NATURAL else 1, "scores": prepared})
        if on_image:
            on_image()

    for path in natural:
        image = load_image(path)
        add(path, NATURAL, image.rgb)
        for colorizer in colorizers:
            ci = colorized_copy(colorizer, image.rgb, path).permute(1, 2, 0).numpy().astype(np.float32) / 255.0
            add(path, colorizer.name, ci)
    for name, paths in colorized.items():
        for path in paths:
            add(path, name, load_image(path).rgb)
    return rows


def detector_summary(detector: Detector, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Metrics of one detector: overall and per colorizer (each against all natural images)."""
    key = detector_id(detector)
    nat = [r["scores"][key] for r in rows if r["source"] == NATURAL]
    colorized = [r for r in rows if r["source"] != NATURAL]
    overall, per = by_source(nat, [r["scores"][key] for r in colorized], [r["source"] for r in colorized], detector.threshold)
    return {
        "id": key,
        "model": detector.name,
        "weights_sha256": detector.card.get("sha256"),
        "weights": detector.card.get("weights_path"),
        "threshold": detector.threshold,
        "mode": detector.mode,
        "trained_on": trained_on(detector.card),
        "hardened": "hardening" in detector.card,
        "overall": overall,
        "per_colorizer": per,
    }


def label_of(entry: dict[str, Any]) -> str:
    """A row label for tables: model name, what it was trained on, hardened or not."""
    seen = "+".join(entry["trained_on"]) or "?"
    return f"{entry['model']} [{seen}{', hardened' if entry['hardened'] else ''}]"


def blind_matrix(summaries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Train-on-X × test-on-Y HTER table; ``seen`` marks the Y a detector trained on."""
    columns = list(dict.fromkeys(name for s in summaries for name in s["per_colorizer"]))
    return {
        "columns": columns,
        "rows": [
            {
                "detector": label_of(s),
                "trained_on": s["trained_on"],
                "hter": {y: s["per_colorizer"][y]["hter"] for y in columns if y in s["per_colorizer"]},
                "seen": {y: y in s["trained_on"] for y in columns},
                "blind_mean_hter": _mean([s["per_colorizer"][y]["hter"] for y in columns if y in s["per_colorizer"] and y not in s["trained_on"]]),
            }
            for s in summaries
        ],
    }


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def evaluate_detectors(
    detectors: Sequence[Detector],
    natural: Path,
    colorized: dict[str, Path],
    colorizers: Sequence[Any] = (),
    matrix: bool = False,
    on_image: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The whole cfx.eval-detector/1 report."""
    natural_paths = image_paths(natural)
    if not natural_paths:
        raise ValueError(f"{natural}: no natural images")
    colorized_paths = {name: image_paths(folder) for name, folder in colorized.items()}
    for name, paths in colorized_paths.items():
        if not paths:
            raise ValueError(f"{colorized[name]}: no colorized images for {name}")
    if not colorized_paths and not colorizers:
        raise ValueError("no colorized images: give --colorized NAME=DIR or --colorizers")
    rows = score_sets(detectors, natural_paths, colorized_paths, colorizers, on_image)
    summaries = [detector_summary(d, rows) for d in detectors]
    report: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "natural": str(natural),
        "colorized": {name: str(folder) for name, folder in colorized.items()},
        "colorizers": {c.name: c.card.get("sha256") for c in colorizers},
        "detectors": summaries,
        "rows": rows,
    }
    if matrix:
        report["matrix"] = blind_matrix(summaries)
    return report


def format_detectors(report: dict[str, Any]) -> str:
    """Per detector and colorizer: HTER and friends as a text table (stderr, README)."""
    lines = [f"{'detector':<48} {'colorized by':<21} {'HTER':>6} {'NI miss':>7} {'CI miss':>7} {'AUC':>6} {'EER':>6}"]
    for entry in report["detectors"]:
        for name, m in entry["per_colorizer"].items():
            seen = "*" if name in entry["trained_on"] else " "
            lines.append(
                f"{label_of(entry):<48} {name + seen:<21} {100 * m['hter']:>5.1f}% {100 * m['natural_miss_rate']:>6.1f}% "
                f"{100 * m['colorized_miss_rate']:>6.1f}% {m['roc_auc']:>6.3f} {100 * m['eer']:>5.1f}%"
            )
    lines.append("(* = colorizer seen in training; HTER = mean of the natural and colorized miss rates)")
    return "\n".join(lines)


def format_matrix(matrix: dict[str, Any]) -> str:
    cols = matrix["columns"]
    lines = [f"{'trained on →  tested on':<48} " + " ".join(f"{c[:14]:>14}" for c in cols) + f" {'blind mean':>10}"]
    for row in matrix["rows"]:
        cells = []
        for c in cols:
            value = row["hter"].get(c)
            cells.append(f"{'-' if value is None else f'{100 * value:.1f}%' + ('*' if row['seen'][c] else ' '):>14}")
        blind = row["blind_mean_hter"]
        lines.append(f"{row['detector']:<48} " + " ".join(cells) + f" {'-' if blind is None else f'{100 * blind:.1f}%':>10}")
    lines.append("(HTER; * = seen in training)")
    return "\n".join(lines)
