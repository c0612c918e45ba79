"""Evaluate models on your own data (`cfx eval colorizer`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cfx.cli import options as opt
from cfx.cli.common import fail_usage, load_or_fail

app = typer.Typer(help="Evaluate colorizers (and, later, detectors) on image folders.", no_args_is_help=True)


@app.command("colorizer")
def colorizer(
    data: Annotated[Path, typer.Option("--data", help="Folder of ground-truth colour photos (walked recursively).", exists=True, file_okay=False)],
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Registry name with shipped weights; repeat for several.")] = None,
    weights: Annotated[Optional[list[Path]], typer.Option("--weights", "-w", help="A .safetensors file with its card; repeat for several.", dir_okay=False)] = None,
    render_size: opt.RenderSize = None,
    device: opt.Device = "auto",
    precision: opt.Precision = "auto",
    report: Annotated[Optional[Path], typer.Option(help="Write the JSON report here instead of stdout.", dir_okay=False)] = None,
    quiet: opt.Quiet = False,
) -> None:
    """Score colorizers against the grayscale baseline: PSNR, SSIM, AuC of a*b* error, colourfulness.

    Prints one cfx.eval-colorizer/1 report: a summary per model (the grayscale baseline
    first) and one row per image and model. Without --model/--weights: the default colorizer.
    """
    from cfx.colorize import load_colorizer
    from cfx.evaluate import evaluate_colorizers, image_paths
    from cfx.progress import progress
    from cfx.reports import write_document

    choices = [(name, None) for name in model or []] + [(None, path) for path in weights or []]
    colorizers = [load_or_fail(lambda n=n, w=w: load_colorizer(n, w, device, precision, render_size)) for n, w in choices or [(None, None)]]
    paths = image_paths(data)
    if not paths:
        fail_usage(f"{data}: no images found")
    with progress("eval", total=len(paths), quiet=quiet) as bar:
        result = evaluate_colorizers(colorizers, paths, on_image=lambda _: bar.advance())
    result = {"data": str(data), **result}
    if not quiet:
        print(format_summary(result["summary"]), file=sys.stderr)
    write_document(result, str(report) if report else None)


def format_summary(summary: list[dict]) -> str:
    """The summary as a small text table (for stderr and the README)."""
    def number(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = [f"{'model':<20} {'images':>6} {'PSNR':>7} {'SSIM':>7} {'AuC':>7} {'colourful':>9}"]
    for row in summary:
        lines.append(
            f"{row['model']:<20} {row['images']:>6} {number(row['psnr'], 2):>7} {number(row['ssim'], 4):>7} "
            f"{number(row['auc'], 4):>7} {number(row['colourfulness_ratio'], 2):>9}"
        )
    return "\n".join(lines)
