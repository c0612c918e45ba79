"""The one training loop of `cfx train` and `cfx harden detector`, in the manner of Andrej
Karpathy's nanoGPT ``train.py``: a loop small enough to read in one sitting, and only one of it.

:func:`fit` owns what every trainer does alike: the state and its resumption from a
checkpoint, the time limit, one JSON log line per epoch, the weights and card written
after every epoch, the checkpoint, the barrier that keeps the processes of a torchrun
together, and the final card and report. A trainer (:class:`Trainer`) supplies what
differs: its model and optimizer, one epoch of steps over its own batches, the validation
fields of the log line, and its weights with their card.

Only rank 0 validates, logs, checkpoints and writes weights (:mod:`cfx.train.distributed`).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypedDict, Unpack

import torch

from cfx.progress import message
from cfx.train.checkpoint import load_checkpoint, save_checkpoint
from cfx.train.common import emit_log
from cfx.train.distributed import World

REPORT_SCHEMA = "cfx.train/1"

State = dict[str, Any]  # epoch, samples, seconds, log and the trainer's own entries; stored in the checkpoint


class RunOptions(TypedDict, total=False):
    """What a command may ask of a trainer's run besides its data and recipe (keywords of every ``train_*``)."""

    checkpoint: Path | None  # default: beside the weights, their name with ``.ckpt`` added
    resume: bool  # go on from the checkpoint when there is one
    log_path: Path | None  # a JSON line per epoch appended here too
    quiet: bool  # nothing on stderr
    on_epoch: Callable[[dict[str, Any]], None] | None  # called with every epoch's log line


@dataclass(frozen=True)
class Run:
    """What the command asks of one run: where the weights, the checkpoint and the log go."""

    output: Path
    checkpoint: Path | None  # None: no checkpoint (a run that cannot be resumed)
    resume: bool = False
    log_path: Path | None = None
    quiet: bool = False
    on_epoch: Callable[[dict[str, Any]], None] | None = None

    @classmethod
    def of(cls, output: Path, world: World, **options: Unpack[RunOptions]) -> Run:
        """A trainer's run that writes ``output``, its checkpoint beside it unless named;
        quiet on every process but rank 0."""
        return cls(
            output,
            options.get("checkpoint") or output.with_name(output.name + ".ckpt"),
            options.get("resume", False),
            options.get("log_path"),
            options.get("quiet", False) or not world.is_main,
            options.get("on_epoch"),
        )

    @property
    def resuming(self) -> bool:
        """Whether the run goes on from its checkpoint (asked to, and there is one)."""
        return self.resume and self.checkpoint is not None and self.checkpoint.is_file()


class Trainer(ABC):
    """What differs between trainers; :func:`fit` does the rest. A trainer is built with its
    data and model ready (the model's own starting weights loaded) before the loop starts."""

    model: torch.nn.Module  # as the checkpoint stores it (not wrapped for DDP)
    optimizer: torch.optim.Optimizer
    log_schema: str
    report_schema: str = REPORT_SCHEMA

    def __init__(self, world: World, run: Run, epochs: int, time_limit_minutes: float = 0.0) -> None:
        """``time_limit_minutes``: 0, no limit; else the run stops after the epoch that crosses it."""
        self.world, self.output, self.quiet = world, run.output, run.quiet
        self.epochs, self.time_limit_minutes = epochs, time_limit_minutes

    def own_state(self) -> State:
        """The trainer's entries of a fresh state (steps, the pretrained weights' provenance)."""
        return {}

    def resumed(self, checkpoint: Path) -> None:
        """After the checkpoint's state, weights and optimizer are restored: the trainer's own tensors in it."""
        return None

    def checkpoint_tensors(self) -> dict[str, torch.Tensor] | None:
        """Tensors of the trainer's own stored in the checkpoint (an average of the weights)."""
        return None

    def prepare_epoch(self, state: State) -> None:
        """Before the epoch's clock starts (``state["epoch"]`` is 0-based): its rates, a fresh cache."""
        return None

    @abstractmethod
    def train_epoch(self, state: State) -> tuple[float, int]:
        """One epoch of steps: the mean loss and the samples trained on, over every process."""

    def log_entry(self, state: State, loss: float, samples: int) -> dict[str, Any]:
        """The epoch's log line before validation (``state`` counts the epoch)."""
        return {
            "schema": self.log_schema,
            "epoch": state["epoch"],
            "train_loss": loss,
            "samples": state["samples"],
            "seconds": round(state["seconds"], 1),
            "lr": self.optimizer.param_groups[0]["lr"],
            "processes": self.world.size,
        }

    @abstractmethod
    def validate(self, state: State) -> dict[str, Any]:
        """The validation fields of the epoch's log line (rank 0)."""

    @abstractmethod
    def save(self, state: State, final: bool) -> dict[str, Any] | None:
        """Write the weights and their card (rank 0) and return the card; None where this
        epoch writes none. ``final``: after the loop, when no epoch of this run wrote them."""

    def report(self, card: dict[str, Any], state: State, run: Run) -> dict[str, Any]:
        """What the command prints: the card, where the files went and the log."""
        return {
            **card,
            "schema": self.report_schema,
            "output": str(run.output),
            "checkpoint": str(run.checkpoint),
            "log": state["log"],
        }


def fit(trainer: Trainer, run: Run) -> dict[str, Any]:
    """Train until ``trainer.epochs`` (or the time limit); returns the trainer's report."""
    world = trainer.world
    state: State = {"epoch": 0, "samples": 0, "seconds": 0.0, "log": [], **trainer.own_state()}
    resume_from = run.checkpoint if run.resuming else None
    if resume_from is not None:
        # No generator is stored: every draw is seeded by the epoch (cfx.train.common.seeded).
        state = load_checkpoint(resume_from, trainer.model, trainer.optimizer, None)
        trainer.resumed(resume_from)
        message(f"resumed from {resume_from} at epoch {state['epoch']}", run.quiet)
    card: dict[str, Any] | None = None
    while state["epoch"] < trainer.epochs:
        trainer.prepare_epoch(state)
        started = time.monotonic()
        loss, samples = trainer.train_epoch(state)
        state["epoch"] += 1
        state["samples"] += samples
        state["seconds"] += time.monotonic() - started
        entry = trainer.log_entry(state, loss, samples)
        if world.is_main:
            entry.update(trainer.validate(state))
            state["log"].append(entry)
            emit_log(entry, run.log_path, run.quiet)
            if run.on_epoch:
                run.on_epoch(entry)
            card = trainer.save(state, final=False) or card  # usable after any epoch
            if run.checkpoint is not None:
                save_checkpoint(
                    run.checkpoint, trainer.model, trainer.optimizer, None, state, trainer.checkpoint_tensors()
                )
        world.barrier()
        if trainer.time_limit_minutes and state["seconds"] >= trainer.time_limit_minutes * 60:
            message(f"time limit reached after epoch {state['epoch']}", run.quiet)
            break
    if card is None and world.is_main:
        card = trainer.save(state, final=True)
    return trainer.report(card or {}, state, run)
