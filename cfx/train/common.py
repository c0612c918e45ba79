"""Pieces every trainer shares: seeded generators and the JSON epoch log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from cfx.progress import message


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


def emit_log(entry: dict[str, Any], log_path: Path | None, quiet: bool) -> None:
    """One JSON line on stderr (unless quiet) and appended to ``log_path``."""
    line = json.dumps(rounded(entry))
    message(line, quiet)
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "a") as handle:
            handle.write(line + "\n")
