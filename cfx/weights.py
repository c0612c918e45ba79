"""Weights: safetensors files with a JSON model card, verified on load.

``weights/NAME.safetensors`` holds the tensors (never a pickle); ``weights/NAME.json``
is its model card: architecture, preset, config, training data and recipe, metrics and
the file's sha256, which is checked before the tensors are read. Files are found in
``$CFX_WEIGHTS``, in the installed package (``cfx/_weights``), or in the source tree's
``weights/``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cfx.errors import UsageError
from cfx.imageio import atomic_write_bytes

CARD_SCHEMA = "cfx.card/1"
MAX_FILE_BYTES = 16 * 1024 * 1024


class WeightsError(UsageError):
    """A weights file that is missing, corrupted or does not fit its model."""


def weights_dirs() -> list[Path]:
    """Where shipped weights are looked for, in order."""
    dirs = []
    if os.environ.get("CFX_WEIGHTS"):
        dirs.append(Path(os.environ["CFX_WEIGHTS"]))
    package = Path(__file__).resolve().parent
    dirs += [package / "_weights", package.parent / "weights"]
    return dirs


def card_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def find_weights(name: str) -> Path | None:
    """The shipped weights file for registry name ``name``, or None."""
    for directory in weights_dirs():
        candidate = directory / f"{name}.safetensors"
        if candidate.is_file():
            return candidate
    return None


def shipped_names(task: str | None = None) -> list[str]:
    """Names of the shipped weights files (``NAME.safetensors``), each selectable with ``--model NAME``;
    with ``task`` ("colorize" or "detect"), only those whose card says that task."""
    paths: dict[str, Path] = {}
    for directory in reversed(weights_dirs()):  # the first directory's file wins, as in find_weights
        if directory.is_dir():
            paths.update((path.stem, path) for path in directory.glob("*.safetensors"))
    if task is not None:
        paths = {name: path for name, path in paths.items() if (_card_or_none(path) or {}).get("task") == task}
    return sorted(paths)


def _card_or_none(path: Path) -> dict[str, Any] | None:
    try:
        return read_card(path)
    except WeightsError:
        return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(weights: Path) -> dict[str, Any]:
    path = card_path(weights)
    try:
        card = json.loads(path.read_text())
    except FileNotFoundError:
        raise WeightsError(f"{weights}: model card {path.name} is missing") from None
    except (OSError, ValueError) as error:
        raise WeightsError(f"{path}: unreadable model card ({error})") from None
    if not isinstance(card, dict) or "name" not in card:
        raise WeightsError(f"{path}: not a cfx model card (no 'name')")
    return card


def save_model(
    model: Any, path: Path, card: dict[str, Any], half: bool = False, max_bytes: int | None = None
) -> dict[str, Any]:
    """Write ``model``'s state dict as safetensors plus its card; returns the card.

    ``half`` stores floating tensors in fp16 (how shipped weights stay under
    ``MAX_FILE_BYTES``); ``max_bytes`` refuses a larger file. Both files are written
    atomically.
    """
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    data = save(state, metadata={"format": "pt"})  # one key: byte-identical saves
    if max_bytes is not None and len(data) > max_bytes:
        raise WeightsError(f"{path}: {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    full_card = {
        "schema": CARD_SCHEMA,
        **card,
        "config": _config_dict(model),
        "params": int(sum(p.numel() for p in model.parameters())),
        "dtype": "float16" if half else "float32",
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }
    atomic_write_bytes(card_path(path), (json.dumps(full_card, indent=2) + "\n").encode())
    return full_card


def _config_dict(model: Any) -> dict[str, Any]:
    return asdict(model.config) if hasattr(model, "config") else {}


def resolve_weights(model: str | None, weights: str | Path | None, default: str) -> tuple[str, Path]:
    """(registry name, weights path) from the --model/--weights options (see :func:`locate_weights`)."""
    name, path, _ = locate_weights(model, weights, default)
    return name, path


def locate_weights(
    model: str | None, weights: str | Path | None, default: str, task: str | None = None
) -> tuple[str, Path, dict[str, Any] | None]:
    """(registry name, weights path, card) from the --model/--weights options; the card is
    the one read to find the name, or None when the name did not need it.

    ``--weights`` alone takes the name from its card; ``--model NAME`` alone takes the
    shipped ``NAME.safetensors`` (NAME is a preset or any shipped file's name, and the
    card says which preset it is); neither means ``default``. A name that is neither is
    an :class:`~cfx.registry.UnknownModelError` suggesting shipped names (of ``task`` only,
    when given).
    """
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise WeightsError(f"{path}: no such weights file")
        if model:
            return model, path, None
        card = read_card(path)
        return card["name"], path, card
    name = model or default
    found = find_weights(name)
    if found is not None:
        # A shipped file may hold another preset's weights under its own name
        # (decnet.tanh-compact-broad is a decnet.tanh-compact): build what its card says.
        card = _card_or_none(found)
        return (str(card["name"]) if card else found.stem), found, card
    from cfx.registry import check_name, did_you_mean, suggestions

    shipped = shipped_names(task)
    check_name(name, shipped)  # "unknown model", suggesting shipped names
    meant = did_you_mean(suggestions(name, shipped))
    train = "train them with `cfx train` and pass --weights"
    raise WeightsError(
        f"no shipped weights for {name!r} (looked in {', '.join(str(d) for d in weights_dirs())})"
        + (f"{meant} Or {train}." if meant else f"; {train}")
    )


def load_model(
    name: str, path: Path, device: Any = "cpu", card: dict[str, Any] | None = None
) -> tuple[Any, dict[str, Any]]:
    """Build ``name`` from the card's config and load verified weights; returns (model, card).

    ``card``: the file's card when the caller has read it already (:func:`locate_weights`).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load as load_safetensors

    from cfx.registry import config_from_dict, get_spec

    card = read_card(path) if card is None else card
    if card["name"].split(".")[0] != name.split(".")[0]:
        raise WeightsError(f"{path}: weights are for {card['name']!r}, not {name!r}")
    data = Path(path).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if card.get("sha256") != actual:
        raise WeightsError(
            f"{path}: sha256 {actual[:12]}… does not match its model card ({str(card.get('sha256'))[:12]}…): file corrupted or replaced"
        )
    try:
        state = load_safetensors(data)
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise WeightsError(f"{path}: not a valid safetensors file ({error})") from None
    spec = get_spec(card["name"] if card["name"] in _names() else name)
    model = spec.factory(config_from_dict(spec.name, card.get("config", {})))
    model.cfx_name = spec.name
    reference = model.state_dict()
    state = {k: v.to(reference[k].dtype) if k in reference else v for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise WeightsError(f"{path}: weights do not fit {spec.name}: {' '.join(first[:2])[:300]}") from None
    return model.to(device).eval(), card


def _names() -> set[str]:
    from cfx.registry import list_models

    return {spec.name for spec in list_models(include_tiny=True)}
