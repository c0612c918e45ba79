"""`cfx eval colorizer`: score colorizers on colour photos against the grayscale baseline.

Each ground-truth photo is reduced to its lightness, colorized through the same path as
`cfx colorize` (render size, full-resolution merge) and compared with the truth: PSNR
and SSIM on sRGB, AuC of the cumulative per-pixel a*b* error curve over thresholds
0–150 (Zhang, Isola & Efros 2016, as in the evaluation of Mu and Lee, n.d.), and Hasler–Süsstrunk colourfulness as
a ratio to the truth's. The grayscale baseline (the true L*, a*b* = 0) is always a row.

With a detector (:class:`cfx.detect.Detector`), every image as the detector sees it (the
colorization as `cfx colorize` writes it — JPEG q95 for JPEG inputs —, the grayscale baseline, and the ground truth,
which then gets rows of its own named ``ground truth`` with no PSNR/SSIM/AuC) gets
``detector_score`` (P(colorized)) and ``judged_natural`` (score < the detector's
threshold); each summary entry gets ``fool_rate``, the share judged natural.

With ``hints`` (:class:`HintPlan`, `cfx eval colorizer --hints N`): N user points per image
simulated from the truth as Zhang, Zhu, Isola, Geng, Lin, Yu & Efros 2017 ("Real-Time
User-Guided Image Colorization with Learned Deep Priors", §4.1) evaluate with random points:
at random pixels of the full-size photo, each revealing the mean true a*b* of a square patch
of 1–9 px (:func:`cfx.hint_simulation.simulate_points`), seeded by the seed and the file's
name, so every model and every run sees the same points. A hint-conditioned model gets them
as `cfx colorize --hints` gives a user's (:class:`cfx.hints.Hints`: channels at render size,
hinted pixels kept); a model that takes no hints is run without them (its summary says so).
The ``bilateral baseline`` row spreads the same points without learning
(:mod:`cfx.hint_baseline`). Every row says how many hints its model got.

Outputs already written by `cfx colorize --json` (e.g. by the shards of a big run) are
scored the same way without running a colorizer (:func:`plan_records`,
:func:`evaluate_records`): each record's input is the ground truth, its output the
prediction. Both paths score an image with :func:`score_predictions`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np
import torch

from cfx.color import AB_RANGE, lab_to_rgb, rgb_to_lab
from cfx.colorize import Colorizer, image_lightness, merge_full_resolution
from cfx.errors import UsageError
from cfx.hints import Hints
from cfx.imageio import ImageError, LoadedImage, is_jpeg, jpeg_roundtrip, load_image
from cfx.inputs import image_files
from cfx.labels import BILATERAL, GRAYSCALE, GROUND_TRUTH
from cfx.metrics import ab_error_auc, colourfulness, psnr, ssim
from cfx.record_files import Record, RecordFileError, check_unique, same_file

REPORT_SCHEMA = "cfx.eval-colorizer/1"
SSIM_MIN_SIDE = 11  # the SSIM window
NO_HINTS_NOTE = "takes no hints: evaluated without them"

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


@dataclass(frozen=True)
class HintPlan:
    """Simulated user points for `cfx eval colorizer --hints N` (see the module docstring)."""

    points: int
    seed: int = 0
    max_patch: int = 9  # patches of 1..max_patch pixels, as Zhang et al. 2017 simulate them

    def __post_init__(self) -> None:
        if self.points < 0:
            raise UsageError(f"--hints must be a number of points ≥ 0, got {self.points}")

    def generator(self, path: Path) -> torch.Generator:
        """The same generator for a file of this name in every run and for every model."""
        digest = hashlib.sha256(f"{self.seed}/{path.name}".encode()).digest()
        return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)

    def describe(self) -> dict[str, Any]:
        return {"points": self.points, "seed": self.seed, "max_patch": self.max_patch}


def score_image(
    colorizers: Sequence[Colorizer],
    path: Path,
    detector: Detector | None = None,
    on_result: OnResult | None = None,
    hints: HintPlan | None = None,
) -> dict[str, dict[str, Any]]:
    """Metrics of one photo per model name, the grayscale baseline included: each
    colorizer's result from the photo's lightness, scored by :func:`score_predictions`.

    ``hints``: simulated points from the truth (see the module docstring): the bilateral
    baseline comes after grayscale, and every entry gets ``hints`` (how many its model got).
    """
    image = load_image(path)
    if hints is None:
        predictions = ((c.name, c.colorize_array(image)) for c in colorizers)
        return score_predictions(path, image, predictions, detector, on_result)
    given, baseline = simulated_hints(path, image, hints)
    counts = {GRAYSCALE: 0, BILATERAL: hints.points}

    def predictions() -> Iterable[tuple[str, np.ndarray]]:
        yield BILATERAL, baseline()
        for colorizer in colorizers:
            counts[colorizer.name] = hints.points if colorizer.takes_hints else 0
            if colorizer.takes_hints:
                prepared = colorizer.prepare(image, given)
                yield colorizer.name, colorizer.finish(prepared, colorizer.predict([prepared])[0])
            else:
                yield colorizer.name, colorizer.colorize_array(image)

    scores = score_predictions(path, image, predictions(), detector, on_result)
    for name, values in scores.items():
        values["hints"] = counts.get(name, 0)
    return scores


def simulated_hints(path: Path, image: LoadedImage, plan: HintPlan) -> tuple[Hints, Callable[[], np.ndarray]]:
    """The plan's points on one ground-truth photo: as :class:`cfx.hints.Hints` (each patch a
    stroke of its mean a*b*) and the bilateral baseline's sRGB image (made when called)."""
    from cfx.hint_baseline import bilateral_ab, points_from_patches
    from cfx.hint_simulation import simulate_points

    truth_ab = rgb_to_lab(torch.from_numpy(image.rgb).permute(2, 0, 1)[None])[0, 1:]
    patches, channels = simulate_points(truth_ab, plan.generator(path), plan.points, plan.max_patch)
    mask = channels[2] > 0
    given = Hints(
        f"{plan.points} simulated points",
        [],
        mask.numpy(),
        (channels[:2] * AB_RANGE).permute(1, 2, 0).contiguous().numpy(),
    )

    def baseline() -> np.ndarray:
        lightness = image_lightness(image)
        return merge_full_resolution(lightness, bilateral_ab(lightness, points_from_patches(lightness, patches)))

    return given, baseline


def score_predictions(
    path: Path,
    image: LoadedImage,
    predictions: Iterable[tuple[str, np.ndarray]],
    detector: Detector | None = None,
    on_result: OnResult | None = None,
    written: bool = False,
) -> dict[str, dict[str, Any]]:
    """Metrics of one ground-truth photo (``image``, read from ``path``) per model name,
    the grayscale baseline (the true L*, a*b* = 0) first.

    ``predictions`` are (model name, H×W×3 sRGB in [0, 1] of the truth's size). With
    ``detector``: ``detector_score`` and ``judged_natural`` on each, and a ``ground
    truth`` entry (the photo itself; no PSNR/SSIM/AuC); images are judged as `cfx
    colorize` writes them (JPEG q95 for a JPEG truth), so predictions that are not yet
    ``written`` files get that round trip, and so does the baseline. ``on_result(path,
    name, rgb)`` gets every image compared: the baseline, each prediction, then the
    ground truth.
    """
    truth = torch.from_numpy(image.rgb).permute(2, 0, 1)[None]
    lab_truth = rgb_to_lab(truth)
    judged: dict[str, float] = {}

    def seen(
        name: str, rgb: np.ndarray, encoded: bool = False
    ) -> None:  # each image right away: no full-size copies kept
        if detector is not None:  # as `cfx colorize` would write it: JPEG inputs give JPEG (q95) outputs
            judged[name] = float(detector.score_array(rgb if encoded or not is_jpeg(path) else as_written_jpeg(rgb)))
        if on_result is not None:
            on_result(path, name, rgb)

    gray = lab_to_rgb(torch.cat((lab_truth[:, :1], torch.zeros_like(lab_truth[:, 1:])), 1))
    scores: dict[str, dict[str, Any]] = {GRAYSCALE: _metrics(gray, truth, lab_truth)}
    seen(GRAYSCALE, gray[0].permute(1, 2, 0).numpy())
    for name, rgb in predictions:
        scores[name] = _metrics(torch.from_numpy(rgb).permute(2, 0, 1)[None], truth, lab_truth)
        seen(name, rgb, written)
    truth_colourfulness = float(colourfulness(truth))
    if detector is not None:
        scores[GROUND_TRUTH] = {"psnr": None, "ssim": None, "auc": None, "colourfulness": truth_colourfulness}
    seen(GROUND_TRUTH, image.rgb, True)
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
        if all("hints" in row for row in mine):
            entry["hints"] = mine[0]["hints"]
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
    hints: HintPlan | None = None,
) -> dict[str, Any]:
    """The whole report: per-model summary (grayscale first) and one row per image and model.

    ``detector`` adds the fool rate (see the module docstring) and a ``detector`` entry;
    ``on_result`` sees every compared image (see :func:`score_image`; e.g. thumbnails).
    ``hints`` adds the bilateral baseline, ``hints`` to every row and summary entry, the
    plan as the report's ``hints`` and a ``note`` on models that take none.
    """
    rows: list[dict[str, Any]] = []
    for path in paths:
        rows += _rows(path, score_image(colorizers, path, detector, on_result, hints))
        if on_image:
            on_image(path)
    report = colorizer_report(rows, {c.name: c.card.get("sha256") for c in colorizers}, detector)
    if hints is not None:
        unhinted = {c.name for c in colorizers if not c.takes_hints}
        for entry in report["summary"]:
            if entry["model"] in unhinted:
                entry["note"] = NO_HINTS_NOTE
        report = {"schema": report["schema"], "hints": hints.describe(), **report}
    return report


def _rows(path: Path, scores: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"path": str(path), "model": model, **values} for model, values in scores.items()]


def colorizer_report(
    rows: list[dict[str, Any]], weights: dict[str, str | None], detector: Detector | None = None
) -> dict[str, Any]:
    """The cfx.eval-colorizer/1 document from per-image rows; ``weights``: model name → weights sha256."""
    if not rows:
        raise UsageError("no images to evaluate")
    summary = [{**entry, "weights_sha256": weights.get(entry["model"])} for entry in summarize(rows)]
    report: dict[str, Any] = {"schema": REPORT_SCHEMA, "summary": summary, "rows": rows}
    if detector is not None:
        report["detector"] = {
            "model": detector.name,
            "weights_sha256": detector.card.get("sha256"),
            "threshold": detector.threshold,
        }
    return report


# ---------------------------------------------------------------------------
# scoring what `cfx colorize --json` already wrote (no colorizer is run)
# ---------------------------------------------------------------------------


@dataclass
class RecordPlan:
    """`cfx colorize` records sorted into work: each ground truth with its outputs per model."""

    truths: list[tuple[Path, list[tuple[str, Path, Record]]]]  # (truth, [(model, output, record)]), sorted by truth
    weights: dict[str, str | None]  # model → weights sha256, in order of first appearance
    failed: list[dict[str, Any]]  # error records of the colorize runs


def plan_records(records: Sequence[Record]) -> RecordPlan:
    """Check ``cfx.colorize/1`` records (:mod:`cfx.record_files`) and group them by ground truth.

    RecordFileError (a usage error) for a success record without ``output`` or ``model``,
    one input colorized twice by the same model (overlapping shards), or one model
    name with two different weights.
    """
    good = [r for r in records if r.ok]
    for record in good:
        record.require("output", "model")
    check_unique(good, key=lambda r: (r["model"], same_file(r["path"])))
    weights: dict[str, str | None] = {}
    first: dict[str, Record] = {}
    for record in good:
        model, sha = record["model"], record.get("weights_sha256")
        if weights.setdefault(model, sha) != sha:
            raise RecordFileError(
                f"model {model} has records from two different weights ({first[model].where}: {str(weights[model])[:12]}…, "
                f"{record.where}: {str(sha)[:12]}…); evaluate them separately"
            )
        first.setdefault(model, record)
    order = {model: i for i, model in enumerate(weights)}
    by_truth: dict[
        str, tuple[str, list[tuple[str, Path, Record]]]
    ] = {}  # one file however spelt → (first spelling, outputs)
    for record in good:
        by_truth.setdefault(same_file(record["path"]), (record["path"], []))[1].append(
            (record["model"], Path(record["output"]), record)
        )
    truths = [
        (Path(path), sorted(outputs, key=lambda o: order[o[0]]))
        for path, outputs in sorted(by_truth.values(), key=lambda t: t[0])
    ]
    failed = [r.failure() for r in records if not r.ok]
    return RecordPlan(truths, weights, failed)


def evaluate_records(
    plan: RecordPlan,
    on_image: Callable[[Path], None] | None = None,
    detector: Detector | None = None,
    on_result: OnResult | None = None,
    on_failure: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """The cfx.eval-colorizer/1 report of outputs `cfx colorize` already wrote.

    Each record's input ``path`` is the ground truth and its ``output`` the prediction,
    scored by :func:`score_predictions` exactly as :func:`evaluate_colorizers` scores a
    colorizer run. Grayscale truths (no colour to compare with) go to ``skipped``; error
    records, unreadable files and outputs whose size differs from their truth's go to
    ``failed`` (each naming the file and the reason; ``on_failure`` sees each as it
    happens). ValueError if nothing is left to score.
    """
    rows: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []

    def fail(entry: dict[str, Any]) -> None:
        failed.append(entry)
        if on_failure:
            on_failure(entry)

    for entry in plan.failed:
        fail(entry)
    for path, outputs in plan.truths:
        try:
            truth = load_image(path)
        except (ImageError, OSError) as error:
            for _, output, record in outputs:
                fail(record.failure(f"ground truth {_reason(error, path)}", output=str(output)))
        else:
            if truth.is_gray:
                skipped.append(
                    {
                        "path": str(path),
                        "reason": "grayscale input: no true colour to score against",
                        "records": [r.where for *_, r in outputs],
                    }
                )
            else:
                predictions = _predictions(path, truth, outputs, fail)
                if predictions:
                    rows += _rows(path, score_predictions(path, truth, predictions, detector, on_result, written=True))
        if on_image:
            on_image(path)
    if not rows:
        why = f"{len(skipped)} grayscale input(s) skipped, {len(failed)} failed" if skipped or failed else "no records"
        raise UsageError(f"no images to evaluate ({why})")
    report = colorizer_report(rows, plan.weights, detector)
    return {**report, "skipped": skipped, "failed": failed}


def _predictions(
    path: Path, truth: LoadedImage, outputs: list[tuple[str, Path, Record]], fail: Callable[[dict[str, Any]], None]
) -> list[tuple[str, np.ndarray]]:
    """The outputs of one truth that can be scored; the others go to ``fail``."""
    predictions = []
    for model, output, record in outputs:
        try:
            predicted = load_image(output)
        except (ImageError, OSError) as error:
            fail(record.failure(f"output {_reason(error, output)}", output=str(output)))
            continue
        if predicted.size != truth.size:
            (w, h), (tw, th) = predicted.size, truth.size
            fail(
                record.failure(
                    f"output {output} is {w}×{h} but its ground truth {path} is {tw}×{th}", output=str(output)
                )
            )
            continue
        predictions.append((model, predicted.rgb))
    return predictions


def _reason(error: BaseException, path: Path) -> str:
    """``PATH: reason`` for an image that could not be read."""
    text = str(error)
    return text if text.startswith(f"{path}: ") else f"{path}: {text}"


def evaluate(colorizer: Colorizer, paths: Iterable[Path]) -> dict[str, Any]:
    """One colorizer's means with the baseline's beside them (``gray_psnr`` …)."""
    report = evaluate_colorizers([colorizer], paths)
    gray, ours = report["summary"]
    return {
        **{k: v for k, v in ours.items() if k != "model"},
        **{f"gray_{k}": gray[k] for k in ("psnr", "ssim", "auc")},
    }


def image_paths(folder: Path) -> list[Path]:
    """The images under ``folder`` as every cfx folder walk finds them (:func:`cfx.inputs.image_files`)."""
    return image_files(folder)
