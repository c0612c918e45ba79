"""Detect colorized images (Quan et al. 2019, §III; Mu and Lee, n.d., §2.2, for the discriminator).

Two ways to look at an image:

- ``resize`` (the paper's): the whole image resized to the detector's square input
  (256×256 for BaseNet/DecNet) and scaled to [-1, 1];
- ``patch``: square crops of that size at the image's native resolution (a grid that
  covers the image, at most ``max_patches`` of them, evenly spread), each scored, the
  scores aggregated by ``max`` (default: a colorized region is not averaged away) or
  ``mean``. Images smaller than one patch are resized up to it.

Training (:mod:`cfx.train.detector`) prepares its images with the same
:func:`model_input`, so what the detector sees at training and test time match; a
detector trained in patch mode (random native-resolution crops, :func:`random_patch`)
has ``"mode": "patch"`` in its card, which is then its default mode here.
The threshold on P(colorized) is the one chosen on validation data at training time
(the model card's ``threshold``), unless overridden. A grayscale input gets the label
``grayscale`` (it has no colours, machine-made or not); its score is still reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from cfx.errors import UsageError
from cfx.imageio import ImageError, LoadedImage, load_image
from cfx.labels import COLORIZED, GRAYSCALE, NATURAL
from cfx.limits import MAX_PIXELS
from cfx.loading import DEFAULT_MODELS, load

DEFAULT_DETECTOR = DEFAULT_MODELS["detect"]
MODES = ("resize", "patch")
AGGREGATES = ("max", "mean")
DEFAULT_MAX_PATCHES = 16
IMAGE_FAILURES = (ImageError, OSError, ValueError, RuntimeError, MemoryError)


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`MODES` (resize, patch); else a :class:`~cfx.errors.UsageError`."""
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r} (resize or patch)")
    return mode


def model_input(rgb: torch.Tensor, size: int) -> torch.Tensor:
    """sRGB (N×3×H×W in [0, 1], or uint8) resized to size×size and scaled to [-1, 1]."""
    x = rgb.float() / 255.0 if rgb.dtype == torch.uint8 else rgb.float()
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    return x * 2.0 - 1.0


def patch_origins(length: int, size: int, count: int) -> list[int]:
    """Start offsets of ``count`` windows of ``size`` spread evenly over ``length`` (first at 0, last at the end)."""
    if count <= 1 or length <= size:
        return [max(0, (length - size) // 2)] if count == 1 else [0]
    return [round(i * (length - size) / (count - 1)) for i in range(count)]


def at_least_one_patch(image: torch.Tensor, size: int) -> torch.Tensor:
    """``image`` (3×H×W, float in [0, 1] or uint8) as it is, or, when its short side is
    under ``size`` (too small for one patch at native resolution), scaled up bilinearly so
    that it is ``size``; the dtype is kept."""
    _, h, w = image.shape
    if min(h, w) >= size:
        return image
    scale = size / min(h, w)
    shape = (max(size, math.ceil(h * scale)), max(size, math.ceil(w * scale)))
    scaled = F.interpolate(image[None].float(), size=shape, mode="bilinear", align_corners=False)[0]
    return scaled.round().clamp(0, 255).to(torch.uint8) if image.dtype == torch.uint8 else scaled.clamp(0, 1)


def patches(rgb: torch.Tensor, size: int, max_patches: int = DEFAULT_MAX_PATCHES) -> torch.Tensor:
    """Native-resolution size×size crops (K×3×size×size in [-1, 1]) covering ``rgb`` (3×H×W in [0, 1])."""
    rgb = at_least_one_patch(rgb.float(), size)
    _, h, w = rgb.shape
    rows, cols = math.ceil(h / size), math.ceil(w / size)
    while rows * cols > max_patches:  # keep the grid's aspect ratio while shrinking it
        if rows >= cols and rows > 1:
            rows -= 1
        elif cols > 1:
            cols -= 1
        else:
            break
    crops = [
        rgb[:, top : top + size, left : left + size]
        for top in patch_origins(h, size, rows)
        for left in patch_origins(w, size, cols)
    ]
    return torch.stack(crops).float() * 2.0 - 1.0


def random_patch(image: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """One size×size crop at a random place of a uint8 3×H×W image, at native resolution
    (an image smaller than one patch is first scaled up, as :func:`patches` does); uint8."""
    image = at_least_one_patch(image, size)
    _, h, w = image.shape
    top = int(torch.randint(h - size + 1, (1,), generator=generator))
    left = int(torch.randint(w - size + 1, (1,), generator=generator))
    return image[:, top : top + size, left : left + size]


@dataclass
class PreparedDetect:
    """One decoded image as the detector's input: K×3×S×S (K = 1 in resize mode)."""

    path: Path
    x: torch.Tensor
    warnings: list[str] = field(default_factory=list)
    gray: bool = False  # a grayscale input: nothing colour to judge
    label_says: str | None = None  # a "colorized by …" label in its metadata: reported, never trusted


class Detector:
    """A loaded detector: ``prepare`` (any thread) → ``predict`` (batched) → verdict."""

    def __init__(
        self,
        model: torch.nn.Module,
        card: dict[str, Any],
        device: torch.device,
        mode: str | None = None,
        aggregate: str = "max",
        threshold: float | None = None,
        max_patches: int = DEFAULT_MAX_PATCHES,
        autocast: Any = None,
    ) -> None:
        mode = check_mode(mode or str(card.get("mode", "resize")))  # a detector trained on patches looks at patches
        if aggregate not in AGGREGATES:
            raise UsageError(f"unknown aggregate {aggregate!r} (max or mean)")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise UsageError(f"threshold must be in [0, 1], got {threshold}")
        self.model, self.card, self.device = model, card, device
        self.mode, self.aggregate, self.max_patches = mode, aggregate, max_patches
        self.threshold = float(threshold if threshold is not None else card.get("threshold", 0.5))
        self.autocast = autocast
        self.size = int(getattr(model, "input_size", 256))

    @property
    def name(self) -> str:
        return str(self.card.get("name", getattr(self.model, "cfx_name", "?")))

    def prepare_array(
        self, rgb: np.ndarray | torch.Tensor, path: Path = Path("-"), warnings: list[str] | None = None
    ) -> PreparedDetect:
        """H×W×3 sRGB in [0, 1] (numpy) or 3×H×W (torch) → the model's input."""
        t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1) if isinstance(rgb, np.ndarray) else rgb
        x = (
            model_input(t[None], self.size)
            if self.mode == "resize"
            else patches(t.float(), self.size, self.max_patches)
        )
        return PreparedDetect(path, x, list(warnings or []))

    def prepare(self, image: LoadedImage) -> PreparedDetect:
        prepared = self.prepare_array(image.rgb, image.path, image.warnings)
        prepared.gray = image.is_gray
        prepared.label_says = image.metadata.label
        return prepared

    @torch.inference_mode()
    def scores(self, x: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """P(colorized) for a stack of model inputs (K×3×S×S), on the CPU."""
        out = []
        for start in range(0, x.shape[0], batch_size):
            chunk = x[start : start + batch_size].to(self.device)
            if self.device.type == "cuda":
                chunk = chunk.contiguous(memory_format=torch.channels_last)
            with self.autocast if self.autocast is not None else torch.autocast("cpu", enabled=False):
                out.append(self.model.probability(chunk).float().cpu())
        return torch.cat(out)

    def predict(self, batch: list[PreparedDetect]) -> list[float]:
        """One aggregated score per prepared image."""
        flat = self.scores(torch.cat([p.x for p in batch]))
        result, start = [], 0
        for p in batch:
            mine = flat[start : start + p.x.shape[0]]
            start += p.x.shape[0]
            result.append(float(mine.max() if self.aggregate == "max" else mine.mean()))
        return result

    def verdict(self, prepared: PreparedDetect, score: float) -> dict[str, Any]:
        label = COLORIZED if score >= self.threshold else NATURAL
        record: dict[str, Any] = {
            "path": str(prepared.path),
            "label": GRAYSCALE if prepared.gray else label,  # a gray photo was not colorized
            "score": round(score, 6),
            "threshold": self.threshold,
            "model": self.name,
            "weights_sha256": self.card.get("sha256"),
            "mode": self.mode,
            "label_says": prepared.label_says,  # what the file's metadata claims; the score alone decides
        }
        if self.mode == "patch":
            record.update(patches=int(prepared.x.shape[0]), aggregate=self.aggregate)
        return record

    def score_array(self, rgb: np.ndarray) -> float:
        """P(colorized) of one H×W×3 image in [0, 1] (library use)."""
        return self.predict([self.prepare_array(rgb)])[0]


def load_detector(
    model: str | None = None,
    weights: str | Path | None = None,
    device: str = "auto",
    precision: str = "auto",
    mode: str | None = None,
    aggregate: str = "max",
    threshold: float | None = None,
    max_patches: int = DEFAULT_MAX_PATCHES,
) -> Detector:
    """A ready :class:`Detector` from registry name and/or weights file (see :func:`cfx.loading.load`)."""
    loaded = load("detect", model, weights, device=device, precision=precision)
    return Detector(
        loaded.network, loaded.card, loaded.device, mode, aggregate, threshold, max_patches, loaded.autocast
    )


def detect_files(
    detector: Detector, paths: Iterable[Path], batch_size: int = 16, workers: int = 2, max_pixels: int = MAX_PIXELS
) -> Iterator[dict[str, Any] | Any]:
    """Verdicts for image files through the runner's pipeline, in order (a
    :class:`cfx.runner.Failed` carrying the path for each failure; larger images than
    ``max_pixels`` fail)."""
    from cfx.runner import run_pipeline

    yield from run_pipeline(
        paths,
        lambda path: detector.prepare(load_image(path, max_pixels)),
        batch_key=lambda prepared: 0 if detector.mode == "patch" else tuple(prepared.x.shape),
        compute=detector.predict,
        encode=lambda pair: {**detector.verdict(*pair), "warnings": pair[0].warnings},
        batch_size=batch_size,
        workers=workers,
        errors=IMAGE_FAILURES,
    )
