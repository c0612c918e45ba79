"""Harden models against the other side of the arms race (`cfx harden detector`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cfx.cli import options as opt
from cfx.cli.common import colorized_sources, fail_usage


def _alphas(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        fail_usage(f"--alphas must be comma-separated numbers, got {text!r}")
    if not values or not all(0.0 <= v <= 1.0 for v in values):
        fail_usage(f"--alphas must be numbers in [0, 1], got {text!r}")
    return values


def detector(
    weights: Annotated[
        Path,
        typer.Option(
            "--weights", "-w", help="The trained detector (.safetensors with its card).", exists=True, dir_okay=False
        ),
    ],
    natural: opt.Natural,
    output: opt.WeightsOut,
    colorized: opt.ColorizedDirs = None,
    colorizers: opt.Colorizers = None,
    alphas: Annotated[
        str, typer.Option("--alphas", help="Interpolation factors of the rounds (Eq. 2).")
    ] = "0.1,0.2,0.3,0.4",
    round_epochs: Annotated[
        int, typer.Option("--round-epochs", min=1, help="S: epochs per round (the paper: 15).")
    ] = 15,
    lr: Annotated[
        Optional[float],
        typer.Option(help="lr^0 (default: the rate the detector finished training with); x0.1 each round."),
    ] = None,
    beta: Annotated[
        float, typer.Option(help="θ = β x error rate on the natural validation set (2 % if that is under 1 %).")
    ] = 2.0,
    batch_size: Annotated[
        int, typer.Option("--batch-size", "-b", min=2, help="Images per step, half natural and half colorized.")
    ] = 20,
    val_fraction: opt.ValFraction = 0.1,
    seed: opt.Seed = 0,
    log: opt.LogFile = None,
    device: opt.Device = "auto",
    precision: opt.TrainPrecision = "auto",
    half: opt.Half = False,
    report: opt.ReportFile = None,
    quiet: opt.Quiet = False,
) -> None:
    """Negative sample insertion (Quan et al. 2019, Algorithm 1); prints one JSON report (cfx.harden-detector/1).

    Rounds with α = 0.1..0.4 insert α·natural + (1-α)·colorized as colorized samples, train
    S epochs each at a rate x0.1 per round, drop pairs whose negative samples are missed,
    and keep the candidate (second half of each round) with the largest natural-image
    error rate under θ. The new weights' card names its parent.
    """
    from cfx.reports import write_document
    from cfx.train.detector_parts import PairSources
    from cfx.train.harden_detector import HardenRecipe, harden_detector

    recipe = HardenRecipe(
        alphas=_alphas(alphas),
        round_epochs=round_epochs,
        lr=lr,
        beta=beta,
        batch_size=batch_size,
        val_fraction=val_fraction,
        seed=seed,
        half=half,
        device=device,
        precision=precision,
    )
    sources = PairSources(natural, *colorized_sources(colorized, colorizers))
    result = harden_detector(weights, sources, output, recipe, log_path=log, quiet=quiet)
    if result.get("sha256"):
        write_document(result, str(report) if report else None)


def colorizer(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Folder of ground-truth colour photos (walked recursively; first-level folders are class labels).",
            exists=True,
            file_okay=False,
        ),
    ],
    output: opt.WeightsOut,
    model: opt.ColorizerModel = None,
    weights: opt.Weights = None,
    detector: Annotated[
        Optional[str],
        typer.Option(
            "--detector",
            help="Detector (registry name with shipped weights) that picks the hard cases; default: cfx detect's.",
        ),
    ] = None,
    detector_weights: Annotated[
        Optional[Path],
        typer.Option(
            "--detector-weights", help="Detector weights file instead of --detector.", exists=True, dir_okay=False
        ),
    ] = None,
    k: Annotated[
        int, typer.Option("--k", min=2, help="How many of the photos the detector finds most real are the hard cases.")
    ] = 200,
    held_out: Annotated[
        float,
        typer.Option(
            "--held-out",
            min=0.05,
            max=0.95,
            help="Share of the hard cases kept out of fine-tuning for the before/after comparison.",
        ),
    ] = 0.2,
    epochs: Annotated[int, typer.Option(min=1, help="Fine-tuning epochs over the hard training cases.")] = 10,
    lr: Annotated[float, typer.Option(help="Fine-tuning learning rate (Adam).")] = 1e-4,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=2, help="Crops per step.")] = 16,
    seed: opt.Seed = 0,
    log: opt.LogFile = None,
    device: opt.Device = "auto",
    report: opt.ReportFile = None,
    quiet: opt.Quiet = False,
) -> None:
    """Fine-tune a colorizer on the photos a detector finds most real (Mu and Lee, n.d., §3.4); prints one JSON report (cfx.harden-colorizer/1).

    Before/after on the held-out hard cases: PSNR, SSIM, AuC, colourfulness ratio and
    the detector's fool rate. The new weights' card names its parent.
    """
    from cfx.detect import load_detector
    from cfx.reports import write_document
    from cfx.train.harden_colorizer import HardenColorizerRecipe, harden_colorizer

    judge = load_detector(detector, detector_weights, device)
    recipe = HardenColorizerRecipe(
        k=k, held_out=held_out, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed, device=device
    )
    result = harden_colorizer(model, weights, data, judge, output, recipe, log_path=log, quiet=quiet)
    write_document(result, str(report) if report else None)
