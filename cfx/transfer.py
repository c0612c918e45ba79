"""Colour a target image from a reference ("style") image.

Three methods, chosen by name from :data:`METHODS` (no branching on names):

- ``global`` — Iizuka, Simo-Serra and Ishikawa 2016, §4.5, "Style Transfer through Global
  Features": the trained iizuka colorizer computes its mid-level (local) features from the
  target's L* and its global features from the reference's L*, fuses them and colorizes.
  Only luminance is used from either image; the reference's colours are never seen.
- ``reinhard`` — Reinhard, Ashikhmin, Gooch & Shirley, "Color Transfer between Images"
  (IEEE CG&A 2001): each of the target's a*b* channels is shifted and scaled so that
  its mean and standard deviation become the reference's. The paper works in lαβ and
  also matches luminance; here the statistics are those of CIE L*a*b* and the target's
  own full-resolution L* is kept, as everywhere in cfx. A gray target has a*b* ≈ 0
  with no spread to scale, so its result is the reference's mean tint, uniformly.
- ``welsh`` — Welsh, Ashikhmin & Mueller, "Transferring Color to Greyscale Images"
  (SIGGRAPH 2002; surveyed by Dua, Ur Rahman and Sood 2020): the reference's luminance is
  remapped to the target's mean and standard deviation, about 200 reference pixels are
  taken by jittered sampling, each with its L* and the standard deviation of L* in its 5×5
  neighbourhood; every target pixel gets the a*b* of the sample minimising
  0.5·|ΔL*| + 0.5·|Δσ|. Matching runs at a working size (long side ≤ 512) and the
  chroma is merged with the target's full-resolution L*.

Every method follows the runner's shape: ``prepare_style`` (once per distinct reference,
cached by :class:`StyleCache`) → ``prepare`` (per target, any thread) → ``predict``
(batched, caller's thread) → ``finish`` (full-resolution sRGB, any thread).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from cfx.color import lab_to_rgb, rgb_to_lab
from cfx.colorize import (
    COLOUR_INPUT_NOTE,
    IMAGE_FAILURES,
    Colorizer,
    image_lightness,
    load_colorizer,
    merge_full_resolution,
    render_shape,
    row_strips,
    save_result,
)
from cfx.errors import UsageError
from cfx.imageio import ImageError, LoadedImage, load_image
from cfx.limits import MAX_PIXELS
from cfx.metadata import colorized_label
from cfx.registry import DEFAULT_MODELS

WORKING_SIZE = 512  # long side at which Welsh et al.'s matching runs
WELSH_SAMPLES = 200  # jittered samples of the reference (Welsh et al. §2)
WELSH_WINDOW = 5  # neighbourhood for the standard deviation of L*
MATCH_CHUNK = 32768  # target pixels matched at a time (bounds the distance matrix)
MIN_CHROMA_STD = 1.0  # a*b* spread below which a target counts as colourless (Reinhard)
NO_COLOUR = "has no colour: the result stays gray"


class StyleError(ValueError):
    """A reference image that cannot be used; ``str()`` names it."""


@dataclass
class Reference:
    """What a method keeps of one reference image (its ``prepare_style`` result)."""

    path: Path
    data: Any
    warnings: list[str] = field(default_factory=list)


@dataclass
class Target:
    """One decoded target ready for ``predict``; ``data`` is the method's own."""

    image: LoadedImage
    reference: Reference
    data: Any
    warnings: list[str] = field(default_factory=list)


class TransferMethod:
    """Base of the transfer methods: no model, one target per ``predict`` call."""

    name = "?"
    uses_model = False  # whether --model, --weights and --render-size mean anything to it

    @property
    def record_fields(self) -> dict[str, Any]:
        """Fields every record of this method carries (the model, for ``global``)."""
        return {}

    def prepare_style(self, image: LoadedImage) -> Reference:
        raise NotImplementedError

    def prepare(self, image: LoadedImage, reference: Reference) -> Target:
        raise NotImplementedError

    def batch_key(self, target: Target) -> Hashable:
        return id(target)  # never batched

    def predict(self, batch: list[Target]) -> list[Any]:
        return [None] * len(batch)

    def finish(self, target: Target, predicted: Any) -> np.ndarray:
        """Float32 H×W×3 sRGB in [0, 1] at the target's full resolution."""
        raise NotImplementedError

    def transfer(self, image: LoadedImage, style: LoadedImage) -> np.ndarray:
        """One target coloured from one reference (library use)."""
        target = self.prepare(image, self.prepare_style(style))
        return self.finish(target, self.predict([target])[0])


# ----------------------------------------------------------------------------------
# Reinhard et al. 2001: a*b* mean and standard deviation
# ----------------------------------------------------------------------------------


def _row_strips(image: LoadedImage) -> Iterator[tuple[slice, torch.Tensor]]:
    """(rows, 3×r×W float32 sRGB) strips of the image, bounding the memory of colour conversion."""
    rgb = torch.from_numpy(np.ascontiguousarray(image.rgb)).permute(2, 0, 1)
    for rows in row_strips(rgb.shape[1]):
        yield rows, rgb[:, rows].float()


def ab_statistics(image: LoadedImage) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation (float64, shape 2) of a*b* over the full-resolution image."""
    total = torch.zeros(2, dtype=torch.float64)
    squares = torch.zeros(2, dtype=torch.float64)
    for _, strip in _row_strips(image):
        ab = rgb_to_lab(strip)[1:].reshape(2, -1).double()
        total += ab.sum(dim=1)
        squares += (ab * ab).sum(dim=1)
    count = image.rgb.shape[0] * image.rgb.shape[1]
    mean = total / count
    return mean, (squares / count - mean * mean).clamp(min=0).sqrt()


class ReinhardTransfer(TransferMethod):
    """Per-channel a*b* mean/std matching at full resolution; L* is the target's."""

    name = "reinhard"

    def prepare_style(self, image: LoadedImage) -> Reference:
        notes = [] if not image.is_gray else [NO_COLOUR]
        return Reference(image.path, ab_statistics(image), notes)

    def prepare(self, image: LoadedImage, reference: Reference) -> Target:
        mean, std = ab_statistics(image)
        notes = list(image.warnings)
        if bool((std < MIN_CHROMA_STD).all()):
            notes.append("target has no colour to rescale: it gets the style's mean tint")
        return Target(image, reference, (mean, std), notes)

    def finish(self, target: Target, predicted: Any) -> np.ndarray:
        (mean, std), (style_mean, style_std) = target.data, target.reference.data
        # A channel with no spread (a gray target) has nothing to scale: it takes the mean.
        scale = torch.where(std >= MIN_CHROMA_STD, style_std / std.clamp(min=1e-12), torch.zeros_like(std))
        shift = style_mean - mean * scale  # out = (ab - mean) · scale + style_mean
        scale, shift = scale.float()[:, None, None], shift.float()[:, None, None]
        height, width = target.image.rgb.shape[:2]
        out = np.empty((height, width, 3), dtype=np.float32)
        for rows, strip in _row_strips(target.image):
            lab = rgb_to_lab(strip)
            lab[1:] = lab[1:] * scale + shift
            out[rows] = lab_to_rgb(lab).permute(1, 2, 0).numpy()
        return out


# ----------------------------------------------------------------------------------
# Welsh et al. 2002: luminance-matched jittered samples
# ----------------------------------------------------------------------------------


def working_lab(image: LoadedImage, size: int = WORKING_SIZE) -> torch.Tensor:
    """L*a*b* (3×h×w) of a copy whose long side is at most ``size`` (never upscaled)."""
    rgb = torch.from_numpy(np.ascontiguousarray(image.rgb)).permute(2, 0, 1)[None].float()
    shape = render_shape(rgb.shape[2], rgb.shape[3], size, multiple=1)
    if shape != tuple(rgb.shape[2:]):
        rgb = F.interpolate(rgb, size=shape, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    return rgb_to_lab(rgb)[0]


def local_std(lightness: torch.Tensor, window: int = WELSH_WINDOW) -> torch.Tensor:
    """Standard deviation of L* (h×w) in a window×window neighbourhood (borders replicated)."""
    pad = window // 2
    x = F.pad(lightness[None, None].double(), (pad, pad, pad, pad), mode="replicate")
    mean = F.avg_pool2d(x, window, stride=1)
    square = F.avg_pool2d(x * x, window, stride=1)
    return (square - mean * mean).clamp(min=0).sqrt()[0, 0].float()


def jittered_positions(height: int, width: int, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """About ``count`` (y, x) positions, one at a random place in each cell of a regular grid."""
    rows = max(1, min(height, round(np.sqrt(count * height / width))))
    cols = max(1, min(width, round(count / rows)))
    rng = np.random.default_rng(seed)
    cy, cx = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    ys = ((cy + rng.random(cy.shape)) * height / rows).astype(np.int64).clip(0, height - 1)
    xs = ((cx + rng.random(cx.shape)) * width / cols).astype(np.int64).clip(0, width - 1)
    return torch.from_numpy(ys.ravel()), torch.from_numpy(xs.ravel())


@dataclass
class Swatch:
    """Welsh et al.'s samples of a reference: L*, σ(L*) and a*b* per sample, and L* statistics."""

    lightness: torch.Tensor  # n
    std: torch.Tensor  # n
    ab: torch.Tensor  # n×2
    mean: float
    spread: float


@dataclass
class WelshTarget:
    lightness: torch.Tensor  # 1×H×W full resolution
    working: torch.Tensor  # h×w L* at the working size
    std: torch.Tensor  # h×w


class WelshTransfer(TransferMethod):
    """Jittered-sample matching on luminance and its local spread, at a bounded working size."""

    name = "welsh"

    def __init__(self, samples: int = WELSH_SAMPLES, seed: int = 0, working_size: int = WORKING_SIZE) -> None:
        self.samples = samples
        self.seed = seed
        self.working_size = working_size

    def prepare_style(self, image: LoadedImage) -> Reference:
        lab = working_lab(image, self.working_size)
        lightness = lab[0]
        ys, xs = jittered_positions(*lightness.shape, self.samples, self.seed)
        std = local_std(lightness)
        swatch = Swatch(
            lightness[ys, xs],
            std[ys, xs],
            lab[1:, ys, xs].T.contiguous(),
            float(lightness.mean()),
            float(lightness.std(unbiased=False)),
        )
        return Reference(image.path, swatch, [] if not image.is_gray else [NO_COLOUR])

    def prepare(self, image: LoadedImage, reference: Reference) -> Target:
        lightness = image_lightness(image)
        shape = render_shape(*lightness.shape[1:], self.working_size, multiple=1)
        working = F.interpolate(lightness[None], size=shape, mode="bilinear", antialias=True, align_corners=False)[0, 0]
        notes = list(image.warnings) + ([] if image.is_gray else [COLOUR_INPUT_NOTE])
        return Target(image, reference, WelshTarget(lightness, working, local_std(working)), notes)

    def predict(self, batch: list[Target]) -> list[torch.Tensor]:
        return [welsh_match(target.data.working, target.data.std, target.reference.data) for target in batch]

    def finish(self, target: Target, predicted: torch.Tensor) -> np.ndarray:
        return merge_full_resolution(target.data.lightness, predicted)


def welsh_match(lightness: torch.Tensor, std: torch.Tensor, swatch: Swatch) -> torch.Tensor:
    """a*b* (2×h×w) of the best-matching sample for each pixel of a target L* (h×w)."""
    # Luminance remapping (Welsh et al. §2, after Hertzmann et al.): the reference's L*
    # is shifted and scaled to the target's mean and standard deviation.
    target_mean, target_spread = float(lightness.mean()), float(lightness.std(unbiased=False))
    ratio = target_spread / swatch.spread if swatch.spread > 1e-6 else 1.0
    sample_l = (swatch.lightness - swatch.mean) * ratio + target_mean
    sample_std = swatch.std * ratio
    pixels_l, pixels_std = lightness.reshape(-1, 1), std.reshape(-1, 1)
    best = torch.empty(pixels_l.shape[0], dtype=torch.long)
    for start in range(0, pixels_l.shape[0], MATCH_CHUNK):
        part = slice(start, start + MATCH_CHUNK)
        distance = 0.5 * (pixels_l[part] - sample_l).abs() + 0.5 * (pixels_std[part] - sample_std).abs()
        best[part] = distance.argmin(dim=1)
    return swatch.ab[best].T.reshape(2, *lightness.shape)


# ----------------------------------------------------------------------------------
# Iizuka, Simo-Serra and Ishikawa 2016, §4.5: global features from the reference, local
# features from the target
# ----------------------------------------------------------------------------------


class GlobalTransfer(TransferMethod):
    """The colorizer's fusion of the target's local features with the reference's global ones."""

    name = "global"
    uses_model = True

    def __init__(self, colorizer: Colorizer) -> None:
        if not colorizer.takes_global_source:
            raise UsageError(
                f"{colorizer.name} cannot take global features from another image; --method global needs an iizuka model"
            )
        self.colorizer = colorizer

    @property
    def record_fields(self) -> dict[str, Any]:
        return {"model": self.colorizer.name, "weights_sha256": self.colorizer.card.get("sha256")}

    def prepare_style(self, image: LoadedImage) -> Reference:
        # The reference's model input, made exactly as for colorizing it: the global
        # network then sees the same fixed-size copy it would see for the reference itself.
        return Reference(image.path, self.colorizer.prepare(image).model_input)

    def prepare(self, image: LoadedImage, reference: Reference) -> Target:
        prepared = self.colorizer.prepare(image)
        return Target(image, reference, prepared, prepared.warnings)

    def batch_key(self, target: Target) -> Hashable:
        return tuple(target.data.model_input.shape), tuple(target.reference.data.shape)

    def predict(self, batch: list[Target]) -> list[torch.Tensor]:
        return self.colorizer.predict([t.data for t in batch], [t.reference.data for t in batch])

    def finish(self, target: Target, predicted: torch.Tensor) -> np.ndarray:
        return self.colorizer.finish(target.data, predicted)


def _load_global(
    model: str | None = None,
    weights: str | Path | None = None,
    device: str = "auto",
    precision: str = "auto",
    render_size: int | None = None,
    **_: Any,
) -> GlobalTransfer:
    if model is None and weights is None:
        model = GLOBAL_TRANSFER_MODEL  # the default colorizer (unet) has no global features to swap
    return GlobalTransfer(load_colorizer(model, weights, device, precision, render_size))


def _load_reinhard(**_: Any) -> ReinhardTransfer:
    return ReinhardTransfer()


def _load_welsh(**_: Any) -> WelshTransfer:
    return WelshTransfer()


# Name → factory taking the command's options (model, weights, device, precision,
# render_size); options a method has no use for are ignored.
METHODS: dict[str, Callable[..., TransferMethod]] = {
    "global": _load_global,
    "reinhard": _load_reinhard,
    "welsh": _load_welsh,
}
DEFAULT_METHOD = "global"
GLOBAL_TRANSFER_MODEL = DEFAULT_MODELS["transfer"]  # --method global without --model/--weights


def load_method(name: str = DEFAULT_METHOD, **options: Any) -> TransferMethod:
    """A ready transfer method by name; ``ValueError`` for an unknown name."""
    factory = METHODS.get(name)
    if factory is None:
        raise UsageError(f"unknown transfer method {name!r} (choose from {', '.join(METHODS)})")
    return factory(**options)


# ----------------------------------------------------------------------------------
# References decoded once, and the batch pipeline
# ----------------------------------------------------------------------------------


class StyleCache:
    """Each distinct reference decoded and prepared once (thread-safe); failures are kept too."""

    def __init__(self, method: TransferMethod, max_pixels: int = MAX_PIXELS) -> None:
        self.method, self.max_pixels = method, max_pixels
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._done: dict[str, Reference | StyleError] = {}

    def get(self, path: str | Path) -> Reference:
        key = str(Path(path).resolve())
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._done:
                self._done[key] = self._prepare(Path(path))
        found = self._done[key]
        if isinstance(found, StyleError):
            raise found
        return found

    def _prepare(self, path: Path) -> Reference | StyleError:
        try:
            return self.method.prepare_style(load_image(path, self.max_pixels))
        except ImageError as error:
            return StyleError(f"style {path}: {error.reason}")
        except IMAGE_FAILURES as error:
            return StyleError(f"style {path}: {error}")


@dataclass(frozen=True)
class TransferJob:
    source: Path  # the target image
    style: Path  # its reference
    output: Path  # where the result goes


def transfer_files(
    method: TransferMethod,
    jobs: Iterable[TransferJob],
    styles: StyleCache | None = None,
    batch_size: int = 4,
    workers: int = 2,
    max_pixels: int = MAX_PIXELS,
    keep_metadata: bool = True,
) -> Iterator[dict[str, Any] | Any]:
    """Transfer colour for each job through the runner's pipeline, in order (targets larger
    than ``max_pixels`` fail; references: the :class:`StyleCache`'s limit). Outputs keep
    their target's metadata and say how they were colorized, unless not ``keep_metadata``.

    Yields a record per written image, or a :class:`cfx.runner.Failed` whose ``item``
    is the :class:`TransferJob` (a reference that cannot be read fails its targets).
    """
    from cfx.runner import run_pipeline

    cache = styles if styles is not None else StyleCache(method, max_pixels)
    fields = method.record_fields
    label = colorized_label(fields.get("model"), fields.get("weights_sha256"), method=method.name)

    def decode(job: TransferJob) -> tuple[TransferJob, Target]:
        reference = cache.get(job.style)
        return job, method.prepare(load_image(job.source, max_pixels), reference)

    def encode(pair: tuple[tuple[TransferJob, Target], Any]) -> dict[str, Any]:
        (job, target), predicted = pair
        rgb = method.finish(target, predicted)
        saved = save_result(target.image, rgb, job.output, label=label, keep_metadata=keep_metadata)
        notes = target.warnings + [f"style {target.reference.path}: {note}" for note in target.reference.warnings]
        return {
            "path": saved["path"],
            "style": str(job.style),
            **saved,
            "method": method.name,
            **method.record_fields,
            "warnings": notes,
        }

    yield from run_pipeline(
        jobs,
        decode,
        batch_key=lambda ready: method.batch_key(ready[1]),
        compute=lambda batch: method.predict([target for _, target in batch]),
        encode=encode,
        batch_size=batch_size,
        workers=workers,
        errors=IMAGE_FAILURES,
    )
