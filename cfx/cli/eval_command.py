"""Evaluate models on your own data (`cfx eval colorizer`, `cfx eval detector`), or score
what `cfx colorize --json` / `cfx detect --json` already wrote (`--records`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cfx.cli import options as opt
from cfx.cli.common import colorized_sources, fail_usage, warn
from cfx.registry import DEFAULT_MODELS
from cfx.reports import EXIT_FAILED

MoreRecords = Annotated[
    Optional[list[str]],
    typer.Argument(
        help="More record files after --records, so that `--records shard-*.jsonl` takes them all.",
        metavar="RECORDS",
        show_default=False,
    ),
]


def colorizer(
    data: Annotated[
        Optional[Path],
        typer.Option(
            "--data", help="Folder of ground-truth colour photos (walked recursively).", exists=True, file_okay=False
        ),
    ] = None,
    records: Annotated[
        Optional[list[str]],
        typer.Option(
            "--records",
            help="cfx.colorize/1 JSON Lines files (repeat for shards; - for stdin): each input path is the ground truth, its output the prediction; no model is run.",
        ),
    ] = None,
    more_records: MoreRecords = None,
    model: Annotated[
        Optional[list[str]],
        typer.Option(
            "--model",
            "-m",
            help=f"Registry name with shipped weights; repeat for several (default: {DEFAULT_MODELS['colorize']}).",
        ),
    ] = None,
    weights: Annotated[
        Optional[list[Path]],
        typer.Option("--weights", "-w", help="A .safetensors file with its card; repeat for several.", dir_okay=False),
    ] = None,
    render_size: opt.RenderSize = None,
    detector_name: Annotated[
        Optional[str],
        typer.Option(
            "--detector",
            help="Also report the fool rate: the share this detector (registry name with shipped weights) judges natural.",
        ),
    ] = None,
    detector_weights: Annotated[
        Optional[Path],
        typer.Option(
            "--detector-weights", help="A detector .safetensors file with its card (for the fool rate).", dir_okay=False
        ),
    ] = None,
    device: opt.Device = "auto",
    precision: opt.Precision = "auto",
    hints: Annotated[
        Optional[int],
        typer.Option(
            "--hints",
            min=0,
            help="Give hint-conditioned models N user points per image, simulated from the truth (patches of 1-9 px, Zhang et al. 2017), and add the bilateral baseline.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated --hints points (per file name).")] = 0,
    report: opt.ReportFile = None,
    html: opt.HtmlFile = None,
    quiet: opt.Quiet = False,
) -> None:
    """Score colorizers against the grayscale baseline: PSNR, SSIM, AuC of a*b* error, colourfulness.

    Prints one cfx.eval-colorizer/1 report: a summary per model (the grayscale baseline
    first) and one row per image and model. Without --model/--weights: the default colorizer.
    With --detector/--detector-weights: each image's detector score and the fool rate
    (share judged natural) per model, the ground truth included.

    With --hints N: N points per image at random pixels of the truth, each the mean colour of
    a 1-9 px patch (seeded: the same points for every model); hint-conditioned models get
    them as `cfx colorize --hints` gives yours, others run without; a "bilateral baseline"
    row spreads the same points without learning.

    With --records instead of --data: the outputs `cfx colorize --json` already wrote
    (several files, e.g. shards, are read as one) are scored against their inputs, grouped
    by the records' model; grayscale inputs are skipped, failures are listed (exit 1).
    """
    from cfx.detect import load_detector
    from cfx.progress import progress

    command = "cfx eval colorizer"
    if hints is not None and (records or more_records):
        fail_usage("--hints simulates points for models run now: it does not take --records")
    source = _colorizer_source(
        data, _all_records(records, more_records), model, weights, render_size, device, precision
    )
    if hints is not None:
        source.with_hints(command, hints, seed, quiet)  # type: ignore[union-attr]
    judge = None
    if detector_name is not None or detector_weights is not None:
        judge = load_detector(detector_name, detector_weights, device, precision)
    thumbnails = _thumbnails() if html is not None else None
    with progress("eval", total=source.total, quiet=quiet) as bar:
        result = source.evaluate(
            lambda _: bar.advance(), judge, thumbnails, lambda entry: _print_failure(command, entry, quiet)
        )
    _report_colorizers(command, result, report, html, thumbnails, quiet)
    _finish(command, result, quiet)


class _Recorded:
    """`cfx eval colorizer --records`: the outputs `cfx colorize --json` already wrote."""

    def __init__(self, names: list[str]) -> None:
        from cfx.evaluate import plan_records

        self.names = names
        self.plan = plan_records(_read_records(names, "cfx.colorize/1"))
        self.total = len(self.plan.truths)

    def evaluate(self, on_image: Any, judge: Any, thumbnails: Any, on_failure: Any) -> dict:
        from cfx.evaluate import evaluate_records

        return {
            "records": list(self.names),
            **evaluate_records(self.plan, on_image, judge, thumbnails, on_failure=on_failure),
        }


class _Colorized:
    """`cfx eval colorizer --data`: the photos under a folder, colorized by each model now."""

    def __init__(
        self,
        data: Path,
        choices: list[tuple[str | None, Path | None]],
        render_size: int | None,
        device: str,
        precision: str,
    ) -> None:
        from cfx.colorize import load_colorizer
        from cfx.evaluate import image_paths

        self.data = data
        self.colorizers = [load_colorizer(name, weights, device, precision, render_size) for name, weights in choices]
        self.paths = image_paths(data)
        if not self.paths:
            fail_usage(f"{data}: no images found")
        self.total = len(self.paths)
        self.hints: Any = None

    def with_hints(self, command: str, points: int, seed: int, quiet: bool) -> None:
        """Simulated user points (--hints N) for every image; a model that takes none is warned about."""
        from cfx.evaluate import NO_HINTS_NOTE, HintPlan

        self.hints = HintPlan(points, seed)
        for colorizer in self.colorizers:
            if not colorizer.takes_hints:
                warn(command, f"{colorizer.name} {NO_HINTS_NOTE}", quiet)

    def evaluate(self, on_image: Any, judge: Any, thumbnails: Any, on_failure: Any) -> dict:
        from cfx.evaluate import evaluate_colorizers

        return {
            "data": str(self.data),
            **evaluate_colorizers(
                self.colorizers, self.paths, on_image=on_image, detector=judge, on_result=thumbnails, hints=self.hints
            ),
        }


def _colorizer_source(
    data: Path | None,
    records: list[str] | None,
    model: list[str] | None,
    weights: list[Path] | None,
    render_size: int | None,
    device: str,
    precision: str,
) -> _Recorded | _Colorized:
    """What `cfx eval colorizer` scores: --records or --data (exactly one), checked against the other options."""
    if records and data is not None:
        fail_usage("give --data DIR or --records FILE, not both")
    if records and (model or weights or render_size is not None):
        fail_usage("--records scores outputs already written: it does not take --model, --weights or --render-size")
    if not records and data is None:
        fail_usage(
            "give --data DIR (colour photos to colorize and score) or --records FILE (cfx colorize --json output)"
        )
    return _Recorded(records) if records else _Colorized(data, _choices(model, weights), render_size, device, precision)  # type: ignore[arg-type]


def _thumbnails() -> Any:
    from cfx.html_report import Thumbnails

    return Thumbnails()


def _report_colorizers(
    command: str, result: dict, report: Path | None, html: Path | None, thumbnails: Any, quiet: bool
) -> None:
    """Warn about skipped inputs, print the summary table, write the report and the HTML page."""
    from cfx.reports import write_document

    if result.get("skipped"):
        shown = ", ".join(entry["path"] for entry in result["skipped"][:3]) + (
            ", …" if len(result["skipped"]) > 3 else ""
        )
        warn(
            command,
            f"{len(result['skipped'])} grayscale input(s) skipped (no true colour to score against): {shown}",
            quiet,
        )
    if not quiet:
        print(format_summary(result["summary"]), file=sys.stderr)
        if result.get("hints"):
            plan = result["hints"]
            print(
                f"hints: {plan['points']} simulated points per image (seed {plan['seed']}, patches of 1-{plan['max_patch']} px)",
                file=sys.stderr,
            )
    write_document(result, str(report) if report else None)
    if html is not None:
        from cfx.html_report import colorizer_html

        _write_html(html, colorizer_html(result, thumbnails.images if thumbnails else None), quiet)


def _choices(model: list[str] | None, weights: list[Path] | None) -> list[tuple[str | None, Path | None]]:
    """--model and --weights options as (name, file) pairs; neither: the default model."""
    return [(name, None) for name in model or []] + [(None, path) for path in weights or []] or [(None, None)]


def _all_records(records: list[str] | None, more: list[str] | None) -> list[str] | None:
    """--records values and the files after them (a shell glob: --records a.jsonl b.jsonl)."""
    if more and not records:
        fail_usage(f"unexpected argument {more[0]!r} (record files go after --records)")
    return [*(records or []), *(more or [])] or None


def _read_records(names: list[str], schema: str) -> list:
    """Records of --records files (see cfx.record_files); a bad file or line is a usage error."""
    from cfx.record_files import RecordFileError, read_records

    try:
        return read_records(names, schema, sys.stdin)
    except RecordFileError as error:
        fail_usage(str(error))


def _print_failure(command: str, entry: dict, quiet: bool) -> None:
    """One stderr line for a failed record: the file, the reason, and where the record is."""
    if not quiet:
        error = entry["error"]
        named = error if entry["path"] in error else f"{entry['path']}: {error}"
        print(f"{command}: error: {named} ({entry['record']})", file=sys.stderr)


def _finish(command: str, result: dict, quiet: bool) -> None:
    """Exit 1 when records failed (they are listed in the report's ``failed``), else 0."""
    failed = len(result.get("failed", []))
    if failed:
        if not quiet:
            print(f'{command}: {failed} record(s) failed (listed in the report\'s "failed")', file=sys.stderr)
        raise typer.Exit(EXIT_FAILED)


def _write_html(path: Path, page: str, quiet: bool) -> None:
    from cfx.html_report import write_html

    try:
        write_html(path, page)
    except OSError as error:
        fail_usage(f"{path}: cannot write the HTML report ({error.strerror or error})")
    if not quiet:
        print(f"wrote {path}", file=sys.stderr)


def format_summary(summary: list[dict]) -> str:
    """The summary as a small text table (for stderr and the README); the model column widens to fit."""

    def number(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    fooled = any("fool_rate" in row for row in summary)
    width = max([20, *(len(row["model"]) for row in summary)])
    lines = [
        f"{'model':<{width}} {'images':>6} {'PSNR':>7} {'SSIM':>7} {'AuC':>7} {'colourful':>9}"
        + (f" {'fooled':>7}" if fooled else "")
    ]
    for row in summary:
        line = (
            f"{row['model']:<{width}} {row['images']:>6} {number(row['psnr'], 2):>7} {number(row['ssim'], 4):>7} "
            f"{number(row['auc'], 4):>7} {number(row['colourfulness_ratio'], 2):>9}"
        )
        if fooled:
            rate = row.get("fool_rate")
            line += f" {'-' if rate is None else f'{100 * rate:.1f}%':>7}"
        lines.append(line)
    return "\n".join(lines)


def detector(
    natural: opt.Natural,
    colorized: opt.ColorizedDirs = None,
    colorizers: opt.Colorizers = None,
    records: Annotated[
        Optional[list[str]],
        typer.Option(
            "--records",
            help="cfx.detect/1 JSON Lines files (repeat for shards; - for stdin): scores already computed, labelled by the folder (--natural, --colorized) each path lies in; no model is run.",
        ),
    ] = None,
    more_records: MoreRecords = None,
    model: Annotated[
        Optional[list[str]],
        typer.Option(
            "--model",
            "-m",
            help=f"Registry name with shipped weights; repeat for several (default: {DEFAULT_MODELS['detect']}).",
        ),
    ] = None,
    weights: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--weights", "-w", help="A detector .safetensors file with its card; repeat for several.", dir_okay=False
        ),
    ] = None,
    mode: Annotated[
        Optional[str],
        typer.Option(
            "--mode",
            help="resize or patch (as in cfx detect; default: each detector's card's mode, else resize).",
            show_default=False,
        ),
    ] = None,
    matrix: Annotated[
        bool,
        typer.Option(
            "--matrix",
            help="Add the blind-generalization table: each detector (trained on X, from its card) against each colorizer Y.",
        ),
    ] = False,
    device: opt.Device = "auto",
    report: opt.ReportFile = None,
    html: opt.HtmlFile = None,
    quiet: opt.Quiet = False,
) -> None:
    """Score detectors on natural photos and colorized ones: HTER, miss rates, accuracy, ROC AUC, EER per colorizer.

    Prints one cfx.eval-detector/1 report (per detector: overall and per-colorizer
    metrics; one row per image with every detector's score). Without --model/--weights:
    the default detector.

    With --records: the scores `cfx detect --json` already wrote (several files, e.g.
    shards, are read as one), one detector per (model, weights, mode); a path is natural
    under --natural, colorized by NAME under --colorized NAME=DIR, and unlabelled (warned)
    elsewhere. Error records are listed (exit 1).
    """
    from cfx.colorizer_sets import load_colorizers
    from cfx.detect import load_detector
    from cfx.evaluate import image_paths
    from cfx.evaluate_detector import evaluate_detectors, evaluate_records, format_detectors, format_matrix
    from cfx.progress import progress
    from cfx.reports import write_document

    command = "cfx eval detector"
    records = _all_records(records, more_records)
    if records:
        if model or weights or colorizers or mode is not None:
            fail_usage(
                "--records scores already computed: it does not take --model, --weights, --colorizers or --mode (the records say which)"
            )
        if not colorized:
            fail_usage("--records needs --colorized NAME=DIR for the folders of colorized images")
        dirs, _ = colorized_sources(colorized, None)
        result = evaluate_records(_read_records(records, "cfx.detect/1"), natural, dict(dirs), matrix)
        result = {"records": list(records), **result}
        for entry in result["failed"]:
            _print_failure(command, entry, quiet)
        if result["unlabelled"]:
            shown = ", ".join(entry["path"] for entry in result["unlabelled"][:3]) + (
                ", …" if len(result["unlabelled"]) > 3 else ""
            )
            warn(
                command,
                f"{len(result['unlabelled'])} record(s) outside --natural and every --colorized folder, not scored: {shown}",
                quiet,
            )
    else:
        detectors = [load_detector(name, path, device, mode=mode) for name, path in _choices(model, weights)]
        dirs, names = colorized_sources(colorized, colorizers)
        made = load_colorizers(names, device=device if device != "auto" else "cpu")
        natural_count = len(image_paths(natural))
        total = natural_count * (1 + len(made)) + sum(len(image_paths(folder)) for _, folder in dirs)
        with progress("eval", total=total, quiet=quiet) as bar:
            result = evaluate_detectors(detectors, natural, dict(dirs), made, matrix, on_image=bar.advance)
    if not quiet:
        print(format_detectors(result), file=sys.stderr)
        if matrix:
            print(format_matrix(result["matrix"]), file=sys.stderr)
    write_document(result, str(report) if report else None)
    if html is not None:
        from cfx.html_report import detector_html

        _write_html(html, detector_html(result), quiet)
    _finish(command, result, quiet)
