"""Train models on your own image folders (`cfx train colorizer`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cfx.cli import options as opt
from cfx.cli.common import fail_usage

app = typer.Typer(help="Train colorizers (and, later, detectors) on image folders.", no_args_is_help=True)


@app.command("colorizer")
def colorizer(
    data: Annotated[Path, typer.Option("--data", help="Folder of colour photos (train/ and val/, or split deterministically); first-level folders are class labels.", exists=True, file_okay=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Weights file to write (.safetensors; the model card goes beside it).", dir_okay=False)],
    model: Annotated[str, typer.Option("--model", "-m", help="Registry name of a colorizer.")] = "iizuka.compact",
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training images.")] = 10,
    batch_size: opt.BatchSize = 32,
    crop_size: Annotated[int, typer.Option(min=0, help="Training crop side (0: the model's own training size).")] = 0,
    optimizer: Annotated[str, typer.Option(help="adam or adadelta (the paper's).")] = "adam",
    lr: Annotated[float, typer.Option(help="Learning rate (ADADELTA: 1.0 unless set). With --resume it replaces the checkpoint's rate.")] = 1e-3,
    alpha: Annotated[float, typer.Option(help="Weight of the classification loss (Eq. 6).")] = 1.0 / 300.0,
    val_fraction: Annotated[float, typer.Option(help="Validation share when the folder has no train/ and val/.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Random seed (split-independent).")] = 0,
    time_limit: Annotated[float, typer.Option(help="Stop after the epoch that passes this many minutes (0: none).")] = 0.0,
    checkpoint: Annotated[Optional[Path], typer.Option(help="Checkpoint file (default: OUTPUT.ckpt).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the checkpoint if it exists.")] = False,
    log: Annotated[Optional[Path], typer.Option("--log-file", help="Append the JSON log of every epoch to this file.")] = None,
    device: opt.Device = "auto",
    half: Annotated[bool, typer.Option("--half", help="Store the weights in fp16 (half the size).")] = False,
    report: Annotated[Optional[Path], typer.Option(help="Write the final JSON report here instead of stdout.")] = None,
    quiet: opt.Quiet = False,
) -> None:
    """Train a colorizer (seed 003 §3.4-3.6); prints one JSON report (cfx.train/1).

    Runs unchanged under torchrun (DistributedDataParallel; --batch-size is the global batch).
    """
    from cfx.registry import UnknownModelError
    from cfx.reports import write_document
    from cfx.train.colorizer import ColorizerRecipe, train_colorizer

    recipe = ColorizerRecipe(
        model=model, epochs=epochs, batch_size=batch_size, crop_size=crop_size, optimizer=optimizer,
        lr=lr, alpha=alpha, val_fraction=val_fraction, seed=seed, time_limit_minutes=time_limit, half=half, device=device,
    )
    try:
        result = train_colorizer(data, output, recipe, checkpoint=checkpoint, resume=resume, log_path=log, quiet=quiet)
    except (ValueError, FileNotFoundError, UnknownModelError) as error:
        fail_usage(str(error))
    if result.get("sha256"):  # rank 0 under torchrun; the only process otherwise
        write_document(result, str(report) if report else None)
