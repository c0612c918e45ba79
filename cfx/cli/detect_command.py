"""Tell natural colour photos from machine-colorized ones.

Prints one verdict line per image (path, label, probability colorized), or with --json
one cfx.detect/1 record per line: path, label (natural|colorized; grayscale for a gray input), score, threshold,
model, weights_sha256, mode, label_says (a "colorized by …" label in the file's metadata, or
null: reported, never used for the verdict). --mode patch scores native-resolution crops and
aggregates them (max or mean). --fail-on-colorized exits 3 when any image is judged
colorized. Inputs are never modified.
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from cfx.cli import options as opt
from cfx.cli.common import collect_inputs, failure_reason, finish_run, interrupted_run, warn
from cfx.limits import MAX_PIXELS

SCHEMA = "cfx.detect/1"
COMMAND = "cfx detect"

Threshold = Annotated[
    Optional[float],
    typer.Option(
        "--threshold",
        min=0.0,
        max=1.0,
        help="Score at or above which an image is colorized (default: the model card's, chosen on validation data).",
    ),
]
Mode = Annotated[
    Optional[str],
    typer.Option(
        "--mode",
        help="resize (the whole image at the model's input size, as in the paper) or patch (native-resolution crops, aggregated); default: the mode the detector was trained in (its card's), else resize.",
    ),
]
Aggregate = Annotated[str, typer.Option("--aggregate", help="How --mode patch combines crop scores: max or mean.")]
MaxPatches = Annotated[
    int, typer.Option("--max-patches", min=1, help="At most this many crops per image in --mode patch.")
]
FailOnColorized = Annotated[
    bool, typer.Option("--fail-on-colorized", help="Exit with code 3 if any input is judged colorized.")
]


def _plain(record: dict) -> str:
    return f"{record['path']}\t{record['label']}\t{record['score']:.4f}"


def detect(
    inputs: opt.Inputs,
    model: opt.DetectorModel = None,
    weights: opt.Weights = None,
    threshold: Threshold = None,
    mode: Mode = None,
    aggregate: Aggregate = "max",
    max_patches: MaxPatches = 16,
    device: opt.Device = "auto",
    precision: opt.Precision = "auto",
    batch_size: opt.BatchSize = 16,
    workers: opt.Workers = None,
    max_pixels: opt.MaxPixels = MAX_PIXELS,
    json_output: opt.Json = False,
    quiet: opt.Quiet = False,
    shard: opt.Shard = None,
    fail_on_colorized: FailOnColorized = False,
) -> None:
    from cfx.detect import COLORIZED, detect_files, load_detector
    from cfx.progress import progress
    from cfx.reports import EXIT_COLORIZED, RecordWriter
    from cfx.runner import Failed, configure_threads

    writer = RecordWriter(SCHEMA, json_mode=json_output, plain=_plain, quiet=quiet, command=COMMAND)
    items = collect_inputs(inputs, None, shard, writer)
    threads = configure_threads(workers)
    detector = load_detector(model, weights, device, precision, mode, aggregate, threshold, max_patches)
    colorized = reported = 0
    try:
        with progress("detect", total=len(items), quiet=quiet) as bar:
            for result in detect_files(detector, [item.path for item in items], batch_size, threads, max_pixels):
                reported += 1
                if isinstance(result, Failed):
                    writer.error(result.item, failure_reason(result.reason, result.item), model=detector.name)
                else:
                    for note in result.pop("warnings"):
                        warn(COMMAND, f"{result['path']}: {note}", quiet)
                    colorized += result["label"] == COLORIZED
                    writer.write(result)
                bar.advance()
    except KeyboardInterrupt:
        interrupted_run(writer, quiet, len(items) - reported, hint="")
    if not quiet:
        print(
            f"{COMMAND}: {colorized} of {writer.written} judged colorized (threshold {detector.threshold:g}, {detector.name})",
            file=sys.stderr,
        )
    if fail_on_colorized and colorized:
        raise typer.Exit(EXIT_COLORIZED)
    finish_run(writer, quiet)
