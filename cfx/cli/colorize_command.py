"""Colorize grayscale photos at their own resolution.

Writes one colour image per input into -o (mirroring folders) and prints its path,
or with --json one cfx.colorize/1 record per line. Inputs are never modified.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cfx.cli import options as opt
from cfx.cli.common import collect_inputs, finish_run, load_or_fail

SCHEMA = "cfx.colorize/1"


def colorize(
    inputs: opt.Inputs,
    output: opt.OutputDir,
    model: opt.Model = None,
    weights: opt.Weights = None,
    render_size: opt.RenderSize = None,
    device: opt.Device = "auto",
    precision: opt.Precision = "auto",
    batch_size: opt.BatchSize = 4,
    workers: opt.Workers = None,
    json_output: opt.Json = False,
    quiet: opt.Quiet = False,
    skip_existing: opt.SkipExisting = False,
    shard: opt.Shard = None,
) -> None:
    import torch

    from cfx.colorize import Prepared, load_colorizer
    from cfx.imageio import ImageError, load_image, output_suffix, save_image
    from cfx.inputs import InputItem, OutputPlanner
    from cfx.progress import progress
    from cfx.reports import RecordWriter
    from cfx.runner import Failed, configure_threads, run_pipeline

    writer = RecordWriter(SCHEMA, json_mode=json_output, quiet=quiet, command="cfx colorize")
    items = collect_inputs(inputs, output, shard, writer)
    threads = configure_threads(workers)
    colorizer = load_or_fail(lambda: load_colorizer(model, weights, device, precision, render_size))
    common = {"model": colorizer.name, "weights_sha256": colorizer.card.get("sha256")}

    def planned_suffix(item: InputItem) -> str:
        suffix = item.path.suffix.lower()
        # Formats that can carry 16 bits or alpha become PNG before decoding tells which.
        return output_suffix(suffix, 16 if suffix in (".png", ".tif", ".tiff") else 8, suffix == ".gif")

    planner = OutputPlanner(output, planned_suffix)
    jobs = []
    for item in items:
        target = planner.plan(item)
        if skip_existing and target.exists():
            writer.write({"path": str(item.path), "output": str(target), "skipped": True, **common})
        else:
            jobs.append((item, target))
    for warning in planner.warnings:
        print(f"cfx colorize: warning: {warning}", file=sys.stderr)

    def decode(job: tuple[InputItem, Path]) -> tuple[InputItem, Path, Prepared]:
        item, target = job
        return item, target, colorizer.prepare(load_image(item.path))

    def encode(pair: tuple[tuple[InputItem, Path, Prepared], torch.Tensor]) -> dict:
        (item, target, prepared), ab = pair
        image = prepared.image
        rgb = colorizer.finish(prepared, ab)
        alpha = image.alpha if target.suffix not in (".jpg", ".jpeg", ".bmp") else None
        bit_depth = image.bit_depth if target.suffix == ".png" else 8
        target.parent.mkdir(parents=True, exist_ok=True)
        save_image(target, rgb, alpha=alpha, bit_depth=bit_depth)
        height, width = prepared.lightness.shape[1:]
        return {
            "path": str(item.path),
            "output": str(target),
            **common,
            "width": int(width),
            "height": int(height),
            "render": [int(prepared.model_input.shape[2]), int(prepared.model_input.shape[1])],
            "bit_depth": bit_depth,
            "alpha": alpha is not None,
            "warnings": prepared.warnings,
        }

    errors = (ImageError, OSError, ValueError, RuntimeError, MemoryError)
    with progress("colorize", total=len(jobs), quiet=quiet) as bar:
        for result in run_pipeline(
            jobs, decode, batch_key=lambda d: tuple(d[2].model_input.shape), compute=lambda b: colorizer.predict([p for _, _, p in b]),
            encode=encode, batch_size=batch_size, workers=threads, errors=errors,
        ):
            if isinstance(result, Failed):
                item, _ = result.item
                writer.error(item.path, _reason(result.reason, item.path))
            else:
                for warning in result["warnings"]:
                    if not quiet:
                        print(f"cfx colorize: warning: {result['path']}: {warning}", file=sys.stderr)
                writer.write(result)
            bar.advance()
    finish_run(writer, quiet)


def _reason(reason: str, path: Path) -> str:
    """ImageError messages start with the path; the record has it already."""
    prefix = f"{path}: "
    return reason[len(prefix) :] if reason.startswith(prefix) else reason.splitlines()[0] if reason else "failed"

