"""Image folders as training data: deterministic split, class labels, in-memory crops.

A data folder either holds ``train/`` and ``val/`` (as the corpus builder writes it)
or any tree of images, split deterministically by relative path
(:func:`cfx.data.split.assign_split`). The first directory level under a split is the
class label used by the joint classification loss (Iizuka, Simo-Serra and Ishikawa 2016, §3.4); with fewer than
two classes the loss is off.

Training samples follow Iizuka, Simo-Serra and Ishikawa 2016, §3.6: random crops (here at several scales) and
horizontal flips with probability 0.5.

Images are decoded once, as every cfx command decodes them (:func:`cfx.imageio.load_image`:
EXIF orientation applied, colour profiles converted to sRGB, 16-bit PNGs and 16-bit gray
images at full depth), and kept at their own depth: uint8 3×H×W for 8-bit sources (the
bytes the decoder gives, so 8-bit training is what it always was), uint16 for 16-bit ones.
:func:`pixel_scale` says which; the crops divide by it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from cfx.data.split import assign_split
from cfx.errors import MissingFolderError
from cfx.imageio import ImageError, load_image
from cfx.inputs import image_files
from cfx.progress import message


@dataclass
class ImageSet:
    """Decoded images (uint8 3×H×W, or uint16 for 16-bit sources: :func:`pixel_scale`) with class indices."""

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


def _label_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else ""


def pixel_scale(image: torch.Tensor) -> float:
    """The value of white in a training image: 65535 for uint16 (16-bit sources), else 255."""
    return 65535.0 if image.dtype == torch.uint16 else 255.0


def unit_rgb(image: torch.Tensor) -> np.ndarray:
    """A training image (3×H×W, uint8 or uint16) as H×W×3 float32 sRGB in [0, 1]."""
    return image.permute(1, 2, 0).numpy().astype(np.float32) / pixel_scale(image)


def to_uint8(image: torch.Tensor) -> torch.Tensor:
    """A training image at 8 bits (uint8 images as they are; uint16 ones rounded)."""
    if image.dtype == torch.uint8:
        return image
    return (image.float() * (255.0 / 65535.0)).round().clamp(0, 255).to(torch.uint8)


def _decode(path: Path, max_short_side: int, quiet: bool = False) -> torch.Tensor | None:
    """``path`` decoded by :func:`cfx.imageio.load_image`, its short side at most
    ``max_short_side`` (Pillow's bicubic); None, with a warning, when it cannot be read."""
    try:
        loaded = load_image(path)
    except ImageError as error:
        message(f"cfx: warning: {error} (skipped)", quiet)
        return None
    height, width = loaded.rgb.shape[:2]
    short = min(height, width)
    size = None
    if short > max_short_side:
        scale = max_short_side / short
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
    array = _at_depth(loaded.rgb, loaded.bit_depth, size)
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def _at_depth(rgb: np.ndarray, bit_depth: int, size: tuple[int, int] | None) -> np.ndarray:
    """H×W×3 float [0, 1] → uint8 (8-bit sources: the decoder's bytes exactly) or uint16,
    resized to ``size`` (width, height) with Pillow's bicubic filter when given."""
    white = 65535 if bit_depth > 8 else 255
    levels = np.multiply(rgb, np.float32(white), dtype=np.float32)
    np.rint(levels, out=levels)
    if white == 255:
        array = levels.astype(np.uint8)
        if size is not None:
            array = np.asarray(Image.fromarray(array).resize(size, Image.Resampling.BICUBIC))
        return np.ascontiguousarray(array)
    if size is not None:  # Pillow resizes float planes ("F") with the same filter as 8-bit ones
        levels = np.stack(
            [
                np.asarray(
                    Image.fromarray(np.ascontiguousarray(levels[..., c]), "F").resize(size, Image.Resampling.BICUBIC)
                )
                for c in range(3)
            ],
            axis=-1,
        )
        levels = np.rint(np.clip(levels, 0, white))
    return levels.astype(np.uint16)


def load_folder(
    root: Path | str,
    val_fraction: float = 0.1,
    max_short_side: int = 256,
    min_short_side: int = 32,
    quiet: bool = False,
) -> FolderSplit:
    """Decode a data folder into train/val image sets (files that cannot be read are
    skipped with a warning on stderr, none with ``quiet``)."""
    root = Path(root)
    if not root.is_dir():
        raise MissingFolderError(f"{root}: not a directory")
    if (root / "train").is_dir() and (root / "val").is_dir():
        parts = {
            "train": (root / "train", image_files(root / "train")),
            "val": (root / "val", image_files(root / "val")),
        }
    else:
        files = image_files(root)
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
            tensor = _decode(f, max_short_side, quiet)
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
    """A random square-ish crop covering min_scale..1 of the short side's area, resized to
    size×size, maybe flipped; float in [0, 1] whatever the image's depth."""
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
    white = pixel_scale(image)
    return crop.clamp(0, white) / white


def center_crop(image: torch.Tensor, size: int) -> torch.Tensor:
    """Resize the short side to ``size`` and take the central size×size square (float in [0, 1])."""
    _, h, w = image.shape
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    resized = F.interpolate(
        image.float().unsqueeze(0), size=(nh, nw), mode="bilinear", antialias=True, align_corners=False
    )[0]
    top, left = (nh - size) // 2, (nw - size) // 2
    white = pixel_scale(image)
    return resized[:, top : top + size, left : left + size].clamp(0, white) / white


def load_images(root: Path | str, max_short_side: int = 256, min_short_side: int = 32, quiet: bool = False) -> ImageSet:
    """Every image under ``root`` (no split), e.g. the photos of held-out sources a trainer selects on."""
    root = Path(root)
    if not root.is_dir():
        raise MissingFolderError(f"{root}: not a directory")
    kept, images = [], []
    for f in image_files(root):
        tensor = _decode(f, max_short_side, quiet)
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
