"""Rewrite model cards that name the absolute folders of the machine they were trained on
(cards written before :mod:`cfx.card_data`, or by a training that was already running):
the training data as its corpus version and manifest sha256, every other absolute folder
relative (``corpus/``, ``blind/NAME/``, ``cache/``), as the trainers now write them.

Usage::

    python -m cfx.tools.portable_cards weights/NAME.json [...]

Run it on the machine that trained the model (the folders are looked at: a corpus folder
is recognised by its manifest). Only the card's JSON changes, in place and in the same
layout; the weights file and the card's ``sha256`` (the weights file's) are untouched.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cfx.card_data import card_data, portable_command


def _data_folder(value: Any) -> Path | None:
    """``value`` when it is an absolute folder path (a card's ``data`` or ``natural``)."""
    if isinstance(value, str) and value.startswith("/") and not any(c.isspace() for c in value):
        return Path(value)
    return None


def _portable(value: Any, base: Path | None) -> Any:
    if isinstance(value, dict):
        return {key: _portable(item, base) for key, item in value.items()}
    if isinstance(value, list):
        return [_portable(item, base) for item in value]
    if isinstance(value, str) and "/" in value:
        return portable_command(value, base)
    return value


def portable_card(card: dict[str, Any]) -> dict[str, Any]:
    """``card`` with its training data named by :func:`cfx.card_data.card_data` and the
    absolute folders in its other entries (commands, recipes, notes) shown relative to the
    data folder's parent."""
    card = json.loads(json.dumps(card))
    training = card.get("training") or {}
    base = None
    for entries in (training, training.get("hardening_data") or {}):
        for key in ("data", "natural"):
            folder = _data_folder(entries.get(key))
            if folder is not None:
                base = base or folder.parent
                entries[key] = card_data(folder, entries.get("manifest_sha256"))
    return _portable(card, base)


def rewrite(path: Path) -> bool:
    """Rewrite the card ``path`` in place (same indentation and escaping); whether it changed."""
    text = path.read_text(encoding="utf-8")
    card = json.loads(text)
    ascii_only = json.dumps(card, indent=2, ensure_ascii=True) + "\n" == text
    new = json.dumps(portable_card(card), indent=2, ensure_ascii=ascii_only) + "\n"
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite each card named on the command line; print the ones that changed."""
    paths = [Path(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    if not paths or any(p.suffix != ".json" for p in paths):
        print("usage: python -m cfx.tools.portable_cards weights/NAME.json [...]", file=sys.stderr)
        return 2
    for path in paths:
        if rewrite(path):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
