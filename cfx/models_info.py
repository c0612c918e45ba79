"""What `cfx models` reports: registry presets joined with their shipped weights' cards."""

from __future__ import annotations

from typing import Any


def describe_models(include_tiny: bool = False) -> list[dict[str, Any]]:
    from dataclasses import asdict

    import torch

    from cfx.registry import create_model, list_models
    from cfx.weights import WeightsError, find_weights, read_card

    rows = []
    for spec in list_models(include_tiny=include_tiny):
        path = find_weights(spec.name)
        card: dict[str, Any] = {}
        if path is not None:
            try:
                card = read_card(path)
            except WeightsError:
                card = {}
        with torch.device("meta"):  # shapes only: no memory, no initialisation
            model = create_model(spec.name)
        params = int(card["params"]) if card.get("params") else sum(p.numel() for p in model.parameters())
        rows.append(
            {
                "name": spec.name,
                "arch": spec.arch,
                "task": spec.task,
                "description": spec.description,
                "params": params,
                "input_size": getattr(model, "input_size", None) or getattr(model, "train_size", None),
                "render_size": spec.defaults.get("render_size"),
                "config": asdict(spec.config),
                "weights": str(path) if path else None,
                "sha256": card.get("sha256"),
                "metrics": card.get("metrics"),
                "card": card or None,
            }
        )
    return rows
