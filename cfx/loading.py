"""One way to load a trained model: (name or weights file, task, device, precision) → :class:`LoadedModel`.

Every command and trainer that starts from trained weights goes through :func:`load`:
the weights file is found (``weights``, else the shipped file of ``model``, else the
task's default), its card is read once, the preset is looked up once and checked
against the task (:func:`cfx.registry.get_spec`, where a model's task is declared),
the network is built from the card's config and its verified tensors
(:func:`cfx.weights.load_model`), and, for inference, put in inference form
(:func:`cfx.runner.prepare_model`) with the autocast for ``precision``.

    >>> from cfx.loading import load
    >>> loaded = load("detect", device="cpu")  # doctest: +SKIP
    >>> loaded.spec.name, loaded.card["threshold"]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ContextManager

import torch

from cfx.registry import DEFAULT_MODELS, ModelSpec, WrongTaskError, get_spec
from cfx.runner import autocast, cpu_bf16_measured, prepare_model, select_device
from cfx.weights import load_model, locate_weights


@dataclass
class LoadedModel:
    """A network with what is known about it."""

    network: torch.nn.Module  # on ``device``; in inference form unless loaded with ``inference=False``
    card: dict[str, Any]  # the model card, plus ``weights_path``
    spec: ModelSpec  # the registry preset, of the task asked for
    device: torch.device
    autocast: (
        ContextManager[Any] | None
    )  # the inference autocast for the precision asked for (None with ``inference=False``)


def load(
    task: str,
    model: str | None = None,
    weights: str | Path | None = None,
    *,
    device: str | torch.device = "auto",
    precision: str = "auto",
    inference: bool = True,
) -> LoadedModel:
    """The model of ``task`` ("colorize" or "detect") named by ``model`` and/or stored in ``weights``.

    ``weights`` alone takes the preset from its card; ``model`` alone takes the shipped
    weights; neither takes :data:`DEFAULT_MODELS`. ``inference=False`` leaves the network
    as trained (batch norms not folded, eval mode), for fine-tuning or comparison.
    Raises a :class:`cfx.errors.UsageError` (unknown model, weights missing, corrupted or
    of the other task, unknown device or precision).
    """
    name, path, card = locate_weights(model, weights, DEFAULT_MODELS[task], task)
    try:
        spec = get_spec(name, task)
    except WrongTaskError as error:
        if weights is None:
            raise
        raise WrongTaskError(f"{path}: {error}") from None  # name the file the user gave
    torch_device = device if isinstance(device, torch.device) else select_device(device)
    network, card = load_model(name, path, torch_device, card)
    card = {**card, "weights_path": str(path)}
    if not inference:
        return LoadedModel(network, card, spec, torch_device, None)
    amp = autocast(torch_device, precision, cpu_bf16=cpu_bf16_measured(card))
    return LoadedModel(prepare_model(network, torch_device), card, spec, torch_device, amp)
