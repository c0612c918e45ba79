"""`cfx train colorizer`: Iizuka, Simo-Serra and Ishikawa 2016, §3.4–3.6.

The loss is each architecture's own (``training_loss``; for iizuka Eq. 6: MSE between
the predicted and true a*b* plus α = 1/300 times the scene-class cross-entropy when the
data folder has class labels). ADADELTA as in the paper, or Adam. Random
crops at several scales and horizontal flips. One JSON log line per epoch with train
and validation loss, validation PSNR and AuC; resumable checkpoints; the result is a
safetensors file with its model card.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import torch

from cfx.data.folder import load_folder, random_crop
from cfx.errors import UsageError
from cfx.progress import message, progress
from cfx.registry import create_model, get_spec
from cfx.train.checkpoint import load_checkpoint, save_checkpoint
from cfx.train.colorizer_parts import LOG_SCHEMA, colorizer_card, epoch_batches, lab_batch, validate
from cfx.train.common import emit_log, seeded, starting_weights, training_autocast
from cfx.train.distributed import World, setup, teardown
from cfx.train.recipes import ColorizerRecipe
from cfx.weights import save_model

REPORT_SCHEMA = "cfx.train/1"


_OPTIMIZERS = {"adam": torch.optim.Adam, "adadelta": torch.optim.Adadelta}


def _learning_rate(recipe: ColorizerRecipe) -> float:
    """ADADELTA's rate is a scale on its own adaptive steps: 1.0 unless asked otherwise."""
    return 1.0 if recipe.optimizer == "adadelta" and recipe.lr == ColorizerRecipe.lr else recipe.lr


def _optimizer(model: torch.nn.Module, recipe: ColorizerRecipe) -> torch.optim.Optimizer:
    if recipe.optimizer not in _OPTIMIZERS:
        raise UsageError(f"unknown optimizer {recipe.optimizer!r} (adam or adadelta)")
    return _OPTIMIZERS[recipe.optimizer](model.parameters(), lr=_learning_rate(recipe))


class _TrainingLoss(torch.nn.Module):
    """The model's loss as a forward pass, so DistributedDataParallel can wrap it."""

    def __init__(self, model: torch.nn.Module, alpha: float) -> None:
        super().__init__()
        self.model, self.alpha = model, alpha

    def forward(
        self, lightness: torch.Tensor, ab: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.training_loss(lightness, ab, labels, self.alpha)


def train_colorizer(
    data: Path,
    output: Path,
    recipe: ColorizerRecipe,
    checkpoint: Path | None = None,
    resume: bool = False,
    log_path: Path | None = None,
    quiet: bool = False,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train ``recipe.model`` on the images under ``data``; returns the final report.

    Under ``torchrun`` every process runs this function: each trains on its share of
    every global batch (``recipe.batch_size`` images in all) and rank 0 does the rest.
    """
    world = setup(recipe.device)
    try:
        return _train(world, data, output, recipe, checkpoint, resume, log_path, quiet or not world.is_main, on_epoch)
    finally:
        teardown(world)


def _train(
    world: World,
    data: Path,
    output: Path,
    recipe: ColorizerRecipe,
    checkpoint: Path | None,
    resume: bool,
    log_path: Path | None,
    quiet: bool,
    on_epoch: Callable[[dict[str, Any]], None] | None,
) -> dict[str, Any]:
    spec = get_spec(recipe.model, "colorize")
    folder = load_folder(data, recipe.val_fraction, recipe.max_short_side, quiet=quiet)
    if not len(folder.train):
        raise UsageError(f"{data}: no training images found")
    if len(folder.train) < 2 * world.size:
        raise UsageError(
            f"{data}: only {len(folder.train)} training images; {world.size} processes need at least {2 * world.size}"
        )
    message(
        f"data: {len(folder.train)} train / {len(folder.val)} val images, {len(folder.classes)} classes; {world.size} process(es) on {world.device}",
        quiet,
    )
    torch.manual_seed(recipe.seed)
    model = create_model(recipe.model, num_classes=len(folder.classes))
    checkpoint = checkpoint or output.with_name(output.name + ".ckpt")
    resuming = resume and checkpoint.is_file()
    pretrained = starting_weights(
        model, recipe.init, "colorize", resuming, quiet
    )  # a resumed checkpoint overwrites these
    model = model.to(world.device)
    size = recipe.crop_size or model.train_size
    optimizer = _optimizer(model, recipe)
    state: dict[str, Any] = {"epoch": 0, "samples": 0, "steps": 0, "seconds": 0.0, "log": [], "pretrained": pretrained}
    if resuming:
        state = load_checkpoint(checkpoint, model, optimizer, None)  # crops are seeded per image and epoch
        for group in optimizer.param_groups:  # the command line's rate wins (a later, lower-rate phase)
            group["lr"] = _learning_rate(recipe)
        message(f"resumed from {checkpoint} at epoch {state['epoch']}", quiet)
    trainer = world.wrap(_TrainingLoss(model, recipe.alpha))
    amp = training_autocast(world.device, recipe.precision)
    card: dict[str, Any] | None = None
    model.train()
    while state["epoch"] < recipe.epochs:
        started = time.monotonic()
        batches = epoch_batches(len(folder.train), recipe, state["epoch"], world.size)
        running, trained = 0.0, 0
        with progress(f"epoch {state['epoch'] + 1}/{recipe.epochs}", total=sum(map(len, batches)), quiet=quiet) as bar:
            for batch in batches:
                mine = world.my_part(batch)
                rgb = torch.stack(
                    [
                        random_crop(
                            folder.train.images[i], size, seeded(recipe.seed, state["epoch"], i), recipe.min_scale
                        )
                        for i in mine
                    ]
                )
                labels = torch.tensor([folder.train.labels[i] for i in mine], device=world.device)
                lightness, ab = lab_batch(rgb.to(world.device))
                with amp:
                    loss, _ = trainer(lightness, ab, labels)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                running += loss.item() * len(mine)
                trained += len(mine)
                state["steps"] += 1
                bar.advance(len(batch))
        running, trained = world.sum([running, float(trained)])
        state["samples"] += int(trained)
        state["epoch"] += 1
        state["seconds"] += time.monotonic() - started
        entry = {
            "schema": LOG_SCHEMA,
            "epoch": state["epoch"],
            "train_loss": running / max(trained, 1),
            "samples": state["samples"],
            "seconds": round(state["seconds"], 1),
            "lr": optimizer.param_groups[0]["lr"],
            "processes": world.size,
        }
        if world.is_main:
            if len(folder.val):
                entry.update(validate(model, folder.val, size, recipe.alpha, recipe.batch_size))
            state["log"].append(entry)
            emit_log(entry, log_path, quiet)
            if on_epoch:
                on_epoch(entry)
            save_checkpoint(checkpoint, model, optimizer, None, state)
            card = _save(model, output, recipe, spec, folder, data, size, state)  # usable after any epoch
        world.barrier()
        if recipe.time_limit_minutes and state["seconds"] >= recipe.time_limit_minutes * 60:
            message(f"time limit reached after epoch {state['epoch']}", quiet)
            break
    if card is None and world.is_main:
        card = _save(model, output, recipe, spec, folder, data, size, state)
    return {
        **(card or {}),
        "schema": REPORT_SCHEMA,
        "output": str(output),
        "checkpoint": str(checkpoint),
        "log": state["log"],
    }


def _save(
    model: torch.nn.Module,
    output: Path,
    recipe: ColorizerRecipe,
    spec: Any,
    folder: Any,
    data: Path,
    size: int,
    state: dict[str, Any],
) -> dict[str, Any]:
    """Write the weights and their card as they are after the last epoch."""
    return save_model(model, output, colorizer_card(recipe, spec, folder, data, size, state), half=recipe.half)
