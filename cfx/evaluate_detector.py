"""`cfx eval detector`: HTER, miss rates, accuracy, ROC AUC and EER per colorizer (Quan et al. 2019, §IV).

Natural photos and colorized ones (folders, or made on the fly from the natural photos
by registry colorizers, JPEG-encoded like `cfx colorize` output) are scored by each
detector through the same path as `cfx detect`. Every metric is computed per colorizer
against the whole natural set (HTER = mean of the natural and the colorized miss
rates at the detector's threshold) and over everything.

Scores already written by `cfx detect --json` (e.g. by the shards of a big run) are
evaluated the same way without running a detector (:func:`evaluate_records`): a path is
natural or colorized by the folder it lies in. Both paths assemble the report with
:func:`detector_report`.

The blind-generalization matrix of Quan et al. 2019 (Tables III–V: train on X, test on Y)
is the per-colorizer HTER of detectors each trained on some colorizers, with the
colorizers a detector saw at training time (its card) marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from cfx.detect import Detector
from cfx.detection_metrics import by_source
from cfx.errors import UsageError
from cfx.evaluate import image_paths
from cfx.imageio import load_image
from cfx.labels import COLORIZED_INDEX, NATURAL, NATURAL_INDEX
from cfx.record_files import Record, RecordFileError, check_unique, same_file

REPORT_SCHEMA = "cfx.eval-detector/1"


def class_index(source: str) -> int:
    """A row's true class: natural for the natural images, colorized for every colorizer's."""
    return NATURAL_INDEX if source == NATURAL else COLORIZED_INDEX


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
    from cfx.data.pairs import colorized_copy

    rows: list[dict[str, Any]] = []

    def add(path: Path, source: str, rgb: np.ndarray) -> None:
        prepared = {detector_id(d): d.predict([d.prepare_array(rgb, path)])[0] for d in detectors}
        rows.append({"path": str(path), "source": source, "label": class_index(source), "scores": prepared})
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


def describe(detector: Detector) -> dict[str, Any]:
    """A loaded detector as a report names it (see :func:`detector_entry`)."""
    return detector_entry(
        detector.name,
        detector.card.get("sha256"),
        detector.threshold,
        detector.mode,
        detector.card,
        detector_id(detector),
    )


def detector_entry(
    model: str, sha256: str | None, threshold: float, mode: str, card: dict[str, Any], key: str
) -> dict[str, Any]:
    """Who a summary is about: ``key`` (its id in the rows' ``scores``), the weights, the
    threshold and mode, and from its card what it was trained on and whether it was hardened."""
    return {
        "id": key,
        "model": model,
        "weights_sha256": sha256,
        "weights": card.get("weights_path"),
        "threshold": threshold,
        "mode": mode,
        "trained_on": trained_on(card),
        "hardened": "hardening" in card,
    }


def detector_summary(entry: dict[str, Any], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Metrics of one detector (``entry``: :func:`detector_entry`) on the rows that have its
    score: overall and per colorizer (each against all natural images)."""
    key = entry["id"]
    mine = [r for r in rows if key in r["scores"]]
    nat = [r["scores"][key] for r in mine if r["source"] == NATURAL]
    colorized = [r for r in mine if r["source"] != NATURAL]
    overall, per = by_source(
        nat, [r["scores"][key] for r in colorized], [r["source"] for r in colorized], entry["threshold"]
    )
    return {**entry, "overall": overall, "per_colorizer": per}


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
                "blind_mean_hter": _mean(
                    [
                        s["per_colorizer"][y]["hter"]
                        for y in columns
                        if y in s["per_colorizer"] and y not in s["trained_on"]
                    ]
                ),
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
        raise UsageError(f"{natural}: no natural images")
    colorized_paths = {name: image_paths(folder) for name, folder in colorized.items()}
    for name, paths in colorized_paths.items():
        if not paths:
            raise UsageError(f"{colorized[name]}: no colorized images for {name}")
    if not colorized_paths and not colorizers:
        raise UsageError("no colorized images: give --colorized NAME=DIR or --colorizers")
    rows = score_sets(detectors, natural_paths, colorized_paths, colorizers, on_image)
    return detector_report(
        [describe(d) for d in detectors],
        rows,
        natural,
        colorized,
        {c.name: c.card.get("sha256") for c in colorizers},
        matrix,
    )


def detector_report(
    entries: Sequence[dict[str, Any]],
    rows: list[dict[str, Any]],
    natural: Path,
    colorized: dict[str, Path],
    colorizers: dict[str, str | None],
    matrix: bool = False,
) -> dict[str, Any]:
    """The cfx.eval-detector/1 document: each detector's summary (:func:`detector_summary`),
    the rows, and with ``matrix`` the blind-generalization table."""
    summaries = [detector_summary(entry, rows) for entry in entries]
    report: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "natural": str(natural),
        "colorized": {name: str(folder) for name, folder in colorized.items()},
        "colorizers": colorizers,
        "detectors": summaries,
        "rows": rows,
    }
    if matrix:
        report["matrix"] = blind_matrix(summaries)
    return report


# ---------------------------------------------------------------------------
# scores that `cfx detect --json` already wrote (no detector is run)
# ---------------------------------------------------------------------------


def label_path(path: str, folders: Sequence[tuple[str, Path]]) -> str | None:
    """The source (``natural`` or a colorizer) of the innermost folder holding ``path``; None outside all.

    Paths and folders are compared resolved (absolute, symlinks followed)."""
    where = Path(same_file(path))
    inside = [(len(folder.parts), source) for source, folder in folders if where.is_relative_to(folder)]
    return max(inside)[1] if inside else None


def shipped_card(model: str, sha256: str | None) -> dict[str, Any]:
    """The shipped model card of ``model`` when its weights are the ones scored (same sha256), else {}."""
    from cfx.weights import WeightsError, find_weights, read_card

    found = find_weights(model)
    if found is None or sha256 is None:
        return {}
    try:
        card = read_card(found)
    except WeightsError:
        return {}
    return {**card, "weights_path": str(found)} if card.get("sha256") == sha256 else {}


Group = tuple[str, str | None, str]  # (model, weights sha256, mode): one detector


def evaluate_records(
    records: Sequence[Record], natural: Path, colorized: dict[str, Path], matrix: bool = False
) -> dict[str, Any]:
    """The cfx.eval-detector/1 report of ``cfx.detect/1`` records (:mod:`cfx.record_files`).

    A record's path is natural under ``natural`` and colorized by NAME under
    ``colorized[NAME]`` (the innermost folder wins); records outside every folder are
    listed in ``unlabelled``, error records in ``failed``. Detectors are told apart by
    (model, weights_sha256, mode); each must have one threshold. Metrics are assembled
    by :func:`detector_report`, as for detectors run by :func:`evaluate_detectors`.
    RecordFileError (a usage error) for a record without a numeric score or threshold,
    one path scored twice by the same detector, or two thresholds of one detector;
    ValueError for clashing folders, a detector without natural or colorized records,
    or a colorized folder without any.
    """
    good = [r for r in records if r.ok]
    if not good:
        raise UsageError(f"no scores to evaluate: all {len(records)} record(s) are errors")
    entries, ids = _record_detectors(good)
    folders = _folders(natural, colorized)
    rows: dict[str, dict[str, Any]] = {}
    unlabelled: list[dict[str, Any]] = []
    for record in good:
        source = label_path(record["path"], folders)
        if source is None:
            unlabelled.append({"path": record["path"], "record": record.where})
            continue
        row = rows.setdefault(
            same_file(record["path"]),
            {"path": record["path"], "source": source, "label": class_index(source), "scores": {}},
        )
        row["scores"][ids[_group(record)]] = record.number("score")
    order = {source: i for i, (source, _) in enumerate(folders)}
    ordered = sorted(rows.values(), key=lambda r: (order[r["source"]], r["path"]))
    for name, folder in colorized.items():
        if not any(r["source"] == name for r in ordered):
            raise UsageError(f"{folder}: no records under this folder (--colorized {name}={folder})")
    for entry in entries:
        sources = {r["source"] for r in ordered if entry["id"] in r["scores"]}
        if NATURAL not in sources:
            raise UsageError(f"{entry['id']}: no records under --natural {natural}")
        if not sources - {NATURAL}:
            raise UsageError(f"{entry['id']}: no records under any --colorized folder")
    report = detector_report(entries, ordered, natural, colorized, {}, matrix)
    return {**report, "failed": [r.failure() for r in records if not r.ok], "unlabelled": unlabelled}


def _group(record: Record) -> Group:
    return record["model"], record.get("weights_sha256"), record.get("mode") or "resize"


def _record_detectors(good: Sequence[Record]) -> tuple[list[dict[str, Any]], dict[Group, str]]:
    """One :func:`detector_entry` per (model, weights, mode) of the records, and each group's id.

    Ids are ``model@sha256[:8]`` as for a loaded detector, with ``/mode`` added when
    one weights file was run in both modes."""
    for record in good:
        record.require("model")
        record.number("score")
    check_unique(good, key=lambda r: (_group(r), same_file(r["path"])))
    first: dict[Group, Record] = {}
    for record in good:
        seen = first.setdefault(_group(record), record)
        if seen.number("threshold") != record.number("threshold"):
            raise RecordFileError(
                f"{record['model']} ({_group(record)[2]}) has two thresholds: {seen['threshold']} at {seen.where} "
                f"and {record['threshold']} at {record.where}; evaluate them separately"
            )
    bases = [f"{model}@{str(sha or '')[:8]}" for model, sha, _ in first]
    entries, ids = [], {}
    for (model, sha, mode), record in first.items():
        base = f"{model}@{str(sha or '')[:8]}"
        ids[model, sha, mode] = key = base if bases.count(base) == 1 else f"{base}/{mode}"
        entries.append(detector_entry(model, sha, record.number("threshold"), mode, shipped_card(model, sha), key))
    return entries, ids


def _folders(natural: Path, colorized: dict[str, Path]) -> list[tuple[str, Path]]:
    """(source, resolved folder) for --natural and each --colorized; ValueError when they clash."""
    if NATURAL in colorized:
        raise UsageError(
            f"--colorized {NATURAL}={colorized[NATURAL]}: {NATURAL!r} names the natural images; call the colorizer something else"
        )
    folders = [(NATURAL, Path(same_file(str(natural))))] + [
        (name, Path(same_file(str(folder)))) for name, folder in colorized.items()
    ]
    for i, (name, folder) in enumerate(folders):
        for other, same in folders[:i]:
            if same == folder:
                raise UsageError(f"{folder}: given as the folder of both {other} and {name} images")
    return folders


def format_detectors(report: dict[str, Any]) -> str:
    """Per detector and colorizer: HTER and friends as a text table (stderr, README); the
    label columns widen to fit the longest label."""
    rows = [
        (label_of(entry), name + ("*" if name in entry["trained_on"] else " "), m)
        for entry in report["detectors"]
        for name, m in entry["per_colorizer"].items()
    ]
    label_width = max([48, *(len(label) for label, _, _ in rows)])
    name_width = max([21, *(len(name) for _, name, _ in rows)])
    lines = [
        f"{'detector':<{label_width}} {'colorized by':<{name_width}} {'HTER':>6} {'NI miss':>7} {'CI miss':>7} {'AUC':>6} {'EER':>6}"
    ]
    for label, name, m in rows:
        lines.append(
            f"{label:<{label_width}} {name:<{name_width}} {100 * m['hter']:>5.1f}% {100 * m['natural_miss_rate']:>6.1f}% "
            f"{100 * m['colorized_miss_rate']:>6.1f}% {m['roc_auc']:>6.3f} {100 * m['eer']:>5.1f}%"
        )
    lines.append("(* = colorizer seen in training; HTER = mean of the natural and colorized miss rates)")
    return "\n".join(lines)


def format_matrix(matrix: dict[str, Any]) -> str:
    """The blind-generalization table as text; the first column widens to fit the longest label."""
    cols = matrix["columns"]
    width = max([48, *(len(row["detector"]) for row in matrix["rows"])])
    lines = [
        f"{'trained on →  tested on':<{width}} " + " ".join(f"{c[:14]:>14}" for c in cols) + f" {'blind mean':>10}"
    ]
    for row in matrix["rows"]:
        cells = []
        for c in cols:
            value = row["hter"].get(c)
            cells.append(f"{'-' if value is None else f'{100 * value:.1f}%' + ('*' if row['seen'][c] else ' '):>14}")
        blind = row["blind_mean_hter"]
        lines.append(
            f"{row['detector']:<{width}} " + " ".join(cells) + f" {'-' if blind is None else f'{100 * blind:.1f}%':>10}"
        )
    lines.append("(HTER; * = seen in training)")
    return "\n".join(lines)
