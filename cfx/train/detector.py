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
order reshuffled every epoch (the pieces shared with the other detector trainers are in
:mod:`cfx.train.detector_parts`). After every epoch the loop (:mod:`cfx.train.loop`) logs
the validation HTER per colorizer and writes a resumable checkpoint and the weights with
their card. The decision threshold on P(colorized) is the one with the lowest validation
HTER, stored in the card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Unpack

import torch

from cfx.errors import UsageError
from cfx.progress import message
from cfx.registry import get_spec
from cfx.train.common import seeded, set_lr, starting_weights
from cfx.train.detector_parts import (
    LOG_SCHEMA,
    DetectorLoss,
    DetectorRecipe,
    PairSources,
    create_detector,
    detector_card,
    save_detector,
    scheduled_lr,
    sgd,
    train_epoch,
    validate_pairs,
    validation_entry,
)
from cfx.train.distributed import World, setup, teardown
from cfx.train.loop import Run, RunOptions, State, Trainer, fit


def train_detector(
    sources: PairSources, output: Path, recipe: DetectorRecipe, **options: Unpack[RunOptions]
) -> dict[str, Any]:
    """Train ``recipe.model`` on the pairs of ``sources``; returns the final report (``cfx.train/1``).
    ``options``: the checkpoint, resume, log and quiet (:class:`cfx.train.loop.RunOptions`). Runs under torchrun too."""
    world = setup(recipe.device)
    try:
        run = Run.of(output, world, **options)
        return fit(DetectorTrainer(world, sources, recipe, run), run)
    finally:
        teardown(world)


class DetectorTrainer(Trainer):
    """A detector trained on whole images (resized or in random patches) of natural/colorized pairs."""

    log_schema = LOG_SCHEMA

    def __init__(self, world: World, sources: PairSources, recipe: DetectorRecipe, run: Run) -> None:
        super().__init__(world, run, recipe.epochs, recipe.time_limit_minutes)
        self.recipe = recipe
        self.spec = get_spec(recipe.model, "detect")
        if recipe.batch_size < 2 * world.size:
            raise UsageError(f"--batch-size {recipe.batch_size} is too small for {world.size} process(es)")
        torch.manual_seed(recipe.seed)
        model = create_detector(recipe)
        # a resumed checkpoint overwrites these
        self.pretrained = starting_weights(model, recipe.init, "detect", run.resuming, run.quiet)
        self.model = model.to(world.device).to(memory_format=torch.channels_last)  # faster convolutions
        self.data = data = sources.load(world, self.model.input_size, recipe, run.quiet, recipe.mode)
        self.crop = self.model.input_size if recipe.mode == "patch" else None
        message(
            f"data: {len(data.train.natural)} natural / {len(data.train.colorized)} colorized train, "
            f"{len(data.val.natural)} / {len(data.val.colorized)} val; {world.size} process(es) on {world.device}",
            run.quiet,
        )
        self.optimizer = sgd(self.model.parameters(), recipe.lr, recipe)
        self.loss = world.wrap(DetectorLoss(self.model))
        self.metrics: dict[str, Any] | None = None

    def own_state(self) -> State:
        return {"pretrained": self.pretrained}

    def prepare_epoch(self, state: State) -> None:
        set_lr(self.optimizer, scheduled_lr(self.recipe, state["epoch"]))

    def train_epoch(self, state: State) -> tuple[float, int]:
        recipe, train = self.recipe, self.data.train
        return train_epoch(
            self.loss,
            self.optimizer,
            train.natural,
            train.colorized,
            recipe.batch_size,
            seeded(recipe.seed, state["epoch"]),
            self.world,
            recipe.flip,
            self.quiet,
            f"epoch {state['epoch'] + 1}/{recipe.epochs}",
            precision=recipe.precision,
            crop=self.crop,
        )

    def validate(self, state: State) -> dict[str, Any]:
        self.metrics = validate_pairs(self.model, self.data.val, self.recipe.mode)
        return validation_entry(self.metrics)

    def save(self, state: State, final: bool) -> dict[str, Any]:
        """The weights and card, with the threshold of the last validation (``final``: validated now)."""
        metrics = validate_pairs(self.model, self.data.val, self.recipe.mode) if final else self.metrics
        return save_detector(self.model, self.output, detector_card(self.recipe, self.spec, self.data, state), metrics)
