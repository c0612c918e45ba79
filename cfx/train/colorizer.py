"""`cfx train colorizer`: Iizuka, Simo-Serra and Ishikawa 2016, §3.4–3.6.

The loss is each architecture's own (``training_loss``; for iizuka Eq. 6: MSE between
the predicted and true a*b* plus α = 1/300 times the scene-class cross-entropy when the
data folder has class labels). ADADELTA as in the paper, or Adam. Random
crops at several scales and horizontal flips. The loop (:mod:`cfx.train.loop`) writes
one JSON log line per epoch with train and validation loss, validation PSNR and AuC
(:mod:`cfx.train.colorizer_parts`), resumable checkpoints, and a safetensors file with
its model card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Unpack

import torch

from cfx.data.folder import load_folder, random_crop
from cfx.errors import UsageError
from cfx.progress import message, progress
from cfx.registry import create_model, get_spec
from cfx.train.colorizer_parts import LOG_SCHEMA, colorizer_card, epoch_batches, lab_batch, validate
from cfx.train.common import optimizer_step, seeded, set_lr, starting_weights, training_autocast
from cfx.train.distributed import World, setup, teardown
from cfx.train.loop import Run, RunOptions, State, Trainer, fit
from cfx.train.recipes import ColorizerRecipe
from cfx.weights import save_model

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


def train_colorizer(data: Path, output: Path, recipe: ColorizerRecipe, **options: Unpack[RunOptions]) -> dict[str, Any]:
    """Train ``recipe.model`` on the images under ``data``; returns the final report.
    ``options``: the checkpoint, resume, log and quiet (:class:`cfx.train.loop.RunOptions`).

    Under ``torchrun`` every process runs this function: each trains on its share of
    every global batch (``recipe.batch_size`` images in all) and rank 0 does the rest.
    """
    world = setup(recipe.device)
    try:
        run = Run.of(output, world, **options)
        return fit(ColorizerTrainer(world, data, recipe, run), run)
    finally:
        teardown(world)


class ColorizerTrainer(Trainer):
    """A colorizer trained end to end on random crops of the photos under ``data``."""

    log_schema = LOG_SCHEMA

    def __init__(self, world: World, data: Path, recipe: ColorizerRecipe, run: Run) -> None:
        super().__init__(world, run, recipe.epochs, recipe.time_limit_minutes)
        self.data, self.recipe = data, recipe
        self.spec = get_spec(recipe.model, "colorize")
        self.folder = folder = load_folder(data, recipe.val_fraction, recipe.max_short_side, quiet=run.quiet)
        if not len(folder.train):
            raise UsageError(f"{data}: no training images found")
        if len(folder.train) < 2 * world.size:
            raise UsageError(
                f"{data}: only {len(folder.train)} training images; {world.size} processes need at least {2 * world.size}"
            )
        message(
            f"data: {len(folder.train)} train / {len(folder.val)} val images, {len(folder.classes)} classes; {world.size} process(es) on {world.device}",
            run.quiet,
        )
        torch.manual_seed(recipe.seed)
        model = create_model(recipe.model, num_classes=len(folder.classes))
        # a resumed checkpoint overwrites these
        self.pretrained = starting_weights(model, recipe.init, "colorize", run.resuming, run.quiet)
        self.model = model.to(world.device)
        self.size = recipe.crop_size or self.model.train_size
        self.optimizer = _optimizer(self.model, recipe)
        self.loss = world.wrap(_TrainingLoss(self.model, recipe.alpha))
        self.amp = training_autocast(world.device, recipe.precision)
        self.model.train()

    def own_state(self) -> State:
        return {"steps": 0, "pretrained": self.pretrained}

    def prepare_epoch(self, state: State) -> None:
        set_lr(self.optimizer, _learning_rate(self.recipe))  # a resumed run takes the command line's rate

    def train_epoch(self, state: State) -> tuple[float, int]:
        recipe, world, images = self.recipe, self.world, self.folder.train
        batches = epoch_batches(len(images), recipe, state["epoch"], world.size)
        running, trained = 0.0, 0
        with progress(
            f"epoch {state['epoch'] + 1}/{recipe.epochs}", total=sum(map(len, batches)), quiet=self.quiet
        ) as bar:
            for batch in batches:
                mine = world.my_part(batch)
                rgb = torch.stack(
                    [
                        random_crop(
                            images.images[i], self.size, seeded(recipe.seed, state["epoch"], i), recipe.min_scale
                        )
                        for i in mine
                    ]
                )
                labels = torch.tensor([images.labels[i] for i in mine], device=world.device)
                lightness, ab = lab_batch(rgb.to(world.device))
                with self.amp:
                    loss, _ = self.loss(lightness, ab, labels)
                running += optimizer_step(self.optimizer, loss) * len(mine)
                trained += len(mine)
                state["steps"] += 1
                bar.advance(len(batch))
        running, total = world.sum([running, float(trained)])
        return running / max(total, 1), int(total)

    def validate(self, state: State) -> dict[str, Any]:
        if not len(self.folder.val):
            return {}
        return validate(self.model, self.folder.val, self.size, self.recipe.alpha, self.recipe.batch_size)

    def save(self, state: State, final: bool) -> dict[str, Any]:
        """The weights and their card as they are after the last epoch."""
        card = colorizer_card(self.recipe, self.spec, self.folder, self.data, self.size, state)
        return save_model(self.model, self.output, card, half=self.recipe.half)
