"""Train models on your own image folders (`cfx train colorizer`)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any, Optional, get_args

import typer

from cfx.cli import options as opt
from cfx.cli.common import colorized_sources
from cfx.train.recipes import (
    DEFAULT_CUT,
    CachedDetectorRecipe,
    CachedRecipe,
    ColorizerRecipe,
    default_of,
    field_names,
    recipe_from,
)

RECIPES = {"unet": CachedRecipe, "others": ColorizerRecipe}


def _recipe_default(name: str) -> str:
    """The default of recipe field ``name`` as ``--help`` shows it (the recipes state it; see cfx.train.recipes)."""
    found = {kind: default_of(recipe, name) for kind, recipe in RECIPES.items() if name in field_names(recipe)}
    values = list(dict.fromkeys(format(v, "g") if isinstance(v, float) else str(v) for v in found.values()))
    if len(values) == 1:
        return values[0]
    return ", ".join(f"{kind}: {value}" for kind, value in found.items())


def _optional(option: Any, name: str) -> Any:
    """A shared option type (:mod:`cfx.cli.options`) that defaults to None (not given), its
    ``--help`` showing the recipes' default of field ``name``."""
    kind, info = get_args(option)[:2]
    info = copy.copy(info)
    info.show_default = _recipe_default(name)
    return Annotated[Optional[kind], info]


# Shared option types that default to None (not given) and show the recipes' defaults.
RecipeBatchSize = _optional(opt.BatchSize, "batch_size")
RecipeValFraction = _optional(opt.ValFraction, "val_fraction")
RecipeSeed = _optional(opt.Seed, "seed")
RecipeTimeLimit = _optional(opt.TimeLimit, "time_limit_minutes")
RecipeDevice = _optional(opt.Device, "device")
RecipeTrainPrecision = _optional(opt.TrainPrecision, "precision")

# `cfx train colorizer`'s options: the recipe field each sets, and its name on the command line.
COLORIZER_OPTIONS = {
    "epochs": ("epochs", "--epochs"),
    "batch_size": ("batch_size", "--batch-size"),
    "crop_size": ("crop_size", "--crop-size"),
    "optimizer": ("optimizer", "--optimizer"),
    "lr": ("lr", "--lr"),
    "alpha": ("alpha", "--alpha"),
    "val_fraction": ("val_fraction", "--val-fraction"),
    "seed": ("seed", "--seed"),
    "time_limit": ("time_limit_minutes", "--time-limit"),
    "init": ("init", "--init"),
    "device": ("device", "--device"),
    "precision": ("precision", "--precision"),
    "half": ("half", "--half"),
    "phase": ("phase", "--phase"),
    "loss": ("loss", "--loss"),
    "crops_per_image": ("crops_per_image", "--crops-per-image"),
    "encoder_lr": ("encoder_lr", "--encoder-lr"),
    "cache_dir": ("cache_dir", "--cache-dir"),
    "recache_epochs": ("recache_epochs", "--recache-epochs"),
    "balance": ("balance", "--balance"),
    "select": ("select", "--select"),
    "weight_decay": ("weight_decay", "--weight-decay"),
    "ema": ("ema", "--ema"),
}


def given_options(values: dict[str, Any], options: dict[str, tuple[str, str]]) -> dict[str, tuple[str, Any]]:
    """The options of ``values`` (parameter name → value) that the user gave (not None, and
    flags that are set), as recipe field → (option name, value); paths become strings."""
    given = {}
    for parameter, (field_name, option) in options.items():
        value = values[parameter]
        if value is None or value is False:
            continue
        given[field_name] = (option, str(value) if isinstance(value, Path) else value)
    return given


def colorizer(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Folder of colour photos (train/ and val/, or split deterministically); first-level folders are class labels.",
            exists=True,
            file_okay=False,
        ),
    ],
    output: opt.WeightsOut,
    model: Annotated[str, typer.Option("--model", "-m", help="Registry name of a colorizer.")] = "iizuka.compact",
    epochs: Annotated[
        Optional[int],
        typer.Option(min=1, help="Passes over the training images.", show_default=_recipe_default("epochs")),
    ] = None,
    batch_size: RecipeBatchSize = None,
    crop_size: Annotated[
        Optional[int],
        typer.Option(
            min=0,
            help="Training crop side (0: the model's own training size).",
            show_default=_recipe_default("crop_size"),
        ),
    ] = None,
    optimizer: Annotated[
        Optional[str],
        typer.Option(help="adam or adadelta (the paper's); not unet.", show_default=_recipe_default("optimizer")),
    ] = None,
    lr: Annotated[
        Optional[float],
        typer.Option(
            help="Learning rate (ADADELTA: 1.0 unless set). With --resume it replaces the checkpoint's rate.",
            show_default=_recipe_default("lr"),
        ),
    ] = None,
    alpha: Annotated[
        Optional[float],
        typer.Option(
            help="Weight of the classification loss (Eq. 6); not unet.", show_default=_recipe_default("alpha")
        ),
    ] = None,
    val_fraction: RecipeValFraction = None,
    seed: RecipeSeed = None,
    time_limit: RecipeTimeLimit = None,
    checkpoint: opt.Checkpoint = None,
    resume: opt.Resume = False,
    init: opt.Init = None,
    log: opt.LogFile = None,
    device: RecipeDevice = None,
    precision: RecipeTrainPrecision = None,
    half: opt.Half = False,
    phase: Annotated[
        Optional[str],
        typer.Option(
            help="Pretrained-encoder colorizers (unet): frozen (decoder on cached encoder features) or finetune (+ the upper encoder stages).",
            show_default=_recipe_default("phase"),
        ),
    ] = None,
    loss: Annotated[
        Optional[str],
        typer.Option(help="unet: classification, regression, mse, gaussian or both (default: the preset's)."),
    ] = None,
    crops_per_image: Annotated[
        Optional[int],
        typer.Option(
            min=1,
            help="unet: augmented crops per photo whose encoder features are cached.",
            show_default=_recipe_default("crops_per_image"),
        ),
    ] = None,
    encoder_lr: Annotated[
        Optional[float],
        typer.Option(
            help="unet, phase finetune: learning rate of the upper encoder stages.",
            show_default=_recipe_default("encoder_lr"),
        ),
    ] = None,
    cache_dir: Annotated[
        Optional[Path],
        typer.Option(help="unet: folder for the cached encoder features (reused by later runs).", file_okay=False),
    ] = None,
    recache_epochs: Annotated[
        Optional[int],
        typer.Option(
            min=0,
            help="unet: rebuild the cache from fresh crops every this many epochs (0: never).",
            show_default=_recipe_default("recache_epochs"),
        ),
    ] = None,
    balance: Annotated[
        bool, typer.Option(help="unet: draw photos with weight 1/sqrt(files of their source package).")
    ] = False,
    select: Annotated[
        Optional[Path],
        typer.Option(
            help="unet: folder of photos from sources kept out of training; the weights written are those of the epoch that scores best there.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    weight_decay: Annotated[
        Optional[float],
        typer.Option(
            min=0.0, help="unet: decoupled weight decay (AdamW).", show_default=_recipe_default("weight_decay")
        ),
    ] = None,
    ema: Annotated[
        Optional[float],
        typer.Option(
            min=0.0,
            max=0.9999,
            help="unet: decay per step of a moving average of the weights; the average is validated, selected and written.",
            show_default=_recipe_default("ema"),
        ),
    ] = None,
    report: opt.ReportFile = None,
    quiet: opt.Quiet = False,
) -> None:
    """Train a colorizer (Iizuka, Simo-Serra and Ishikawa 2016, §3.4-3.6); prints one JSON report (cfx.train/1).

    Runs unchanged under torchrun (DistributedDataParallel; --batch-size is the global batch).
    Colorizers on a pretrained encoder (unet) train in two phases on cached encoder features
    on one process (--phase; see cfx.train.cached_colorizer). An option the model's trainer
    does not use is refused (exit 2); defaults are the recipes' (cfx.train.recipes).
    """
    from cfx.registry import get_spec
    from cfx.reports import write_document

    given = given_options(locals(), COLORIZER_OPTIONS)
    given["model"] = ("--model", model)
    if get_spec(model, "colorize").defaults.get("trainer") == "cached":
        from cfx.train.cached_colorizer import train_cached_colorizer

        cached = recipe_from(CachedRecipe, given, f"the cached-feature trainer of {model} (cfx.train.cached_colorizer)")
        write_document(
            train_cached_colorizer(
                data, output, cached, checkpoint=checkpoint, resume=resume, log_path=log, quiet=quiet
            ),
            str(report) if report else None,
        )
        return
    from cfx.train.colorizer import train_colorizer

    recipe = recipe_from(ColorizerRecipe, given, f"the trainer of {model} (cfx.train.colorizer)")
    result = train_colorizer(data, output, recipe, checkpoint=checkpoint, resume=resume, log_path=log, quiet=quiet)
    if result.get("sha256"):  # rank 0 under torchrun; the only process otherwise
        write_document(result, str(report) if report else None)


def detector(
    natural: opt.Natural,
    output: opt.WeightsOut,
    colorized: opt.ColorizedDirs = None,
    colorizers: opt.Colorizers = None,
    model: Annotated[str, typer.Option("--model", "-m", help="Registry name of a detector.")] = "decnet.tanh-compact",
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training pairs.")] = 30,
    lr: Annotated[float, typer.Option(help="Base learning rate of SGD (momentum 0.9, weight decay 1e-4).")] = 1e-2,
    lr_step: Annotated[int, typer.Option(min=0, help="Divide the rate by 10 every this many epochs (0: never).")] = 10,
    batch_size: Annotated[
        int, typer.Option("--batch-size", "-b", min=2, help="Images per step, half natural and half colorized.")
    ] = 20,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="resize (each image resized to the input size, the paper's) or patch (a random native-resolution crop of each image per step; validation and cfx detect then score a grid of crops).",
        ),
    ] = "resize",
    frozen_stages: Annotated[
        Optional[int],
        typer.Option(
            "--frozen-stages",
            min=0,
            help="litenet (pretrained encoder): stages kept at their ImageNet weights; 0 none, 3 up to stride 8, 8 the whole encoder (only the last layer trains). Default: the preset's.",
        ),
    ] = None,
    cache_dir: Annotated[
        Optional[Path],
        typer.Option(
            help=f"litenet: train above the frozen stages (default {DEFAULT_CUT} here) on their cached output, stored in this folder and reused by later runs; resize mode, with --views.",
            file_okay=False,
        ),
    ] = None,
    views: Annotated[
        Optional[int],
        typer.Option(
            min=1,
            help="With --cache-dir: views per image, the test-time resize + augmented ones (crop, rescale, JPEG).",
            show_default=str(CachedDetectorRecipe.views),
        ),
    ] = None,
    launder: Annotated[
        bool,
        typer.Option(
            help="With --cache-dir: augmented views laundered as copies found online are (rescaled by 0.25-1, JPEG q40-95, one in three twice).",
        ),
    ] = False,
    val_fraction: opt.ValFraction = 0.1,
    seed: opt.Seed = 0,
    time_limit: opt.TimeLimit = 0.0,
    checkpoint: opt.Checkpoint = None,
    resume: opt.Resume = False,
    init: opt.Init = None,
    log: opt.LogFile = None,
    device: opt.Device = "auto",
    precision: opt.TrainPrecision = "auto",
    half: opt.Half = False,
    report: opt.ReportFile = None,
    quiet: opt.Quiet = False,
) -> None:
    """Train a detector of colorized images (Quan et al. 2019, §III-IV); prints one JSON report (cfx.train/1).

    The decision threshold is chosen on the validation pairs and stored in the model card.
    Runs unchanged under torchrun (DistributedDataParallel; --batch-size is the global batch).
    """
    from cfx.errors import UsageError
    from cfx.reports import write_document
    from cfx.train.detector import train_detector
    from cfx.train.detector_parts import DetectorRecipe, PairSources

    sources = PairSources(natural, *colorized_sources(colorized, colorizers))
    if cache_dir is not None:
        from cfx.train.cached_detector import train_cached_detector

        if mode != "resize":
            raise UsageError("--cache-dir trains in resize mode (with augmented views); drop --mode patch")
        cached = CachedDetectorRecipe(
            model=model,
            device=device,
            epochs=epochs,
            lr=lr,
            lr_step=lr_step,
            batch_size=batch_size,
            **({} if views is None else {"views": views}),
            launder=launder,
            **({} if frozen_stages is None else {"frozen_stages": frozen_stages}),
            val_fraction=val_fraction,
            seed=seed,
            time_limit_minutes=time_limit,
            half=half,
            init=str(init) if init else None,
            cache_dir=str(cache_dir),
            precision=precision,
        )
        result = train_cached_detector(
            sources, output, cached, checkpoint=checkpoint, resume=resume, log_path=log, quiet=quiet
        )
        write_document(result, str(report) if report else None)
        return
    if views is not None or launder:
        raise UsageError(
            f"{'--views' if views is not None else '--launder'}: not used by the trainer of {model} without --cache-dir (cfx.train.detector); drop it"
        )
    recipe = DetectorRecipe(
        model=model,
        epochs=epochs,
        lr=lr,
        lr_step=lr_step,
        batch_size=batch_size,
        val_fraction=val_fraction,
        seed=seed,
        time_limit_minutes=time_limit,
        half=half,
        device=device,
        init=str(init) if init else None,
        precision=precision,
        mode=mode,
        frozen_stages=frozen_stages,
    )
    result = train_detector(sources, output, recipe, checkpoint=checkpoint, resume=resume, log_path=log, quiet=quiet)
    if result.get("sha256"):
        write_document(result, str(report) if report else None)
