"""`cfx harden detector`: negative sample insertion, seed 000 §III-D, Algorithm 1.

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
   lowest error, and the report says so.

Minibatches are half natural, half colorized, as in training. One epoch here is one
pass over the natural training images, with the colorized half drawn from everything
colorized in D (CIs and the negatives inserted so far), so epochs keep their length
as D grows. The decision threshold stays the parent model's.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch

from cfx.progress import message
from cfx.train.common import PrecisionChecked, emit_log, rounded, seeded
from cfx.train.detector import _Loss, load_colorizers, load_detector_data, save_detector, score_images, set_lr, step_lr, train_epoch, validation_metrics
from cfx.train.distributed import setup, teardown

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


def negative_samples(natural: Sequence[torch.Tensor], colorized: Sequence[torch.Tensor], pairs: Sequence[tuple[int, int]], alpha: float) -> list[torch.Tensor]:
    """Eq. 2 for each pair (i, j): α·I_N[i] + (1 − α)·I_C[j], rounded back to uint8."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    for i, j in pairs:
        if natural[i].shape != colorized[j].shape:
            raise ValueError(f"a natural image and its colorized version differ in size ({tuple(natural[i].shape)} vs {tuple(colorized[j].shape)}): they cannot be blended")
    return [(alpha * natural[i].float() + (1.0 - alpha) * colorized[j].float()).round().clamp(0, 255).to(torch.uint8) for i, j in pairs]


def selection_bound(error_rate: float, beta: float = 2.0) -> float:
    """θ = β · error rate on V, or 2 % when that error is under 1 % (seed 000 §III-D)."""
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


def natural_error_rate(model: torch.nn.Module, natural: Sequence[torch.Tensor], threshold: float, mode: str = "resize") -> float:
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
    natural: Path,
    output: Path,
    recipe: HardenRecipe,
    colorized_dirs: Sequence[tuple[str, Path]] = (),
    colorizer_names: Sequence[str] = (),
    log_path: Path | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Algorithm 1 on the detector in ``weights``; writes ``output`` (+ card); returns the report."""
    from cfx.weights import load_model, read_card

    world = setup(recipe.device)
    quiet = quiet or not world.is_main
    try:
        parent_card = read_card(weights)
        model, card = load_model(parent_card["name"], weights, world.device)
        if getattr(model, "task", None) != "detect":
            raise ValueError(f"{weights}: {parent_card['name']} is not a detector")
        model = model.to(memory_format=torch.channels_last).train()
        threshold = float(card.get("threshold", 0.5))
        mode = str(card.get("mode", "resize"))  # the parent's training mode (resize or patch) is kept
        crop = model.input_size if mode == "patch" else None
        parent_log = card.get("training", {})
        lr = recipe.lr if recipe.lr is not None else _final_lr(card)
        colorizers = load_colorizers(colorizer_names, device=str(world.device))
        data = load_detector_data(natural, colorized_dirs, colorizers, model.input_size, recipe.val_fraction, recipe.max_short_side, quiet, mode)
        train, val = data.train, data.val
        if not val.natural:
            raise ValueError(f"{natural}: no natural validation images (V)")
        before = validation_metrics(model, val, threshold, mode) if val.colorized else None
        base_error = natural_error_rate(model, val.natural, threshold, mode)
        theta = selection_bound(base_error, recipe.beta)
        message(f"error rate on V: {base_error:.4f}; θ = {theta:.4f}; {len(train.pairs)} pairs; lr^0 = {lr:g}", quiet)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
        trainer = world.wrap(_Loss(model))
        active = list(range(len(train.pairs)))  # P: indices into train.pairs
        colorized_pool: list[torch.Tensor] = list(train.colorized)  # D's colorized part
        candidates: list[_Candidate] = []
        rounds: list[dict[str, Any]] = []
        started = time.monotonic()
        for r, alpha in enumerate(recipe.alphas, start=1):
            pairs = [train.pairs[k] for k in active]
            negatives = negative_samples(train.natural, train.colorized, pairs, alpha)
            colorized_pool += negatives
            set_lr(optimizer, lr)
            info: dict[str, Any] = {"round": r, "alpha": alpha, "lr": lr, "pairs": len(pairs), "negatives": len(negatives), "train_colorized_pool": len(colorized_pool), "epochs": []}
            round_candidates: list[int] = []
            for epoch in range(1, recipe.round_epochs + 1):
                loss, seen = train_epoch(
                    trainer, optimizer, train.natural, colorized_pool, recipe.batch_size, seeded(recipe.seed, r, epoch), world,
                    recipe.flip, quiet, f"round {r} (α={alpha}) epoch {epoch}/{recipe.round_epochs}", count=len(train.natural),
                    precision=recipe.precision, crop=crop,
                )
                entry: dict[str, Any] = {"schema": LOG_SCHEMA, "round": r, "alpha": alpha, "epoch": epoch, "train_loss": loss, "samples": seen, "lr": lr}
                if second_half(epoch, recipe.round_epochs):  # every process, so all choose alike
                    error = natural_error_rate(model, val.natural, threshold, mode)
                    entry["val_error"] = error
                    round_candidates.append(len(candidates))
                    candidates.append(_Candidate(r, epoch, alpha, error, copy.deepcopy(model.state_dict())))
                info["epochs"].append({k: v for k, v in entry.items() if k not in ("schema", "round", "alpha")})
                emit_log(entry, log_path, quiet)
                world.barrier()
            # Lines 7-11: a misclassified negative sample (judged natural) drops its pair.
            judged = score_images(model, negatives, mode=mode) >= threshold
            active = [k for k, colorized in zip(active, judged) if colorized]
            info["kept_pairs"] = len(active)
            info["dropped_pairs"] = int((~judged).sum())
            if round_candidates:
                pick, under = select_candidate([candidates[c].error for c in round_candidates], theta)
                info["selected_epoch"] = candidates[round_candidates[pick]].epoch
                info["selected_epoch_under_theta"] = under
            rounds.append(info)
            lr *= 0.1  # line 13
        chosen_index, under_theta = select_candidate([c.error for c in candidates], theta)
        chosen = candidates[chosen_index]
        model.load_state_dict(chosen.state)
        after = validation_metrics(model, val, threshold, mode) if val.colorized else None
        hardening = {
            "parent": {"name": card["name"], "weights": str(weights), "sha256": card.get("sha256")},
            "recipe": asdict(recipe),
            "lr0": rounds[0]["lr"] if rounds else lr,
            "base_val_error": base_error,
            "theta": theta,
            "selected": {"round": chosen.round, "epoch": chosen.epoch, "alpha": chosen.alpha, "val_error": chosen.error, "under_theta": under_theta},
            "rounds": rounds,
            "train_seconds": round(time.monotonic() - started, 1),
        }
        new_card = {k: v for k, v in card.items() if k not in ("schema", "sha256", "bytes", "params", "dtype", "config", "metrics", "threshold", "weights_path")}
        new_card.update(parent=card.get("sha256"), hardening=rounded(hardening), training={**parent_log, "hardening_data": data.description})
        saved: dict[str, Any] = {}
        if world.is_main:
            saved = save_detector(model, output, new_card, after, half=recipe.half)  # ``after`` is at the parent's threshold
        report = {
            "schema": REPORT_SCHEMA,
            "output": str(output),
            "sha256": saved.get("sha256"),
            "threshold": threshold,
            **rounded(hardening),
            "before": _public(before),
            "after": _public(after),
        }
        return report
    finally:
        teardown(world)


def _public(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """The validation metrics as reported (rounded; without the threshold, which the report has)."""
    if metrics is None:
        return None
    return rounded({"overall": metrics["overall"], "per_colorizer": metrics["per_colorizer"]})


def _final_lr(card: dict[str, Any]) -> float:
    """The rate the parent's training ended with (its recipe's schedule at its last epoch)."""
    training = card.get("training", {})
    recipe = training.get("recipe", {})
    return step_lr(float(recipe.get("lr", 1e-2)), int(recipe.get("lr_step", 0) or 0), int(training.get("epochs", 1)) - 1)
