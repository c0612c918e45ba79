"""Image folders as training data: deterministic split, class labels, in-memory crops.

A data folder either holds ``train/`` and ``val/`` (as the corpus builder writes it)
or any tree of images, split deterministically by relative path
(:func:`cfx.data.split.assign_split`). The first directory level under a split is the
class label used by the joint classification loss (Iizuka, Simo-Serra and Ishikawa 2016, §3.4); with fewer than
two classes the loss is off.

Training samples follow Iizuka, Simo-Serra and Ishikawa 2016, §3.6: random crops (here at several scales) and
horizontal flips with probability 0.5. Images are decoded once and kept as uint8.
"""

from __future__ import annotations

import hashlib
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from cfx.data.split import assign_split
from cfx.errors import MissingFolderError
from cfx.imageio import IMAGE_SUFFIXES


@dataclass
class ImageSet:
    """Decoded images (uint8 3×H×W) with class indices."""

    files: list[Path]
    images: list[torch.Tensor]
    labels: list[int]
    classes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)


@dataclass
class FolderSplit:
    train: ImageSet
    val: ImageSet
    classes: list[str]
    manifest_sha256: str | None


def _list_images(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith(".")
    )


def _label_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else ""


def _decode(path: Path, max_short_side: int) -> torch.Tensor | None:
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            short = min(image.size)
            if short > max_short_side:
                scale = max_short_side / short
                image = image.resize(
                    (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BICUBIC
                )
            array = np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        print(f"warning: {path}: skipped ({error})", file=sys.stderr)
        return None
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def load_folder(
    root: Path | str, val_fraction: float = 0.1, max_short_side: int = 256, min_short_side: int = 32
) -> FolderSplit:
    """Decode a data folder into train/val image sets."""
    root = Path(root)
    if not root.is_dir():
        raise MissingFolderError(f"{root}: not a directory")
    if (root / "train").is_dir() and (root / "val").is_dir():
        parts = {
            "train": (root / "train", _list_images(root / "train")),
            "val": (root / "val", _list_images(root / "val")),
        }
    else:
        files = _list_images(root)
        parts = {
            split: (root, [f for f in files if assign_split(f.relative_to(root).as_posix(), val_fraction) == split])
            for split in ("train", "val")
        }
    classes = sorted({_label_of(f, base) for base, files in parts.values() for f in files} - {""})
    index = {name: i for i, name in enumerate(classes)}
    sets = {}
    for split, (base, files) in parts.items():
        kept_files, images, labels = [], [], []
        for f in files:
            tensor = _decode(f, max_short_side)
            if tensor is None or min(tensor.shape[1:]) < min_short_side:
                continue
            kept_files.append(f)
            images.append(tensor)
            labels.append(index.get(_label_of(f, base), -1))
        sets[split] = ImageSet(kept_files, images, labels, classes)
    manifest = root / "manifest.jsonl"
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else None
    return FolderSplit(sets["train"], sets["val"], classes if len(classes) > 1 else [], digest)


def random_crop(image: torch.Tensor, size: int, generator: torch.Generator, min_scale: float = 0.3) -> torch.Tensor:
    """A random square-ish crop covering min_scale..1 of the short side's area, resized to size×size, maybe flipped."""
    _, h, w = image.shape
    short = min(h, w)
    u = torch.rand(3, generator=generator).tolist()
    side = max(8, int(round(short * math.sqrt(min_scale + (1.0 - min_scale) * u[0]))))
    top = int(u[1] * (h - side + 1))
    left = int(u[2] * (w - side + 1))
    crop = image[:, top : top + side, left : left + side].float().unsqueeze(0)
    crop = F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
    if torch.rand(1, generator=generator).item() < 0.5:
        crop = crop.flip(-1)
    return crop.clamp(0, 255) / 255.0


def center_crop(image: torch.Tensor, size: int) -> torch.Tensor:
    """Resize the short side to ``size`` and take the central size×size square."""
    _, h, w = image.shape
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    resized = F.interpolate(
        image.float().unsqueeze(0), size=(nh, nw), mode="bilinear", antialias=True, align_corners=False
    )[0]
    top, left = (nh - size) // 2, (nw - size) // 2
    return resized[:, top : top + size, left : left + size].clamp(0, 255) / 255.0


def load_images(root: Path | str, max_short_side: int = 256, min_short_side: int = 32) -> ImageSet:
    """Every image under ``root`` (no split), e.g. the photos of held-out sources a trainer selects on."""
    root = Path(root)
    if not root.is_dir():
        raise MissingFolderError(f"{root}: not a directory")
    kept, images = [], []
    for f in _list_images(root):
        tensor = _decode(f, max_short_side)
        if tensor is not None and min(tensor.shape[1:]) >= min_short_side:
            kept.append(f)
            images.append(tensor)
    return ImageSet(kept, images, [-1] * len(images))


def source_weights(files: list[Path], root: Path | str, power: float = 0.5) -> list[float]:
    """Sampling weights that keep any one source from dominating: 1 / n^power for a file of a
    package with n files in ``root``'s ``manifest.jsonl`` (as the corpus builder writes it);
    all 1 without a manifest or for files it does not list."""
    manifest = Path(root) / "manifest.jsonl"
    if not manifest.is_file():
        return [1.0] * len(files)
    import json
    from collections import Counter

    package = {}
    for line in manifest.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            package[record["file"]] = record.get("package", "")
    names = [package.get(f.relative_to(root).as_posix() if f.is_relative_to(root) else "") for f in files]
    counts = Counter(n for n in names if n is not None)
    return [1.0 if n is None else 1.0 / counts[n] ** power for n in names]
