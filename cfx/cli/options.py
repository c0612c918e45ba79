"""Option types shared by every subcommand (same names everywhere, defined once)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cfx.limits import MAX_PIXELS
from cfx.registry import DEFAULT_MODELS

Inputs = Annotated[
    list[str],
    typer.Argument(
        metavar="INPUTS",
        help="Image files, folders (walked recursively), or - to read paths / JSON Lines from stdin.",
        show_default=False,
    ),
]
OutputDir = Annotated[
    Path,
    typer.Option(
        "--output",
        "-o",
        help="Output folder (mirrors the input tree), or an image file name (-o colour.jpg) for a single input.",
    ),
]
Model = Annotated[Optional[str], typer.Option("--model", "-m", help="Registry name (see `cfx models`).")]
ColorizerModel = Annotated[
    Optional[str],
    typer.Option("--model", "-m", help=f"Registry name (see `cfx models`); default: {DEFAULT_MODELS['colorize']}."),
]
DetectorModel = Annotated[
    Optional[str],
    typer.Option("--model", "-m", help=f"Registry name (see `cfx models`); default: {DEFAULT_MODELS['detect']}."),
]
TransferModel = Annotated[
    Optional[str],
    typer.Option(
        "--model",
        "-m",
        help=f"Colorizer of --method global (registry name, see `cfx models`); default: {DEFAULT_MODELS['transfer']}.",
    ),
]
Weights = Annotated[
    Optional[Path],
    typer.Option("--weights", "-w", help="A .safetensors file with its .json model card.", dir_okay=False),
]
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]
Precision = Annotated[
    str,
    typer.Option(
        "--precision",
        help="auto, fp32, fp16 or bf16 (fp16: CUDA only; auto: bf16 on CUDA, and on a CPU with native bf16"
        " where the model's card measured it faster and as good).",
    ),
]
TrainPrecision = Annotated[
    str,
    typer.Option(
        "--precision",
        help="auto (bf16 on CUDA, fp32 on the CPU), fp32 or bf16 (also on the CPU: about 2x faster where it has AVX512-BF16 or AMX).",
    ),
]
BatchSize = Annotated[
    int, typer.Option("--batch-size", "-b", min=1, help="Images per forward pass (same-size inputs are batched).")
]
Workers = Annotated[
    Optional[int], typer.Option("--workers", min=1, help="Decode/encode threads (default: cores, at most 4).")
]
Json = Annotated[bool, typer.Option("--json", help="One JSON object per line on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or messages on stderr.")]
SkipExisting = Annotated[bool, typer.Option("--skip-existing", help="Leave outputs that already exist (resume a run).")]
Shard = Annotated[
    Optional[str],
    typer.Option("--shard", help="K/N: process only the K-th of N deterministic slices of the sorted inputs."),
]
RenderSize = Annotated[
    Optional[int],
    typer.Option("--render-size", min=16, help="Long side at which chroma is predicted (default: the model's)."),
]
Temperature = Annotated[
    Optional[float],
    typer.Option(
        "--temperature",
        help="Annealed-mean temperature of classification colorizers (zhang; default 0.38; →0 the mode, 1 the mean).",
    ),
]
Natural = Annotated[
    Path,
    typer.Option(
        "--natural",
        help="Folder of natural colour photos (train/ and val/, or split deterministically).",
        exists=True,
        file_okay=False,
    ),
]
ColorizedDirs = Annotated[
    Optional[list[str]],
    typer.Option(
        "--colorized",
        help="NAME=DIR of colorized versions of the natural photos (same relative paths); repeat for several.",
    ),
]
Colorizers = Annotated[
    Optional[str],
    typer.Option(
        "--colorizers",
        help="Comma-separated registry colorizers (or .safetensors files) that colorize the natural photos on the fly.",
    ),
]
WeightsOut = Annotated[
    Path,
    typer.Option(
        "--output", "-o", help="Weights file to write (.safetensors; the model card goes beside it).", dir_okay=False
    ),
]
LogFile = Annotated[Optional[Path], typer.Option("--log-file", help="Append the JSON log of every epoch to this file.")]
Half = Annotated[bool, typer.Option("--half", help="Store the weights in fp16 (half the size).")]
ReportFile = Annotated[
    Optional[Path], typer.Option("--report", help="Write the final JSON report here instead of stdout.", dir_okay=False)
]
ValFraction = Annotated[
    float, typer.Option("--val-fraction", help="Validation share when the folder has no train/ and val/.")
]
Seed = Annotated[int, typer.Option("--seed", help="Random seed (the split does not depend on it).")]
TimeLimit = Annotated[
    float, typer.Option("--time-limit", help="Stop after the epoch that passes this many minutes (0: none).")
]
Checkpoint = Annotated[Optional[Path], typer.Option("--checkpoint", help="Checkpoint file (default: OUTPUT.ckpt).")]
Init = Annotated[
    Optional[Path],
    typer.Option(
        "--init",
        help="Start from these weights (fine-tuning; tensors whose names and shapes match are copied).",
        exists=True,
        dir_okay=False,
    ),
]
Resume = Annotated[bool, typer.Option("--resume", help="Continue from the checkpoint if it exists.")]
HtmlFile = Annotated[
    Optional[Path],
    typer.Option(
        "--html", help="Also write a self-contained HTML report (tables, thumbnails, SVG plots) here.", dir_okay=False
    ),
]
MaxPixels = Annotated[
    int,
    typer.Option(
        "--max-pixels",
        min=1,
        help=f"Refuse images of more pixels (width x height) than this, read from the header before decoding (decompression bombs); raise it for huge scans. Default: {MAX_PIXELS} ({MAX_PIXELS // 1_000_000} MP).",
        show_default=False,
    ),
]
StripMetadata = Annotated[
    bool,
    typer.Option(
        "--strip-metadata",
        help="Write outputs without the input's metadata (EXIF, ICC profile, dpi, text) and without the label that says cfx colorized them (EXIF Software and UserComment, PNG Comment).",
    ),
]
