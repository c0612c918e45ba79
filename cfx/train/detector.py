"""`cfx train detector`: Quan et al. (2019), §III-B/C (BaseNet, DecNet) and §IV-A (training protocol).

The training pairs (natural images and colorized versions of the same scenes) come from
:mod:`cfx.data.pairs`. In ``resize`` mode (the paper's) every image is resized to the
detector's square input; in ``patch`` mode every training step takes a random square
crop of each image at its native resolution (:func:`cfx.detect.random_patch`), and
validation scores them as `cfx detect --mode patch` does (a grid of crops, the maximum
score), so pixel-scale traces that a resize would blur stay visible.
Detectors on an ImageNet-pretrained encoder (``litenet``, :mod:`cfx.models.lite_detector`)
start from its ImageNet weights, whose provenance goes into the card, and keep its lower
``frozen_stages`` fixed (``--frozen-stages``: the whole encoder for a first stage that trains
the last layer only, then fewer with ``--init`` to fine-tune the upper blocks).

SGD with momentum 0.9 and weight decay 1e-4; minibatches of half NIs and half CIs;
the learning rate divided by 10 every ``lr_step`` epochs (the paper: 1e-4, ÷10 every
20 of 60 epochs on 10,000 pairs; our defaults are scaled to a few hundred pairs); the
order reshuffled every epoch. After every epoch: validation HTER per colorizer, a
resumable checkpoint, and the weights with their card. The decision threshold on
P(colorized) is the one with the lowest validation HTER, stored in the card.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from cfx.colorizer_sets import load_colorizers
from cfx.data.pairs import load_detector_data
from cfx.errors import UsageError
from cfx.progress import message
from cfx.registry import get_spec
from cfx.train.checkpoint import load_checkpoint, save_checkpoint
from cfx.train.common import emit_log, seeded, starting_weights
from cfx.train.detector_parts import (
    DetectorLoss,
    DetectorRecipe,
    create_detector,
    detector_card,
    epoch_entry,
    save_detector,
    scheduled_lr,
    set_lr,
    sgd,
    train_epoch,
    validate_pairs,
)
from cfx.train.distributed import World, setup, teardown

REPORT_SCHEMA = "cfx.train/1"


def train_detector(
    natural: Path,
    output: Path,
    recipe: DetectorRecipe,
    colorized_dirs: Sequence[tuple[str, Path]] = (),
    colorizer_names: Sequence[str] = (),
    checkpoint: Path | None = None,
    resume: bool = False,
    log_path: Path | None = None,
    quiet: bool = False,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train ``recipe.model``; returns the final report (``cfx.train/1``). Runs under torchrun too."""
    world = setup(recipe.device)
    try:
        return _train(
            world,
            natural,
            output,
            recipe,
            colorized_dirs,
            colorizer_names,
            checkpoint,
            resume,
            log_path,
            quiet or not world.is_main,
            on_epoch,
        )
    finally:
        teardown(world)


def _train(
    world: World,
    natural: Path,
    output: Path,
    recipe: DetectorRecipe,
    colorized_dirs: Sequence[tuple[str, Path]],
    colorizer_names: Sequence[str],
    checkpoint: Path | None,
    resume: bool,
    log_path: Path | None,
    quiet: bool,
    on_epoch: Callable[[dict[str, Any]], None] | None,
) -> dict[str, Any]:
    spec = get_spec(recipe.model, "detect")
    if recipe.batch_size < 2 * world.size:
        raise UsageError(f"--batch-size {recipe.batch_size} is too small for {world.size} process(es)")
    torch.manual_seed(recipe.seed)
    model = create_detector(recipe)
    checkpoint = checkpoint or output.with_name(output.name + ".ckpt")
    resuming = resume and checkpoint.is_file()
    pretrained = starting_weights(
        model, recipe.init, "detect", resuming, quiet
    )  # a resumed checkpoint overwrites these below
    model = model.to(world.device).to(memory_format=torch.channels_last)  # faster convolutions on CPUs and GPUs
    colorizers = load_colorizers(colorizer_names, device=str(world.device))
    data = load_detector_data(
        natural,
        colorized_dirs,
        colorizers,
        model.input_size,
        recipe.val_fraction,
        recipe.max_short_side,
        quiet,
        recipe.mode,
    )
    crop = model.input_size if recipe.mode == "patch" else None
    message(
        f"data: {len(data.train.natural)} natural / {len(data.train.colorized)} colorized train, "
        f"{len(data.val.natural)} / {len(data.val.colorized)} val; {world.size} process(es) on {world.device}",
        quiet,
    )
    optimizer = sgd(model.parameters(), recipe.lr, recipe)
    state: dict[str, Any] = {"epoch": 0, "samples": 0, "seconds": 0.0, "log": [], "pretrained": pretrained}
    if resuming:
        state = load_checkpoint(checkpoint, model, optimizer, None)
        message(f"resumed from {checkpoint} at epoch {state['epoch']}", quiet)
    trainer = world.wrap(DetectorLoss(model))
    card: dict[str, Any] | None = None
    while state["epoch"] < recipe.epochs:
        started = time.monotonic()
        set_lr(optimizer, scheduled_lr(recipe, state["epoch"]))
        loss, seen = train_epoch(
            trainer,
            optimizer,
            data.train.natural,
            data.train.colorized,
            recipe.batch_size,
            seeded(recipe.seed, state["epoch"]),
            world,
            recipe.flip,
            quiet,
            f"epoch {state['epoch'] + 1}/{recipe.epochs}",
            precision=recipe.precision,
            crop=crop,
        )
        state["epoch"] += 1
        state["samples"] += seen
        state["seconds"] += time.monotonic() - started
        if world.is_main:
            metrics = validate_pairs(model, data.val, recipe.mode)
            entry = epoch_entry(state, loss, optimizer.param_groups[0]["lr"], world.size, metrics)
            state["log"].append(entry)
            emit_log(entry, log_path, quiet)
            if on_epoch:
                on_epoch(entry)
            save_checkpoint(checkpoint, model, optimizer, None, state)
            card = save_detector(model, output, detector_card(recipe, spec, data, state), metrics)
        world.barrier()
        if recipe.time_limit_minutes and state["seconds"] >= recipe.time_limit_minutes * 60:
            message(f"time limit reached after epoch {state['epoch']}", quiet)
            break
    if card is None and world.is_main:
        card = save_detector(
            model, output, detector_card(recipe, spec, data, state), validate_pairs(model, data.val, recipe.mode)
        )
    return {
        **(card or {}),
        "schema": REPORT_SCHEMA,
        "output": str(output),
        "checkpoint": str(checkpoint),
        "log": state["log"],
    }
