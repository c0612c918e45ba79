"""`cfx harden detector`: negative sample insertion, Quan et al. (2019), §III-D, Algorithm 1.

Given a trained detector M, its natural/colorized training pairs P and a validation
set V of natural images:

1. error rate of M on V (natural images judged colorized), and the selection bound
   θ = β · error (β = 2), or θ = 2 % when the error is under 1 %;
2. for α in {0.1, 0.2, 0.3, 0.4}: negative samples I_NS = α·I_N + (1 − α)·I_C (Eq. 2)
   from the pairs still in P, labelled colorized, are inserted into the training set D
   (they stay there for the later rounds); M is trained S epochs; from epoch ⌈S/2⌉ on,
   each epoch's model is a candidate with its error rate on V; then every negative
   sample of this round that M now misclassifies (judges natural) drops its pair from
   P; the learning rate is multiplied by 0.1;
3. the final model is the candidate with the largest error rate still under θ
   (max{r_i | r_i < θ}; the later one on ties); if none is under θ, the one with the
   lowest error, and the report says so. A candidate that misses every natural
   validation photo (error 1.0) is never chosen, even when θ is above 1 (a parent that
   missed them all); when every candidate does, nothing is written and the run fails
   (:class:`RunFailed`).

Minibatches are half natural, half colorized, as in training. One epoch here is one
pass over the natural training images, with the colorized half drawn from everything
colorized in D (CIs and the negatives inserted so far), so epochs keep their length
as D grows. The decision threshold stays the parent model's. The rounds run as the
epochs of the one training loop (:mod:`cfx.train.loop`), without a checkpoint.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch

from cfx.card_data import portable_detector_data, portable_entries, portable_path
from cfx.errors import RunFailed, UsageError
from cfx.loading import load
from cfx.progress import message
from cfx.train.common import PrecisionChecked, rounded, seeded, set_lr
from cfx.train.detector_parts import (
    DetectorLoss,
    PairSources,
    save_detector,
    score_images,
    sgd,
    step_lr,
    train_epoch,
    validation_metrics,
)
from cfx.train.distributed import World, setup, teardown
from cfx.train.loop import Run, State, Trainer, fit

REPORT_SCHEMA = "cfx.harden-detector/1"
LOG_SCHEMA = "cfx.harden-detector-log/1"
PAPER_ALPHAS = (0.1, 0.2, 0.3, 0.4)


@dataclass
class HardenRecipe(PrecisionChecked):
    alphas: tuple[float, ...] = PAPER_ALPHAS
    round_epochs: int = 15  # S
    lr: float | None = None  # lr^0; None: the rate the parent finished training with
    beta: float = 2.0
    momentum: float = 0.9
    weight_decay: float = 1e-4
    batch_size: int = 20
    val_fraction: float = 0.1
    seed: int = 0
    flip: bool = True
    max_short_side: int = 256
    half: bool = False
    device: str = "auto"
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on the CPU), fp32 or bf16 (see training_autocast)


def negative_samples(
    natural: Sequence[torch.Tensor], colorized: Sequence[torch.Tensor], pairs: Sequence[tuple[int, int]], alpha: float
) -> list[torch.Tensor]:
    """Eq. 2 for each pair (i, j): α·I_N[i] + (1 − α)·I_C[j], rounded back to uint8."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    for i, j in pairs:
        if natural[i].shape != colorized[j].shape:
            raise UsageError(
                f"a natural image and its colorized version differ in size ({tuple(natural[i].shape)} vs {tuple(colorized[j].shape)}): they cannot be blended"
            )
    return [
        (alpha * natural[i].float() + (1.0 - alpha) * colorized[j].float()).round().clamp(0, 255).to(torch.uint8)
        for i, j in pairs
    ]


def selection_bound(error_rate: float, beta: float = 2.0) -> float:
    """θ = β · error rate on V, or 2 % when that error is under 1 % (Quan et al. 2019, §III-D)."""
    return 0.02 if error_rate < 0.01 else beta * error_rate


def select_candidate(errors: Sequence[float], theta: float) -> tuple[int, bool]:
    """(index, under θ): the largest error below θ, the later one on ties; else the lowest error."""
    if not errors:
        raise ValueError("no candidate models")
    under = [i for i, r in enumerate(errors) if r < theta]
    if under:
        best = max(errors[i] for i in under)
        return max(i for i in under if errors[i] == best), True
    low = min(errors)
    return max(i for i, r in enumerate(errors) if r == low), False


def natural_error_rate(
    model: torch.nn.Module, natural: Sequence[torch.Tensor], threshold: float, mode: str = "resize"
) -> float:
    """Share of natural images judged colorized (score ≥ threshold)."""
    if not natural:
        raise ValueError("no natural validation images")
    return float((score_images(model, natural, mode=mode) >= threshold).mean())


def second_half(epoch: int, round_epochs: int) -> bool:
    """Whether (1-based) ``epoch`` of a round is from ⌈S/2⌉ on."""
    return epoch >= math.ceil(round_epochs / 2)


@dataclass
class _Candidate:
    round: int
    epoch: int
    alpha: float
    error: float
    state: dict[str, torch.Tensor] = field(repr=False)


def harden_detector(
    weights: Path,
    sources: PairSources,
    output: Path,
    recipe: HardenRecipe,
    log_path: Path | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Algorithm 1 on the detector in ``weights`` and the pairs of ``sources``; writes
    ``output`` (+ card); returns the report."""
    world = setup(recipe.device)
    try:
        run = Run(output, None, log_path=log_path, quiet=quiet or not world.is_main)  # no checkpoint
        return fit(HardeningTrainer(world, weights, sources, recipe, run), run)
    finally:
        teardown(world)


class HardeningTrainer(Trainer):
    """One run of Algorithm 1 as the loop's epochs: the parent (line 1), the data and θ
    (lines 2-3), rounds of S epochs (lines 4-13: the loop's epoch e is epoch e mod S + 1 of
    round ⌊e/S⌋ + 1), the choice of the final model (line 14) and its card."""

    log_schema = LOG_SCHEMA
    report_schema = REPORT_SCHEMA

    def __init__(self, world: World, weights: Path, sources: PairSources, recipe: HardenRecipe, run: Run) -> None:
        parent = load("detect", weights=weights, device=world.device, inference=False)
        super().__init__(world, run, len(recipe.alphas) * recipe.round_epochs)
        self.weights, self.recipe = weights, recipe
        self.model = model = parent.network.to(memory_format=torch.channels_last).train()
        self.card = parent.card
        self.threshold = float(self.card.get("threshold", 0.5))
        self.mode = str(self.card.get("mode", "resize"))  # the parent's training mode (resize or patch) is kept
        self.crop = model.input_size if self.mode == "patch" else None
        self.lr = recipe.lr if recipe.lr is not None else _final_lr(self.card)
        self.candidates: list[_Candidate] = []
        self.rounds: list[dict[str, Any]] = []
        # P and V, the error rate on V before hardening and θ
        self.data = sources.load(world, model.input_size, recipe, run.quiet, self.mode)
        train, val = self.data.train, self.data.val
        if not val.natural:
            raise UsageError(f"{sources.natural}: no natural validation images (V)")
        self.before = validation_metrics(model, val, self.threshold, self.mode) if val.colorized else None
        self.base_error = natural_error_rate(model, val.natural, self.threshold, self.mode)
        self.theta = selection_bound(self.base_error, recipe.beta)
        message(
            f"error rate on V: {self.base_error:.4f}; θ = {self.theta:.4f}; {len(train.pairs)} pairs; lr^0 = {self.lr:g}",
            run.quiet,
        )
        self.optimizer = sgd(model.parameters(), self.lr, recipe)
        self.loss = world.wrap(DetectorLoss(model))
        self.active = list(range(len(train.pairs)))  # P: indices into train.pairs
        self.colorized_pool: list[torch.Tensor] = list(train.colorized)  # D's colorized part
        self.round: dict[str, Any] | None = None  # the round in progress
        self.negatives: list[torch.Tensor] = []  # its negative samples
        self.round_candidates: list[int] = []  # its candidates (indices into self.candidates)
        self.error: float | None = None  # the last epoch's error on V, when it made a candidate
        self.hardening: dict[str, Any] = {}
        self.after: dict[str, Any] | None = None
        self.started = time.monotonic()

    @property
    def usable_bound(self) -> float:
        """θ, but never above 1: a candidate that misses every natural photo is not a choice."""
        return min(self.theta, 1.0)

    def position(self, epoch: int) -> tuple[int, float, int]:
        """(round, α, epoch of the round) of the loop's 0-based ``epoch``, both 1-based."""
        r, within = divmod(epoch, self.recipe.round_epochs)
        return r + 1, self.recipe.alphas[r], within + 1

    def prepare_epoch(self, state: State) -> None:
        """At the first epoch of a round: the round before ends (lines 7-13), this one's negatives go into D (line 5)."""
        r, alpha, epoch = self.position(state["epoch"])
        if epoch > 1:
            return
        self.end_round(state)
        train = self.data.train
        pairs = [train.pairs[k] for k in self.active]
        self.negatives = negative_samples(train.natural, train.colorized, pairs, alpha)
        self.colorized_pool += self.negatives
        set_lr(self.optimizer, self.lr)
        self.round = {
            "round": r,
            "alpha": alpha,
            "lr": self.lr,
            "pairs": len(pairs),
            "negatives": len(self.negatives),
            "train_colorized_pool": len(self.colorized_pool),
            "epochs": [],
        }
        self.round_candidates = []

    def train_epoch(self, state: State) -> tuple[float, int]:
        """One epoch of the round; from ⌈S/2⌉ on its model is a candidate, with its error on V."""
        recipe, natural = self.recipe, self.data.train.natural
        r, alpha, epoch = self.position(state["epoch"])
        loss, seen = train_epoch(
            self.loss,
            self.optimizer,
            natural,
            self.colorized_pool,
            recipe.batch_size,
            seeded(recipe.seed, r, epoch),
            self.world,
            recipe.flip,
            self.quiet,
            f"round {r} (α={alpha}) epoch {epoch}/{recipe.round_epochs}",
            count=len(natural),
            precision=recipe.precision,
            crop=self.crop,
        )
        self.error = None
        if second_half(epoch, recipe.round_epochs):  # every process, so all choose alike
            self.error = natural_error_rate(self.model, self.data.val.natural, self.threshold, self.mode)
            self.round_candidates.append(len(self.candidates))
            self.candidates.append(_Candidate(r, epoch, alpha, self.error, copy.deepcopy(self.model.state_dict())))
        return loss, seen

    def log_entry(self, state: State, loss: float, samples: int) -> dict[str, Any]:
        """The round, α and the epoch of the round; the samples of this epoch."""
        r, alpha, epoch = self.position(state["epoch"] - 1)
        return {
            "schema": LOG_SCHEMA,
            "round": r,
            "alpha": alpha,
            "epoch": epoch,
            "train_loss": loss,
            "samples": samples,
            "lr": self.lr,
        }

    def validate(self, state: State) -> dict[str, Any]:
        return {} if self.error is None else {"val_error": self.error}

    def end_round(self, state: State) -> None:
        """Lines 7-13 after a round's last epoch: a negative sample that the model misclassifies
        (judges natural) drops its pair from P; the round's best candidate; lr × 0.1."""
        info = self.round
        if info is None:
            return
        judged = score_images(self.model, self.negatives, mode=self.mode, precision=self.recipe.precision)
        judged = judged >= self.threshold
        self.active = [k for k, colorized in zip(self.active, judged) if colorized]
        info["epochs"] = [
            {k: v for k, v in entry.items() if k not in ("schema", "round", "alpha")}
            for entry in state["log"]
            if entry["round"] == info["round"]
        ]
        info["kept_pairs"] = len(self.active)
        info["dropped_pairs"] = int((~judged).sum())
        if self.round_candidates:
            errors = [self.candidates[c].error for c in self.round_candidates]
            pick, under = select_candidate(errors, self.usable_bound)
            info["selected_epoch"] = self.candidates[self.round_candidates[pick]].epoch
            info["selected_epoch_under_theta"] = under
        self.rounds.append(info)
        self.lr *= 0.1  # line 13
        self.round = None

    def save(self, state: State, final: bool) -> dict[str, Any] | None:
        """Nothing after an epoch; after the last round, line 14: the final model among the
        candidates, its weights and card."""
        if not final:
            return None
        self.end_round(state)
        chosen_index, under_theta = select_candidate([c.error for c in self.candidates], self.usable_bound)
        chosen = self.candidates[chosen_index]
        if chosen.error >= 1.0:
            raise RunFailed(
                f"every candidate judges every natural validation photo colorized (error 1.0 at threshold "
                f"{self.threshold:g}, {len(self.candidates)} candidates); {self.output} not written"
            )
        self.model.load_state_dict(chosen.state)
        val = self.data.val
        self.after = validation_metrics(self.model, val, self.threshold, self.mode) if val.colorized else None
        card = self.card
        base = Path(self.data.description["natural"]).resolve().parent  # recorded paths are shown relative to it
        self.hardening = {
            "parent": {
                "name": card["name"],
                "weights": portable_path(self.weights, base),
                "sha256": card.get("sha256"),
            },
            "recipe": portable_entries(asdict(self.recipe), base),
            "lr0": self.rounds[0]["lr"] if self.rounds else self.lr,
            "base_val_error": self.base_error,
            "theta": self.theta,
            "selected": {
                "round": chosen.round,
                "epoch": chosen.epoch,
                "alpha": chosen.alpha,
                "val_error": chosen.error,
                "under_theta": under_theta,
            },
            "rounds": self.rounds,
            "train_seconds": round(time.monotonic() - self.started, 1),
        }
        new_card = {
            k: v
            for k, v in card.items()
            if k
            not in ("schema", "sha256", "bytes", "params", "dtype", "config", "metrics", "threshold", "weights_path")
        }
        new_card.update(
            parent=card.get("sha256"),
            hardening=rounded(self.hardening),
            training={**card.get("training", {}), "hardening_data": portable_detector_data(self.data.description)},
        )
        # ``after`` is at the parent's threshold
        return save_detector(self.model, self.output, new_card, self.after, half=self.recipe.half)

    def report(self, card: dict[str, Any], state: State, run: Run) -> dict[str, Any]:
        """The hardening, with the validation metrics before and after (rank 0; the others: no sha256)."""
        return {
            "schema": REPORT_SCHEMA,
            "output": str(run.output),
            "sha256": card.get("sha256"),
            "threshold": self.threshold,
            **rounded(self.hardening),
            "before": _public(self.before),
            "after": _public(self.after),
        }


def _public(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """The validation metrics as reported (rounded; without the threshold, which the report has)."""
    if metrics is None:
        return None
    return rounded({"overall": metrics["overall"], "per_colorizer": metrics["per_colorizer"]})


def _final_lr(card: dict[str, Any]) -> float:
    """The rate the parent's training ended with (its recipe's schedule at its last epoch)."""
    training = card.get("training", {})
    recipe = training.get("recipe", {})
    return step_lr(
        float(recipe.get("lr", 1e-2)), int(recipe.get("lr_step", 0) or 0), int(training.get("epochs", 1)) - 1
    )
