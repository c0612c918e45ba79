"""Colour grayscale photos from a reference photo (the style).

--style REF colours every target from REF; or pipe JSON Lines {"path": ..., "style": ...}
into `-` to give each target its own reference (a line's "style" wins over --style).
Methods: global (default; Iizuka, Simo-Serra and Ishikawa 2016, §4.5: the colorizer's global features from the
reference's luminance, local features from the target's), reinhard (the reference's
a*b* mean and spread), welsh (colours of reference pixels with matching luminance and
texture). Writes one image per target into -o and prints its path, or with --json one
cfx.transfer/1 record per line. Inputs are never modified.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cfx.cli import options as opt
from cfx.cli.common import (
    collect_inputs,
    fail_usage,
    failure_reason,
    finish_run,
    interrupted_run,
    single_output_file,
    warn,
)
from cfx.limits import MAX_PIXELS

SCHEMA = "cfx.transfer/1"
COMMAND = "cfx transfer"

Style = Annotated[
    Optional[Path],
    typer.Option(
        "--style",
        "-s",
        help='Reference image for every target (JSON Lines inputs may give their own "style").',
        dir_okay=False,
    ),
]
Method = Annotated[str, typer.Option("--method", help="global (needs an iizuka model), reinhard or welsh.")]


def transfer(
    inputs: opt.Inputs,
    output: opt.OutputDir,
    style: Style = None,
    method: Method = "global",
    model: opt.TransferModel = None,
    weights: opt.Weights = None,
    render_size: opt.RenderSize = None,
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
) -> None:
    from cfx.colorize import planned_suffix
    from cfx.inputs import OutputPlanner
    from cfx.progress import progress
    from cfx.reports import RecordWriter
    from cfx.runner import Failed, configure_threads
    from cfx.transfer import METHODS, StyleCache, StyleError, TransferJob, load_method, transfer_files

    if method not in METHODS:
        fail_usage(f"unknown --method {method!r} (choose from {', '.join(METHODS)})")
    writer = RecordWriter(SCHEMA, json_mode=json_output, quiet=quiet, command=COMMAND)
    items = collect_inputs(inputs, output, shard, writer)
    if style is None and not any("style" in item.fields for item in items):
        fail_usage('no style: give --style REF, or JSON Lines with a "style" field on stdin')
    threads = configure_threads(workers)
    chosen = load_method(
        method, model=model, weights=weights, device=device, precision=precision, render_size=render_size
    )
    common = {"method": chosen.name, **chosen.record_fields}
    if not chosen.uses_model and (model or weights or render_size):
        warn(COMMAND, f"--model, --weights and --render-size are not used by --method {chosen.name}", quiet)
    styles = StyleCache(chosen, max_pixels)
    if style is not None:
        try:
            styles.get(style)  # an unusable --style is a bad option, not a failure per target
        except StyleError as error:
            fail_usage(f"--{error}")
    references = [ref for ref in (_style_of(item.fields, style) for item in items) if isinstance(ref, Path)]
    one_file = single_output_file(output, items, inputs=references)
    # Targets and references are inputs: no output may replace one before it is read.
    planner = OutputPlanner(
        output, lambda item: planned_suffix(item.path), inputs=[item.path for item in items] + references
    )
    jobs = []
    for item in items:
        reference = _style_of(item.fields, style)
        if isinstance(reference, str):
            writer.error(item.path, reference, **common)
            continue
        target = output if one_file else planner.plan(item)
        if skip_existing and target.exists():
            writer.write(
                {"path": str(item.path), "style": str(reference), "output": str(target), "skipped": True, **common}
            )
        else:
            jobs.append(TransferJob(item.path, reference, target))
    for warning in planner.warnings:
        warn(COMMAND, warning, quiet)
    reported = 0
    try:
        with progress("transfer", total=len(jobs), quiet=quiet) as bar:
            for result in transfer_files(
                chosen, jobs, styles, batch_size, threads, max_pixels, keep_metadata=not strip_metadata
            ):
                reported += 1
                if isinstance(result, Failed):
                    job = result.item
                    writer.error(job.source, failure_reason(result.reason, job.source), style=str(job.style), **common)
                else:
                    for warning in result["warnings"]:
                        warn(COMMAND, f"{result['path']}: {warning}", quiet)
                    writer.write(result)
                bar.advance()
    except KeyboardInterrupt:
        interrupted_run(writer, quiet, len(jobs) - reported)
    finish_run(writer, quiet)


def _style_of(fields: dict[str, Any], default: Path | None) -> Path | str:
    """The target's reference: its JSON line's "style", else --style; a string is the error."""
    value = fields.get("style", default)
    if value is None:
        return 'no style given (--style or a "style" field in its JSON line)'
    if not isinstance(value, (str, Path)) or not str(value):
        return f'"style" must be an image path, not {value!r}'
    return Path(value)
