"""Pieces every trainer shares: seeded generators, the JSON epoch log, mixed precision, setting a rate and starting from a parent's weights."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Callable, ContextManager, Sequence

import torch

from cfx.errors import UsageError
from cfx.progress import message
from cfx.train.recipes import (  # defined with the recipes; kept importable from here
    TRAIN_PRECISIONS as TRAIN_PRECISIONS,
    PrecisionChecked as PrecisionChecked,
    check_precision,
)


def seeded(*keys: int) -> torch.Generator:
    """A generator determined by ``keys`` alone: the same draws whatever the process split or resume point."""
    value = 0
    for key in keys:
        value = (value * 1_000_003 + key) % (2**63 - 1)
    return torch.Generator().manual_seed(value)


def rounded(entry: Any) -> Any:
    """Floats to 5 decimals (3 significant digits below 1e-3), in nested dicts and lists too."""
    if isinstance(entry, float):  # small values (learning rates) keep 3 significant digits
        return round(entry, 5) if abs(entry) >= 1e-3 or entry == 0 else float(f"{entry:.3g}")
    if isinstance(entry, dict):
        return {k: rounded(v) for k, v in entry.items()}
    if isinstance(entry, list):
        return [rounded(v) for v in entry]
    return entry


def training_autocast(device: torch.device, precision: str = "auto") -> ContextManager[Any]:
    """Autocast for the forward pass of a training step (the backward pass follows it).

    ``auto``: bf16 on CUDA, fp32 on the CPU; ``bf16``: bf16 on either (on CPUs with
    AVX512-BF16 or AMX, about twice as fast as fp32); ``fp32``: none. Batch norms and
    losses stay in fp32 under autocast, and the weights are always fp32.
    """
    check_precision(precision)
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def stored_tensors(
    candidates: Sequence[Path], build: Callable[[], dict[str, torch.Tensor]], quiet: bool, label: str = ""
) -> dict[str, torch.Tensor]:
    """The tensors of the first file of ``candidates`` that exists (a cache), else ``build()``'s,
    then stored under ``candidates[0]`` (written to a hidden temporary name and renamed, so a
    cache file is complete or absent); no candidates: ``build()`` alone."""
    from safetensors.torch import load_file, save_file

    for found in candidates:
        if found.is_file():
            message(f"{label}features from the cache {found}", quiet)
            return load_file(str(found))
    tensors = build()
    if candidates:
        path = candidates[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))
        tmp.replace(path)
    return tensors


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> float:
    """One step of ``optimizer`` down ``loss``'s gradients; returns the loss as a number."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Every parameter group of ``optimizer`` at rate ``lr``."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def emit_log(entry: dict[str, Any], log_path: Path | None, quiet: bool) -> None:
    """One JSON line on stderr (unless quiet) and appended to ``log_path``."""
    line = json.dumps(rounded(entry))
    message(line, quiet)
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a") as handle:
            handle.write(line + "\n")


def initialize_from(model: torch.nn.Module, path: Path, task: str) -> list[str]:
    """Copy a verified weights file's tensors into ``model`` where names and shapes match
    (fine-tuning); returns the names left as initialised (e.g. a classifier over other
    classes). A parent of another task, or one sharing no tensor with ``model``, is an
    error naming the file."""
    from cfx.loading import load

    parent = load(task, weights=path, device="cpu", inference=False)
    source = parent.network.state_dict()
    target = model.state_dict()
    matched = {k: v.to(target[k].dtype) for k, v in source.items() if k in target and target[k].shape == v.shape}
    if not matched:
        raise UsageError(f"{path}: --init weights ({parent.card['name']}) share no tensor with the model being trained")
    model.load_state_dict(matched, strict=False)
    return sorted(k for k in target if k not in matched)


def start_from(model: torch.nn.Module, init: str | None, task: str, quiet: bool) -> None:
    """``--init``: copy the parent's matching tensors into ``model`` and say what stayed fresh."""
    if init:
        fresh = initialize_from(model, Path(init), task)
        message(f"started from {init}" + (f"; fresh: {', '.join(fresh)}" if fresh else ""), quiet)


def starting_weights(
    model: torch.nn.Module, init: str | None, task: str, resuming: bool, quiet: bool
) -> dict[str, str] | None:
    """``--init``'s tensors, or (training from scratch) the ImageNet weights of a model on a
    pretrained encoder (``model.load_pretrained()``: unet, koala.lite0, litenet); returns the
    pretrained weights' provenance for the card (``--init``: the parent card's)."""
    if init:
        from cfx.weights import read_card

        start_from(model, init, task, quiet)
        return read_card(Path(init)).get("pretrained")
    if resuming or not hasattr(model, "load_pretrained"):
        return None  # a resumed run reads its provenance from the checkpoint
    from cfx.models.pretrained import PretrainedError

    try:
        return model.load_pretrained()
    except PretrainedError as error:
        raise UsageError(str(error)) from None
