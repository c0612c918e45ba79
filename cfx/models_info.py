"""What `cfx models` reports, read from the shipped model cards (no torch, no weights loaded).

Every shipped ``NAME.safetensors`` with its card ``NAME.json`` is one row, selectable with
``--model NAME`` (a file's card names the registry preset it is built as, e.g.
``decnet.tanh-compact-broad`` is a ``decnet.tanh-compact``). The metrics are the card's:
measured during that training run on its own validation split, so they differ from
tables that score every model on one common split (``docs/models.md``).
:func:`registry_rows` adds the presets ``cfx train`` can build; it imports torch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cfx.card_data import describe_data

METRICS_NOTE = (
    "metrics: each card's own, measured during its training run on that run's validation split; "
    "docs/models.md compares the models on one common split, so its numbers differ"
)


def display_path(path: Path) -> str:
    """``path`` relative to the current folder when it lies under it, else as it is."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if relative.startswith("..") else relative


def shipped_rows() -> list[dict[str, Any]]:
    """One row per shipped weights file with a readable card, sorted by name (first folder wins)."""
    from cfx.weights import weights_dirs

    rows: dict[str, dict[str, Any]] = {}
    for directory in weights_dirs():
        if not directory.is_dir():
            continue
        for weights in sorted(directory.glob("*.safetensors")):
            if weights.stem in rows:
                continue
            try:
                card = json.loads(weights.with_suffix(".json").read_text())
            except (OSError, ValueError):
                card = None
            rows[weights.stem] = _card_row(weights, card if isinstance(card, dict) else None)
    return [rows[name] for name in sorted(rows)]


def _card_row(weights: Path, card: dict[str, Any] | None) -> dict[str, Any]:
    card = card or {}
    preset = card.get("name") or weights.stem
    training = card.get("training") or {}
    return {
        "name": weights.stem,
        "preset": preset,
        "arch": card.get("arch") or str(preset).split(".", 1)[0],
        "task": card.get("task"),
        "params": card.get("params"),
        "weights": display_path(weights),
        "bytes": card.get("bytes"),
        "dtype": card.get("dtype"),
        "sha256": card.get("sha256"),
        "threshold": card.get("threshold"),
        "mode": card.get("mode"),
        "trained_on": describe_data(training.get("data") or training.get("natural")),
        "metrics": card.get("metrics"),
        "card": card or None,
    }


def registry_rows(include_tiny: bool = True, skip: set[str] | frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Rows for the registry presets (names in ``skip`` left out): what ``cfx train`` can build.
    Imports torch (parameters are counted on the meta device: no memory, no initialisation)."""
    from dataclasses import asdict

    import torch

    from cfx.registry import create_model, list_models

    rows = []
    for spec in list_models(include_tiny=include_tiny):
        if spec.name in skip:
            continue
        with torch.device("meta"):
            model = create_model(spec.name)
        rows.append(
            {
                "name": spec.name,
                "preset": spec.name,
                "arch": spec.arch,
                "task": spec.task,
                "params": sum(p.numel() for p in model.parameters()),
                "weights": None,
                "description": spec.description,
                "tiny": spec.tiny,
                "input_size": getattr(model, "input_size", None) or getattr(model, "train_size", None),
                "render_size": spec.defaults.get("render_size"),
                "config": asdict(spec.config),
            }
        )
    return rows


def card_metrics(row: dict[str, Any]) -> str:
    """The few card metrics `cfx models` prints for a row ("" when there are none)."""
    metrics = row.get("metrics") or {}
    val = metrics.get("val") if isinstance(metrics.get("val"), dict) else None
    if val and val.get("hter") is not None:  # a detector: validation HTER at its stored threshold
        images = f" on {val['images']} val images" if val.get("images") else ""
        return f"val_hter={val['hter']}{images} threshold={_short(row.get('threshold'))}"
    shown = " ".join(f"{k}={v}" for k, v in metrics.items() if k in ("val_psnr", "val_auc", "gray_psnr"))
    images = ((row.get("card") or {}).get("training") or {}).get("val_images")
    return f"{shown} on {images} val images" if shown and images else shown


def _short(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
