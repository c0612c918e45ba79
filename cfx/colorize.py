"""Colorize images at any resolution (Iizuka, Simo-Serra and Ishikawa 2016, §3.5 and §5.4).

The chroma (a*b*) is predicted from a copy of the lightness resized so that its long
side is at most the render size (sides rounded to the model's multiple of 8); the
global network always sees its fixed-size copy. The predicted chroma is upsampled to
the input's full resolution and merged with the input's own full-resolution L*, so
the output keeps every detail of the input, its size, its alpha and its bit depth.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from cfx.color import (
    Y_ROW,
    gray_lightness_table,
    gray_to_lightness,
    lab_rows_to_srgb,
    lab_to_rgb,
    linear_level_table,
    luminance_to_lightness,
    srgb_to_linear,
)
from cfx.errors import UsageError
from cfx.hints import Hints, spread_hints
from cfx.imageio import GRAY_MODES, ImageError, LoadedImage, load_image, output_suffix, save_image
from cfx.limits import MAX_PIXELS
from cfx.loading import DEFAULT_MODELS, load
from cfx.metadata import colorized_label, labelled

MERGE_ROWS = 512  # rows of the full-resolution work done at a time, at most (bounds memory)
# Values per strip of the full-resolution merge and lightness: the fastest measured on one
# thread (1024² merge: 7.7 ms in strips of 2^17, 12 ms of 2^15, 19 ms of 2^14); the strip's
# temporaries stay in the caches, and the per-pass overhead is paid ~8 times per megapixel.
STRIP_PIXELS = 1 << 17
COLOUR_INPUT_NOTE = "input has colour: its luminance is used"


def row_strips(height: int, width: int | None = None) -> Iterator[slice]:
    """Slices of at most ``MERGE_ROWS`` rows (with ``width``, values per row: of at most
    :data:`STRIP_PIXELS` values): full-resolution colour work done in strips bounds peak memory."""
    step = MERGE_ROWS if width is None else max(1, min(MERGE_ROWS, STRIP_PIXELS // max(1, width)))
    for top in range(0, height, step):
        yield slice(top, min(height, top + step))


def render_shape(height: int, width: int, render_size: int, multiple: int = 8) -> tuple[int, int]:
    """(h, w) of the model input: long side ≤ render_size, never upscaled, multiples of ``multiple``."""
    scale = min(1.0, render_size / max(height, width))
    return tuple(max(multiple, int(math.ceil(side * scale / multiple)) * multiple) for side in (height, width))  # type: ignore[return-value]


@dataclass
class Prepared:
    """One decoded image ready for the model."""

    image: LoadedImage
    lightness: torch.Tensor  # 1×H×W, L* in [0, 100], full resolution
    model_input: torch.Tensor  # 1×h×w, L*/100 at render size
    warnings: list[str] = field(default_factory=list)
    hints: torch.Tensor | None = None  # 3×h×w user hints at render size (a*b*/110 × mask, mask)
    pins: tuple[np.ndarray, np.ndarray] | None = None  # hinted pixels (H×W mask, H×W×2 a*b*) kept exactly


class Colorizer:
    """A loaded colorizer: ``prepare`` (CPU, any thread) → ``predict`` (batched) → ``finish``."""

    def __init__(
        self,
        model: torch.nn.Module,
        card: dict[str, Any],
        device: torch.device,
        render_size: int,
        autocast: Any = None,
        takes_hints: bool = False,
    ) -> None:
        self.model = model
        self.card = card
        self.device = device
        self.render_size = render_size
        self.autocast = autocast
        self.multiple = getattr(model, "multiple", 8)
        self.takes_hints = takes_hints  # declared by the registry spec (``hints=True``)

    @property
    def name(self) -> str:
        return str(self.card.get("name", getattr(self.model, "cfx_name", "?")))

    def prepare(self, image: LoadedImage, hints: Hints | None = None) -> Prepared:
        """``hints``: the user's colours for this image (a hint-conditioned model only)."""
        lightness = image_lightness(image)
        height, width = lightness.shape[1:]
        h, w = render_shape(height, width, self.render_size, self.multiple)
        small = F.interpolate(lightness[None], size=(h, w), mode="bilinear", antialias=True, align_corners=False)[0]
        notes = list(image.warnings)
        if not image.is_gray:
            notes.append(COLOUR_INPUT_NOTE)
        prepared = Prepared(image, lightness, small.clamp(0, 100) / 100.0, notes)
        if hints is not None and len(hints):
            if not self.takes_hints:
                raise UsageError(
                    f"{self.name} takes no hints (a hint-conditioned model such as unet.lite0-guided does)"
                )
            hints.check(width, height, str(image.path))
            prepared.hints = hints.model_channels(height, width, (h, w))
            prepared.pins = hints.full_resolution(height, width)
        return prepared

    @property
    def takes_global_source(self) -> bool:
        """Whether the model can take its global features from another image (Iizuka et al. 2016, §4.5)."""
        return "global_source" in inspect.signature(self.model.forward).parameters

    @torch.inference_mode()
    def predict(self, batch: list[Prepared], styles: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
        """a*b* (Lab units, 2×h'×w', on the CPU) for a batch of same-size inputs.

        ``styles``: model inputs of other images whose global features replace the
        inputs' own (style transfer, Iizuka, Simo-Serra and Ishikawa 2016, §4.5).
        """
        x = torch.stack([p.model_input for p in batch]).to(self.device)
        if self.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        extra = {} if styles is None else {"global_source": torch.stack(styles).to(self.device)}
        if any(p.hints is not None for p in batch):
            zeros = torch.zeros(3, *batch[0].model_input.shape[1:])
            extra["hints"] = torch.stack([zeros if p.hints is None else p.hints for p in batch]).to(self.device)
        with self.autocast if self.autocast is not None else torch.autocast("cpu", enabled=False):
            ab = self.model.predict_ab(x, **extra)
        out = list(ab.float().cpu())
        return [a if p.hints is None else spread_hints(a, p.model_input, p.hints) for a, p in zip(out, batch)]

    def finish(self, prepared: Prepared, ab: torch.Tensor, bit_depth: int | None = None) -> np.ndarray:
        """Merge the chroma with the full-resolution L*: float32 H×W×3 sRGB in [0, 1], or
        with ``bit_depth`` (8, 16) the uint8 / uint16 levels to encode. Hinted pixels keep the
        user's a*b* exactly."""
        merged = merge_full_resolution(prepared.lightness, ab, bit_depth)
        if prepared.pins is not None:
            pin_colours(merged, prepared.lightness, *prepared.pins)
        return merged

    def colorize_array(self, image: LoadedImage) -> np.ndarray:
        """One image end to end (library use; the CLI batches through the runner)."""
        prepared = self.prepare(image)
        return self.finish(prepared, self.predict([prepared])[0])


def pin_colours(out: np.ndarray, lightness: torch.Tensor, mask: np.ndarray, ab: np.ndarray) -> None:
    """Overwrite the pixels of ``mask`` in ``out`` (H×W×3: float [0, 1], uint8 or uint16 levels)
    with their own L* and the hint's a*b*."""
    if not mask.any():
        return
    rows, cols = np.nonzero(mask)
    lab = torch.cat((lightness[0][rows, cols][None], torch.from_numpy(ab[rows, cols]).T), 0)
    rgb = lab_to_rgb(lab[:, :, None])[:, :, 0].clamp(0, 1).T.numpy()
    if out.dtype == np.float32:
        out[rows, cols] = rgb
    else:
        top = np.iinfo(out.dtype).max
        out[rows, cols] = np.rint(rgb * top).astype(out.dtype)


def image_lightness(image: LoadedImage) -> torch.Tensor:
    """Full-resolution L* (1×H×W, in [0, 100]) of a decoded image, computed in row strips.

    Gray formats (R = G = B exactly) are read from one channel; 8-bit gray and 16-bit
    gray levels are looked up in a table of L* per level, and 8- or 16-bit colour is
    linearised by a table per level: no power function runs per pixel except the cube
    root of a colour image's luminance.
    """
    rgb = image.rgb
    height, width = rgb.shape[:2]
    out = torch.empty((1, height, width), dtype=torch.float32)
    gray = image.mode in GRAY_MODES
    exact = image.mode in _EXACT_LEVEL_MODES.get(image.bit_depth, ())  # pixels are k / (2**bits - 1)
    levels = float((1 << image.bit_depth) - 1)
    table = (gray_lightness_table if gray else linear_level_table)(image.bit_depth) if exact else None
    for rows in row_strips(height, width):
        strip = torch.from_numpy(rgb[rows, :, 0] if gray else rgb[rows])
        if table is not None:
            index = torch.mul(strip, levels).add_(0.5).to(torch.int32)
            values = torch.index_select(table, 0, index.reshape(-1)).view(index.shape)  # strided strips too
        else:
            values = srgb_to_linear(strip.clamp(0.0, 1.0)) if not gray else strip
        if gray:
            out[0, rows] = values if table is not None else gray_to_lightness(values.clamp(0.0, 1.0))
        else:
            r, g, b = values.unbind(-1)
            y = torch.mul(r, Y_ROW[0]).add_(g, alpha=Y_ROW[1]).add_(b, alpha=Y_ROW[2])
            out[0, rows] = luminance_to_lightness(y)
    return out


# PIL modes whose decoded pixels are exact multiples of 1 / (2**bit_depth - 1), by bit depth.
_EXACT_LEVEL_MODES = {
    8: frozenset({"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"}),
    16: frozenset({"I;16", "I;16L", "I;16B", "I;16N", "RGB", "RGBA"}),
}


def merge_full_resolution(lightness: torch.Tensor, ab: torch.Tensor, bit_depth: int | None = None) -> np.ndarray:
    """Upsample a*b* (2×h×w) to L*'s size (1×H×W) and merge, in strips of rows that fit the cache.

    Returns H×W×3 sRGB: float32 in [0, 1] by default, or with ``bit_depth`` 8 or 16 the
    uint8 / uint16 levels an encoder writes (rounded through a table, within one level of
    rounding the float result). Memory: the output, the chroma widened to W (2×h×W) and
    one strip; nothing else of the image's area.
    """
    height, width = lightness.shape[1:]
    out = np.empty((height, width, 3), dtype={None: np.float32, 8: np.uint8, 16: np.uint16}[bit_depth])
    ab = torch.nan_to_num(ab.float(), nan=0.0).clamp(-1e4, 1e4)
    wide = torch.empty((2, ab.shape[1], width))  # the chroma's rows upsampled to the width
    for rows in row_strips(ab.shape[1], 2 * width):
        wide[:, rows] = F.interpolate(
            ab[None, :, rows], size=(rows.stop - rows.start, width), mode="bilinear", align_corners=False
        )[0]
    # Per row of the chroma: the least a* and the greatest b*, which bound a strip's darkest
    # companded value (bilinear interpolation stays within its neighbours).
    a_least, b_most = wide[0].amin(dim=1).tolist(), wide[1].amax(dim=1).tolist()
    for rows in row_strips(height, 2 * width):  # two chroma planes per pixel
        chroma, sources = _upsample_rows(wide, height, rows)
        fy = (float(lightness[0, rows].min()) + 16.0) / 116.0
        darkest = min(fy, fy + min(a_least[sources]) / 500.0, fy - max(b_most[sources]) / 200.0)
        lab_rows_to_srgb(lightness[0, rows], chroma[0], chroma[1], out[rows], darkest)
    return out


def _upsample_rows(wide: torch.Tensor, height: int, rows: slice) -> tuple[torch.Tensor, slice]:
    """Rows ``rows`` of the bilinear upsampling (align_corners=False) to ``height`` rows of
    ``wide`` (C×h×W, already upsampled along its rows): the vertical half of F.interpolate;
    and the slice of ``wide``'s rows they are made from."""
    h = wide.shape[1]
    # Source coordinates of the wanted output rows, as F.interpolate computes them.
    ys = (torch.arange(rows.start, rows.stop, dtype=torch.float32) + 0.5) * (h / height) - 0.5
    y0 = ys.floor().clamp(0, h - 1)
    frac = (ys - y0).clamp(0, 1)
    y0 = y0.long()
    y1 = (y0 + 1).clamp(max=h - 1)
    upper, lower = torch.index_select(wide, 1, y0), torch.index_select(wide, 1, y1)
    return torch.lerp(upper, lower, frac[:, None]), slice(int(y0[0]), int(y1[-1]) + 1)


def load_colorizer(
    model: str | None = None,
    weights: str | Path | None = None,
    device: str = "auto",
    precision: str = "auto",
    render_size: int | None = None,
    temperature: float | None = None,
) -> Colorizer:
    """A ready :class:`Colorizer` from registry name and/or weights file (see :func:`cfx.loading.load`).

    ``temperature``: the annealed-mean temperature of classification colorizers (zhang).
    """
    loaded = load("colorize", model, weights, device=device, precision=precision)
    if temperature is not None:
        if not loaded.spec.takes("temperature", getattr(loaded.network, "config", None)):
            raise UsageError(
                f"--temperature is not used by {loaded.spec.name}: only classification colorizers decode with an annealed mean (zhang)"
            )
        if temperature <= 0:
            raise UsageError(f"--temperature must be positive, got {temperature}")
        loaded.network.temperature = float(temperature)
    size = render_size or loaded.spec.defaults.get("render_size", 320)
    takes_hints = loaded.spec.takes("hints", getattr(loaded.network, "config", None))
    return Colorizer(loaded.network, loaded.card, loaded.device, size, loaded.autocast, takes_hints)


DEFAULT_COLORIZER = DEFAULT_MODELS["colorize"]
# On a CPU a batch runs slower per image once its model input outgrows the caches
# (iizuka.full at 512²: 0.29 s per image alone, 0.35 s in a batch of 4), while small inputs
# gain from batching in the pipeline (the default model at 320²: 23 images/s with batches
# of 4, 20 with 1). Batches are capped at this many model-input pixels there.
CPU_BATCH_PIXELS = 4 * 320 * 320


def batch_size_for(colorizer: Colorizer, requested: int) -> int:
    """``requested`` on a GPU; on a CPU at most :data:`CPU_BATCH_PIXELS` of model input per batch (at least 1)."""
    if colorizer.device.type != "cpu":
        return requested
    return max(1, min(requested, CPU_BATCH_PIXELS // (colorizer.render_size * colorizer.render_size)))


# Per-image failures that become error records instead of stopping a run.
IMAGE_FAILURES = (ImageError, OSError, ValueError, RuntimeError, MemoryError)


def planned_suffix(input_path: Path) -> str:
    """Output suffix known before decoding: formats that may hold 16 bits or alpha become PNG."""
    suffix = input_path.suffix.lower()
    return output_suffix(suffix, 16 if suffix in (".png", ".tif", ".tiff") else 8, suffix == ".gif")


def write_colorized(
    colorizer: Colorizer, prepared: Prepared, ab: torch.Tensor, target: Path, keep_metadata: bool = True
) -> dict[str, Any]:
    """Merge, encode and atomically write one result (with the input's metadata and the
    provenance label, unless not ``keep_metadata``); returns its record fields."""
    label = colorized_label(colorizer.name, colorizer.card.get("sha256"))
    rgb = colorizer.finish(prepared, ab, prepared.image.bit_depth)
    saved = save_result(prepared.image, rgb, target, label=label, keep_metadata=keep_metadata)
    render = [int(prepared.model_input.shape[2]), int(prepared.model_input.shape[1])]
    record = {**saved, "render": render, "warnings": prepared.warnings}
    if prepared.pins is not None:
        record["hinted_pixels"] = int(prepared.pins[0].sum())
    return record


def save_result(
    image: LoadedImage, rgb: np.ndarray, target: Path, label: str | None = None, keep_metadata: bool = True
) -> dict[str, Any]:
    """Atomically write ``rgb`` for ``image``, keeping its alpha and bit depth where the format can.

    With ``keep_metadata`` the output keeps the input's metadata and carries ``label``
    (:func:`cfx.metadata.colorized_label`); without, it carries neither (:mod:`cfx.metadata`).
    """
    suffix = target.suffix.lower()  # -o NAME.JPG names the format as well as .jpg does
    alpha = image.alpha if suffix not in (".jpg", ".jpeg", ".bmp") else None
    bit_depth = image.bit_depth if suffix == ".png" else 8
    target.parent.mkdir(parents=True, exist_ok=True)
    metadata = (labelled(image.metadata, label) if label else image.metadata) if keep_metadata else None
    save_image(target, rgb, alpha=alpha, bit_depth=bit_depth, metadata=metadata)
    height, width = rgb.shape[:2]
    return {
        "path": str(image.path),
        "output": str(target),
        "width": int(width),
        "height": int(height),
        "bit_depth": bit_depth,
        "alpha": alpha is not None,
    }


def colorize_files(
    colorizer: Colorizer,
    jobs: Iterable[tuple[Path, Path]],
    batch_size: int = 4,
    workers: int = 2,
    hints: dict[Path, Hints] | None = None,
    max_pixels: int = MAX_PIXELS,
    keep_metadata: bool = True,
) -> Iterator[dict[str, Any] | Any]:
    """Colorize (input, target) pairs through the runner's pipeline, in order.

    ``hints``: the user's colours by input path; ``max_pixels``: larger inputs fail
    (:func:`cfx.imageio.load_image`); ``keep_metadata``: see :func:`save_result`. Yields a
    record per written image, or a :class:`cfx.runner.Failed` whose ``item`` is the
    (input, target) pair.
    """
    from cfx.runner import run_pipeline

    hints = hints or {}

    def decode(job: tuple[Path, Path]) -> tuple[Path, Prepared]:
        source, target = job
        return target, colorizer.prepare(load_image(source, max_pixels), hints.get(source))

    def encode(pair: tuple[tuple[Path, Prepared], torch.Tensor]) -> dict[str, Any]:
        (target, prepared), ab = pair
        return write_colorized(colorizer, prepared, ab, target, keep_metadata)

    yield from run_pipeline(
        jobs,
        decode,
        batch_key=lambda ready: tuple(ready[1].model_input.shape),
        compute=lambda batch: colorizer.predict([prepared for _, prepared in batch]),
        encode=encode,
        batch_size=batch_size_for(colorizer, batch_size),
        workers=workers,
        errors=IMAGE_FAILURES,
    )
