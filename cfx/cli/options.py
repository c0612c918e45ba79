"""Option types shared by every subcommand (same names everywhere, defined once)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

Inputs = Annotated[list[str], typer.Argument(help="Image files, folders (walked recursively), or - to read paths / JSON Lines from stdin.", show_default=False)]
OutputDir = Annotated[Path, typer.Option("--output", "-o", help="Output folder; mirrors the input tree.", file_okay=False)]
Model = Annotated[Optional[str], typer.Option("--model", "-m", help="Registry name (see `cfx models`).")]
Weights = Annotated[Optional[Path], typer.Option("--weights", "-w", help="A .safetensors file with its .json model card.", dir_okay=False)]
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]
Precision = Annotated[str, typer.Option("--precision", help="auto, fp32, fp16 or bf16 (CUDA only; the CPU runs fp32).")]
BatchSize = Annotated[int, typer.Option("--batch-size", "-b", min=1, help="Images per forward pass (same-size inputs are batched).")]
Workers = Annotated[Optional[int], typer.Option("--workers", min=1, help="Decode/encode threads (default: cores, at most 4).")]
Json = Annotated[bool, typer.Option("--json", help="One JSON object per line on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or messages on stderr.")]
SkipExisting = Annotated[bool, typer.Option("--skip-existing", help="Leave outputs that already exist (resume a run).")]
Shard = Annotated[Optional[str], typer.Option("--shard", help="K/N: process only the K-th of N deterministic slices of the sorted inputs.")]
RenderSize = Annotated[Optional[int], typer.Option("--render-size", min=16, help="Long side at which chroma is predicted (default: the model's).")]
Temperature = Annotated[Optional[float], typer.Option("--temperature", help="Annealed-mean temperature of classification colorizers (zhang; default 0.38; →0 the mode, 1 the mean).")]
