"""Several colorizers at once, by registry name or weights file: the colorizers a detector
is trained, hardened or evaluated against (`--colorizers iizuka.compact,unet.lite0`).

Each goes through the one loader (:func:`cfx.colorize.load_colorizer`, on
:func:`cfx.loading.load`), so a missing or corrupted weights file is the same clear error
as in `cfx colorize`.
"""

from __future__ import annotations

from typing import Sequence

from cfx.colorize import Colorizer, load_colorizer


def load_colorizers(names: Sequence[str], device: str = "cpu") -> list[Colorizer]:
    """Registry colorizers with shipped weights, or weights files (``*.safetensors``)."""
    loaded = []
    for name in names:
        if name.endswith(".safetensors"):
            loaded.append(load_colorizer(None, name, device=device))
        else:
            loaded.append(load_colorizer(name, None, device=device))
    return loaded
