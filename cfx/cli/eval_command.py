"""Evaluate models on your own data (`cfx eval colorizer`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cfx.cli import options as opt
from cfx.cli.common import fail_usage, load_or_fail

app = typer.Typer(help="Evaluate colorizers and detectors on image folders.", no_args_is_help=True)


@app.command("colorizer")
def colorizer(
    data: Annotated[Path, typer.Option("--data", help="Folder of ground-truth colour photos (walked recursively).", exists=True, file_okay=False)],
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Registry name with shipped weights; repeat for several.")] = None,
    weights: Annotated[Optional[list[Path]], typer.Option("--weights", "-w", help="A .safetensors file with its card; repeat for several.", dir_okay=False)] = None,
    render_size: opt.RenderSize = None,
    detector_name: Annotated[Optional[str], typer.Option("--detector", help="Also report the fool rate: the share this detector (registry name with shipped weights) judges natural.")] = None,
    detector_weights: Annotated[Optional[Path], typer.Option("--detector-weights", help="A detector .safetensors file with its card (for the fool rate).", dir_okay=False)] = None,
    device: opt.Device = "auto",
    precision: opt.Precision = "auto",
    report: opt.ReportFile = None,
    html: opt.HtmlFile = None,
    quiet: opt.Quiet = False,
) -> None:
    """Score colorizers against the grayscale baseline: PSNR, SSIM, AuC of a*b* error, colourfulness.

    Prints one cfx.eval-colorizer/1 report: a summary per model (the grayscale baseline
    first) and one row per image and model. Without --model/--weights: the default colorizer.
    With --detector/--detector-weights: each image's detector score and the fool rate
    (share judged natural) per model, the ground truth included.
    """
    from cfx.colorize import load_colorizer
    from cfx.detect import load_detector
    from cfx.evaluate import evaluate_colorizers, image_paths
    from cfx.progress import progress
    from cfx.reports import write_document

    choices = [(name, None) for name in model or []] + [(None, path) for path in weights or []]
    colorizers = [load_or_fail(lambda n=n, w=w: load_colorizer(n, w, device, precision, render_size)) for n, w in choices or [(None, None)]]
    judge = None
    if detector_name is not None or detector_weights is not None:
        judge = load_or_fail(lambda: load_detector(detector_name, detector_weights, device, precision))
    paths = image_paths(data)
    if not paths:
        fail_usage(f"{data}: no images found")
    thumbnails = None
    if html is not None:
        from cfx.html_report import Thumbnails

        thumbnails = Thumbnails()
    with progress("eval", total=len(paths), quiet=quiet) as bar:
        result = evaluate_colorizers(colorizers, paths, on_image=lambda _: bar.advance(), detector=judge, on_result=thumbnails)
    result = {"data": str(data), **result}
    if not quiet:
        print(format_summary(result["summary"]), file=sys.stderr)
    write_document(result, str(report) if report else None)
    if html is not None:
        from cfx.html_report import colorizer_html

        _write_html(html, colorizer_html(result, thumbnails.images if thumbnails else None), quiet)


def _write_html(path: Path, page: str, quiet: bool) -> None:
    from cfx.html_report import write_html

    try:
        write_html(path, page)
    except OSError as error:
        fail_usage(f"{path}: cannot write the HTML report ({error.strerror or error})")
    if not quiet:
        print(f"wrote {path}", file=sys.stderr)


def format_summary(summary: list[dict]) -> str:
    """The summary as a small text table (for stderr and the README)."""
    def number(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    fooled = any("fool_rate" in row for row in summary)
    lines = [f"{'model':<20} {'images':>6} {'PSNR':>7} {'SSIM':>7} {'AuC':>7} {'colourful':>9}" + (f" {'fooled':>7}" if fooled else "")]
    for row in summary:
        line = (
            f"{row['model']:<20} {row['images']:>6} {number(row['psnr'], 2):>7} {number(row['ssim'], 4):>7} "
            f"{number(row['auc'], 4):>7} {number(row['colourfulness_ratio'], 2):>9}"
        )
        if fooled:
            rate = row.get("fool_rate")
            line += f" {'-' if rate is None else f'{100 * rate:.1f}%':>7}"
        lines.append(line)
    return "\n".join(lines)


@app.command("detector")
def detector(
    natural: opt.Natural,
    colorized: opt.ColorizedDirs = None,
    colorizers: opt.Colorizers = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Registry name with shipped weights; repeat for several.")] = None,
    weights: Annotated[Optional[list[Path]], typer.Option("--weights", "-w", help="A detector .safetensors file with its card; repeat for several.", dir_okay=False)] = None,
    mode: Annotated[str, typer.Option("--mode", help="resize or patch (as in cfx detect).")] = "resize",
    matrix: Annotated[bool, typer.Option("--matrix", help="Add the blind-generalization table: each detector (trained on X, from its card) against each colorizer Y.")] = False,
    device: opt.Device = "auto",
    report: opt.ReportFile = None,
    html: opt.HtmlFile = None,
    quiet: opt.Quiet = False,
) -> None:
    """Score detectors on natural photos and colorized ones: HTER, miss rates, accuracy, ROC AUC, EER per colorizer.

    Prints one cfx.eval-detector/1 report (per detector: overall and per-colorizer
    metrics; one row per image with every detector's score). Without --model/--weights:
    the default detector.
    """
    from cfx.cli.common import colorized_sources
    from cfx.detect import load_detector
    from cfx.evaluate import image_paths
    from cfx.evaluate_detector import evaluate_detectors, format_detectors, format_matrix
    from cfx.progress import progress
    from cfx.reports import write_document
    from cfx.train.detector import load_colorizers
    from cfx.weights import WeightsError

    choices = [(name, None) for name in model or []] + [(None, path) for path in weights or []]
    detectors = [load_or_fail(lambda n=n, w=w: load_detector(n, w, device, mode=mode)) for n, w in choices or [(None, None)]]
    try:
        dirs, names = colorized_sources(colorized, colorizers)
        made = load_colorizers(names, device=device if device != "auto" else "cpu")
        natural_count = len(image_paths(natural))
        total = natural_count * (1 + len(made)) + sum(len(image_paths(folder)) for _, folder in dirs)
        with progress("eval", total=total, quiet=quiet) as bar:
            result = evaluate_detectors(detectors, natural, dict(dirs), made, matrix, on_image=bar.advance)
    except (ValueError, FileNotFoundError, WeightsError) as error:
        fail_usage(str(error))
    if not quiet:
        print(format_detectors(result), file=sys.stderr)
        if matrix:
            print(format_matrix(result["matrix"]), file=sys.stderr)
    write_document(result, str(report) if report else None)
    if html is not None:
        from cfx.html_report import detector_html

        _write_html(html, detector_html(result), quiet)
