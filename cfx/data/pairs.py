"""Natural photos paired with colorized versions of the same scenes, for training and evaluating detectors.

Natural images (NIs) come from a folder; colorized images (CIs) of the same scenes come
from folders (``NAME=DIR``, paired with the NIs by relative path without suffix) or are
made on the fly by registry colorizers from the NIs' luminance, stored as `cfx colorize`
would write them (JPEG at quality 95 when the natural image is a JPEG, so the compression
a detector sees is the same on both sides). The training protocol of Quan et al. (2019),
§IV-A, draws balanced minibatches from such pairs, and the negative sample insertion of
§III-D blends each NI with its own CI, so the pairing is kept (:class:`PairSet`).

In ``resize`` mode every image is resized to the detector's square input
(:func:`cfx.detect.model_input`, as at test time); in ``patch`` mode images are kept at
their native resolution (short side at most ``max_short_side``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image

from cfx.data.folder import ImageSet, load_folder, to_uint8, unit_rgb
from cfx.detect import check_mode, model_input
from cfx.errors import UsageError
from cfx.imageio import LoadedImage, is_jpeg, jpeg_roundtrip, quantize_rgb8
from cfx.metadata import parse_label, read_metadata
from cfx.progress import message, progress


@dataclass
class PairSet:
    """NIs and CIs (uint8 3×S×S in resize mode, 3×H×W at native size in patch mode) with their pairing.

    ``pairs[k] = (i, j)``: colorized image j shows natural image i's scene;
    ``sources[j]`` names the colorizer that made CI j.
    """

    natural: list[torch.Tensor]
    colorized: list[torch.Tensor]
    pairs: list[tuple[int, int]]
    sources: list[str]

    def counts(self) -> dict[str, int]:
        return dict(Counter(self.sources))


@dataclass
class DetectorData:
    train: PairSet
    val: PairSet
    description: dict[str, Any]


def _square(image: torch.Tensor, size: int) -> torch.Tensor:
    """3×H×W (uint8, or uint16 from a 16-bit source) → uint8 3×S×S, resized exactly as at test time."""
    rgb = image if image.dtype == torch.uint8 else torch.from_numpy(unit_rgb(image)).permute(2, 0, 1)
    x = model_input(rgb[None], size)[0]
    return ((x + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)


def _native(image: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 3×H×W kept as it is (patch mode crops it at every step); 16-bit sources rounded to 8 bits."""
    return to_uint8(image)


def _key(path: Path, root: Path) -> str:
    return path.relative_to(root).with_suffix("").as_posix()


def colorized_copy(colorizer: Any, rgb: np.ndarray, path: Path) -> torch.Tensor:
    """What `cfx colorize` would write for ``path`` (H×W×3 float sRGB): its luminance
    colorized, then encoded as JPEG (q95) when ``path`` is a JPEG; uint8 3×H×W."""
    loaded = LoadedImage(path=path, rgb=rgb, alpha=None, bit_depth=8, is_gray=False, mode="RGB")
    result = colorizer.colorize_array(loaded)
    pixels = jpeg_roundtrip(result) if is_jpeg(path) else quantize_rgb8(result)
    return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()


def colorized_by(files: Sequence[Path]) -> list[dict[str, Any]]:
    """What made a folder's colorized images, as the label each carries says (:mod:`cfx.metadata`):
    one entry per model and weights (or transfer method) with its number of images; images
    without a label count under ``{"label": None}``. A detector's card lists these, so it
    says which colorizers, by weights sha256, it was trained against."""
    counts: Counter[tuple[tuple[str, str], ...]] = Counter()
    for path in files:
        try:
            with Image.open(path) as im:
                fields = parse_label(read_metadata(im).label)
        except OSError:
            fields = {}
        counts[tuple(sorted((k, v) for k, v in fields.items() if k != "cfx"))] += 1
    return [
        {**(dict(key) if key else {"label": None}), "images": count}
        for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def colorize_set(images: ImageSet, colorizer: Any, files: list[Path]) -> list[torch.Tensor]:
    """CIs made from each NI's luminance by ``colorizer`` (a :class:`cfx.colorize.Colorizer`)."""
    return [colorized_copy(colorizer, unit_rgb(image), path) for image, path in zip(images.images, files)]


def load_detector_data(
    natural: Path,
    colorized_dirs: Sequence[tuple[str, Path]],
    colorizers: Sequence[Any],
    size: int,
    val_fraction: float = 0.1,
    max_short_side: int = 256,
    quiet: bool = False,
    mode: str = "resize",
) -> DetectorData:
    """NIs from ``natural`` (split as `cfx train colorizer` splits), CIs from folders and colorizers;
    resized to size×size in ``resize`` mode, kept at native size in ``patch`` mode."""
    shape = _square if check_mode(mode) == "resize" else _native
    nat = load_folder(natural, val_fraction, max_short_side, quiet=quiet)
    if not len(nat.train):
        raise UsageError(f"{natural}: no natural training images found")
    if not colorized_dirs and not colorizers:
        raise UsageError("no colorized images: give --colorized NAME=DIR or --colorizers")
    sets: dict[str, PairSet] = {}
    paired_files: dict[str, list[Path]] = {name: [] for name, _ in colorized_dirs}
    for split, images in (("train", nat.train), ("val", nat.val)):
        keys = {_key(f, natural): i for i, f in enumerate(images.files)}
        pairs = PairSet([shape(im, size) for im in images.images], [], [], [])
        for name, folder in colorized_dirs:
            col = load_folder(folder, val_fraction, max_short_side, quiet=quiet)
            found = 0
            for part in (col.train, col.val):
                for f, im in zip(part.files, part.images):
                    i = keys.get(_key(f, folder))
                    if i is not None:
                        pairs.pairs.append((i, len(pairs.colorized)))
                        pairs.colorized.append(shape(im, size))
                        pairs.sources.append(name)
                        paired_files[name].append(f)
                        found += 1
            message(f"{name}: {found} colorized {split} images paired with natural ones in {folder}", quiet)
        for colorizer in colorizers:
            with progress(f"colorize {split} ({colorizer.name})", total=len(images), quiet=quiet) as bar:
                for i, ci in enumerate(colorize_set(images, colorizer, images.files)):
                    pairs.pairs.append((i, len(pairs.colorized)))
                    pairs.colorized.append(shape(ci, size))
                    pairs.sources.append(colorizer.name)
                    bar.advance()
        sets[split] = pairs
    if not sets["train"].pairs:
        raise UsageError(
            f"no colorized training image matches a natural one in {natural} (pairs are matched by relative path)"
        )
    description = {
        "natural": str(natural),
        "mode": mode,
        "manifest_sha256": nat.manifest_sha256,
        "colorized_dirs": {name: str(folder) for name, folder in colorized_dirs},
        "colorizers": {c.name: c.card.get("sha256") for c in colorizers},
        "colorized_by": {name: colorized_by(files) for name, files in paired_files.items()},
        "train_natural": len(sets["train"].natural),
        "train_colorized": sets["train"].counts(),
        "val_natural": len(sets["val"].natural),
        "val_colorized": sets["val"].counts(),
    }
    return DetectorData(sets["train"], sets["val"], description)
