"""Colorize grayscale photos at their own resolution.

Writes one colour image per input into -o (mirroring folders; -o NAME.jpg for a single
input writes that file) and prints its path, or with --json one cfx.colorize/1 record per
line. Inputs are never modified. Outputs keep the input's EXIF (orientation applied), ICC
profile, dpi and PNG text, and record that cfx colorized them (EXIF Software and
UserComment, PNG Comment: model and weights sha256); --strip-metadata leaves all of it out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cfx.cli import options as opt
from cfx.cli.common import collect_inputs, failure_reason, finish_run, interrupted_run, single_output_file, warn
from cfx.limits import MAX_PIXELS

SCHEMA = "cfx.colorize/1"


def colorize(
    inputs: opt.Inputs,
    output: opt.OutputDir,
    model: opt.ColorizerModel = None,
    weights: opt.Weights = None,
    render_size: opt.RenderSize = None,
    temperature: opt.Temperature = None,
    device: opt.Device = "auto",
    precision: opt.Precision = "auto",
    batch_size: opt.BatchSize = 4,
    workers: opt.Workers = None,
    max_pixels: opt.MaxPixels = MAX_PIXELS,
    strip_metadata: opt.StripMetadata = False,
    json_output: opt.Json = False,
    quiet: opt.Quiet = False,
    skip_existing: opt.SkipExisting = False,
    shard: opt.Shard = None,
    hints: Annotated[
        Optional[Path],
        typer.Option(
            "--hints",
            help='Colours you know: FILE.json {"points": [{"x", "y", "color": "#rrggbb", "radius"}]} for one input, or FILE.jsonl with a "path" per line (hint-conditioned models).',
            dir_okay=False,
        ),
    ] = None,
    hint_image: Annotated[
        Optional[Path],
        typer.Option(
            "--hint-image",
            help="A transparent PNG of the input's size with coloured strokes: every opaque pixel is a hint.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    from cfx.colorize import colorize_files, load_colorizer, planned_suffix
    from cfx.hints import hints_for_inputs
    from cfx.inputs import OutputPlanner
    from cfx.progress import progress
    from cfx.reports import RecordWriter
    from cfx.runner import Failed, configure_threads

    writer = RecordWriter(SCHEMA, json_mode=json_output, quiet=quiet, command="cfx colorize")
    items = collect_inputs(inputs, output, shard, writer)
    one_file = single_output_file(output, items)
    threads = configure_threads(workers)
    given = hints_for_inputs(items, hints, hint_image, sharded=shard is not None)
    if given and model is None and weights is None:
        model = "unet.lite0-guided"  # the hint-conditioned colorizer, unless one was chosen
    colorizer = load_colorizer(model, weights, device, precision, render_size, temperature)
    if given and not colorizer.takes_hints:
        from cfx.errors import UsageError

        raise UsageError(f"{colorizer.name} takes no hints; use a hint-conditioned model (--model unet.lite0-guided)")
    common = {"model": colorizer.name, "weights_sha256": colorizer.card.get("sha256")}
    planner = OutputPlanner(output, lambda item: planned_suffix(item.path), inputs=[item.path for item in items])
    jobs = []
    for item in items:
        target = output if one_file else planner.plan(item)
        if skip_existing and target.exists():
            writer.write({"path": str(item.path), "output": str(target), "skipped": True, **common})
        else:
            jobs.append((item.path, target))
    for warning in planner.warnings:
        warn("cfx colorize", warning, quiet)
    reported = 0
    try:
        with progress("colorize", total=len(jobs), quiet=quiet) as bar:
            for result in colorize_files(
                colorizer, jobs, batch_size, threads, given, max_pixels, keep_metadata=not strip_metadata
            ):
                reported += 1
                if isinstance(result, Failed):
                    source, _ = result.item
                    writer.error(source, failure_reason(result.reason, source))
                else:
                    for warning in result["warnings"]:
                        warn("cfx colorize", f"{result['path']}: {warning}", quiet)
                    writer.write({**result, **common})
                bar.advance()
    except KeyboardInterrupt:
        interrupted_run(writer, quiet, len(jobs) - reported)
    finish_run(writer, quiet)
