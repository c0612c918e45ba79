"""User colour hints for guided colorization (Zhang, Zhu, Isola, Geng, Lin, Yu & Efros 2017,
"Real-Time User-Guided Image Colorization with Learned Deep Priors", §3.1: sparse user points
given to the network as their a*b* plus a mask).

Three ways to give them (documented in docs/commands.md, `cfx colorize --hints`):

- ``--hints FILE.json``: ``{"points": [{"x": 120, "y": 80, "color": "#b22222", "radius": 2}]}``
  for one input; ``x``, ``y`` in the input's pixels (0-based, origin top-left, after EXIF
  orientation), ``color`` sRGB hex, ``radius`` in pixels (default 2): the disc is painted.
- ``--hints FILE.jsonl``: one ``{"path": ..., "points": [...]}`` per input, matched by path;
  a JSON line on stdin may carry a ``hints`` field (an object with ``points``) beside ``path``.
- ``--hint-image strokes.png``: a PNG of the input's size, transparent except for coloured
  strokes; every opaque pixel (alpha ≥ 128) is a hint of its colour.

A :class:`Hints` gives the model its channels at the render size (a*b*/110 × mask, mask) and
the full-resolution pixels whose a*b* the output keeps exactly. The model's a*b* with hints is
then combined with the points by :func:`spread_hints`: the hinted colours are spread by a
joint-bilateral interpolation (a Gaussian in space times a Gaussian in L*,
:mod:`cfx.hint_baseline`), so they follow the lightness edges, and the model's colour fills in
where the points have little weight (instead of the baseline's gray).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cfx.color import AB_RANGE, rgb_to_lab
from cfx.errors import UsageError

DEFAULT_RADIUS = 2.0
OPAQUE = 128  # alpha at or above which a stroke pixel is a hint
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def parse_color(text: Any, where: str) -> tuple[float, float]:
    """a*b* (Lab units) of an sRGB hex colour ``#rrggbb`` or ``#rgb``."""
    match = _HEX.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise UsageError(f"{where}: color {text!r} is not an sRGB hex colour like #b22222")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    rgb = torch.tensor([int(digits[k : k + 2], 16) / 255.0 for k in (0, 2, 4)]).view(3, 1, 1)
    lab = rgb_to_lab(rgb)
    return float(lab[1]), float(lab[2])


@dataclass(frozen=True)
class HintPoint:
    x: float
    y: float
    ab: tuple[float, float]
    radius: float = DEFAULT_RADIUS


@dataclass
class Hints:
    """The hints of one input: points and/or a stroke image (``stroke_ab`` H×W×2, ``stroke_mask`` H×W)."""

    source: str
    points: list[HintPoint]
    stroke_mask: np.ndarray | None = None
    stroke_ab: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.points) + (int(self.stroke_mask.sum()) if self.stroke_mask is not None else 0)

    def check(self, width: int, height: int, image: str) -> None:
        """Usage error unless every point lies inside and the strokes match the image's size."""
        for index, p in enumerate(self.points):
            if not (0 <= p.x <= width - 1 and 0 <= p.y <= height - 1):
                raise UsageError(
                    f"{self.source}: point {index} ({p.x:g}, {p.y:g}) is outside {image} ({width}×{height})"
                )
        if self.stroke_mask is not None and self.stroke_mask.shape != (height, width):
            h, w = self.stroke_mask.shape
            raise UsageError(f"{self.source}: stroke image is {w}×{h}, {image} is {width}×{height}")

    def full_resolution(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Mask (H×W bool) and a*b* (H×W×2, float32) of every hinted pixel at the input's size."""
        mask = np.zeros((height, width), dtype=bool)
        ab = np.zeros((height, width, 2), dtype=np.float32)
        if self.stroke_mask is not None and self.stroke_ab is not None:
            mask |= self.stroke_mask
            ab[self.stroke_mask] = self.stroke_ab[self.stroke_mask]
        for p in self.points:
            r = max(p.radius, 0.5)
            top, bottom = max(0, math.floor(p.y - r)), min(height, math.ceil(p.y + r) + 1)
            left, right = max(0, math.floor(p.x - r)), min(width, math.ceil(p.x + r) + 1)
            yy, xx = np.mgrid[top:bottom, left:right]
            disc = (yy - p.y) ** 2 + (xx - p.x) ** 2 <= r * r
            mask[top:bottom, left:right] |= disc
            ab[top:bottom, left:right][disc] = p.ab
        return mask, ab

    def model_channels(self, height: int, width: int, render: tuple[int, int]) -> torch.Tensor:
        """3×h×w at the render size: a*b*/110 times the mask, and the mask (a render pixel is hinted
        where any full-resolution pixel under it is, with their mean a*b*)."""
        h, w = render
        channels = torch.zeros(3, h, w)
        if self.stroke_mask is not None and self.stroke_ab is not None:
            mask = torch.from_numpy(self.stroke_mask.astype(np.float32))[None, None]
            ab = torch.from_numpy(self.stroke_ab).permute(2, 0, 1)[None] / AB_RANGE * mask
            coverage = F.adaptive_avg_pool2d(mask, (h, w))[0]
            mean = F.adaptive_avg_pool2d(ab, (h, w))[0] / coverage.clamp_min(1e-6)
            hinted = (F.adaptive_max_pool2d(mask, (h, w))[0] > 0).float()
            channels = torch.cat((mean * hinted, hinted), 0)
        sy, sx = h / height, w / width
        for p in self.points:  # each point covers at least the render pixel it falls in
            r = max(p.radius * max(sx, sy), 0.5)
            cy, cx = (p.y + 0.5) * sy - 0.5, (p.x + 0.5) * sx - 0.5
            top, bottom = max(0, math.floor(cy - r)), min(h, math.ceil(cy + r) + 1)
            left, right = max(0, math.floor(cx - r)), min(w, math.ceil(cx + r) + 1)
            yy, xx = torch.meshgrid(torch.arange(top, bottom), torch.arange(left, right), indexing="ij")
            disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            disc[min(max(round(cy), top), bottom - 1) - top, min(max(round(cx), left), right - 1) - left] = True
            for channel, value in enumerate((p.ab[0] / AB_RANGE, p.ab[1] / AB_RANGE, 1.0)):
                channels[channel, top:bottom, left:right][disc] = value
        return channels


def _points(value: Any, where: str) -> list[HintPoint]:
    if not isinstance(value, dict) or not isinstance(value.get("points"), list):
        raise UsageError(f'{where}: expected an object with a "points" list')
    points = []
    for index, raw in enumerate(value["points"]):
        at = f"{where}: point {index}"
        if not isinstance(raw, dict):
            raise UsageError(f"{at} is not an object")
        for key in ("x", "y"):
            if not isinstance(raw.get(key), (int, float)) or isinstance(raw.get(key), bool):
                raise UsageError(f"{at}: {key!r} must be a number of pixels")
        radius = raw.get("radius", DEFAULT_RADIUS)
        if not isinstance(radius, (int, float)) or isinstance(radius, bool) or radius < 0:
            raise UsageError(f"{at}: radius must be a non-negative number of pixels")
        points.append(HintPoint(float(raw["x"]), float(raw["y"]), parse_color(raw.get("color"), at), float(radius)))
    return points


def hints_from_value(value: Any, where: str) -> Hints:
    """Hints from a parsed JSON object ``{"points": [...]}`` (a file's, or a stdin line's ``hints``)."""
    return Hints(where, _points(value, where))


def read_hints_file(path: Path) -> Hints | dict[str, Hints]:
    """One input's hints (``.json``) or, for JSON Lines (``.jsonl``), hints by the path each line names."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read hints: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".jsonl":
        by_path: dict[str, Hints] = {}
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path} line {lineno}"
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise UsageError(f"{where}: invalid JSON: {exc}") from None
            if not isinstance(record, dict) or not isinstance(record.get("path"), str):
                raise UsageError(f'{where}: expected an object with a "path" string and "points"')
            by_path[record["path"]] = Hints(where, _points(record, where))
        if not by_path:
            raise UsageError(f"{path}: no hints")
        return by_path
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path}: invalid JSON: {exc}") from None
    return hints_from_value(value, str(path))


def read_hint_image(path: Path) -> Hints:
    """Hints from a stroke PNG: every pixel with alpha ≥ 128 is a hint of its sRGB colour."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if "A" not in im.getbands() and "transparency" not in im.info:
                raise UsageError(f"{path}: stroke image has no transparency (paint strokes on a transparent layer)")
            rgba = np.asarray(im.convert("RGBA"))
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the user's file
        raise UsageError(f"{path}: cannot read the stroke image: {exc}") from None
    mask = rgba[..., 3] >= OPAQUE
    if not mask.any():
        raise UsageError(f"{path}: stroke image has no opaque pixel")
    rgb = torch.from_numpy(rgba[..., :3].astype(np.float32) / 255.0).permute(2, 0, 1)
    ab = rgb_to_lab(rgb)[1:].permute(1, 2, 0).numpy().astype(np.float32)
    return Hints(str(path), [], mask, ab)


def match_hints(
    by_path: dict[str, Hints], inputs: list[Path], source: Path, sharded: bool = False
) -> dict[Path, Hints]:
    """Hints of a JSON Lines file by input; a line naming no input is a usage error, except,
    in one shard of a run (``sharded``), a line naming an existing file: another shard's."""
    resolved = {p.resolve(): p for p in inputs}
    matched: dict[Path, Hints] = {}
    for name, hints in by_path.items():
        found = resolved.get(Path(name).resolve())
        if found is None and sharded and Path(name).is_file():
            continue
        if found is None:
            raise UsageError(f"{hints.source}: {name} is none of the inputs")
        matched[found] = hints
    return matched


def oriented_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of an image after its EXIF orientation, read from its header; None if unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            width, height = im.size
            orientation = im.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - an unreadable input is reported by the run itself
        return None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def hints_for_inputs(
    inputs: list[Any], hints_file: Path | None = None, hint_image: Path | None = None, sharded: bool = False
) -> dict[Path, Hints]:
    """The hints of each input (items with ``path`` and stdin ``fields``), checked against its size.

    ``hints_file``: ``.json`` for one input, ``.jsonl`` by path; ``hint_image``: strokes for one
    input; a stdin JSON line's ``hints`` field. Any mistake is a usage error naming the file.
    ``sharded``: ``inputs`` are one shard (``--shard K/N``) of the inputs, so a JSON Lines hints
    file may name the other shards' files.
    """
    paths = [item.path for item in inputs]
    found: dict[Path, Hints] = {}
    for item in inputs:
        value = getattr(item, "fields", {}).get("hints")
        if value is not None:
            found[item.path] = hints_from_value(value, f"<stdin hints of {item.path}>")
    for source in (hints_file, hint_image):
        if source is None:
            continue
        read = read_hint_image(source) if source == hint_image else read_hints_file(source)
        if isinstance(read, dict):
            found.update(match_hints(read, paths, source, sharded))
        elif len(paths) != 1:
            kind = "--hint-image" if source == hint_image else "a .json hints file"
            raise UsageError(f"{source}: {kind} is for one input, {len(paths)} given (JSON Lines name each input)")
        elif paths[0] in found:  # points and strokes for one image
            found[paths[0]].points.extend(read.points)
            if read.stroke_mask is not None:
                found[paths[0]].stroke_mask, found[paths[0]].stroke_ab = read.stroke_mask, read.stroke_ab
        else:
            found[paths[0]] = read
    for path, hints in found.items():
        size = oriented_size(path)
        if size is not None:
            hints.check(*size, str(path))
    return found


def hint_grid(hints: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Hints at an input's size (N×3×H×W: a*b*/110 × mask, mask) on a coarser grid: a cell is
    hinted where any of its pixels is, with the mean a*b* of its hinted pixels."""
    hints = hints.float()
    mask = F.adaptive_max_pool2d(hints[:, 2:3], size)
    total = F.adaptive_avg_pool2d(hints, size)
    mean_ab = total[:, :2] / total[:, 2:3].clamp_min(1e-6)
    return torch.cat((mean_ab * mask, mask), 1)


def spread_hints(ab: torch.Tensor, model_input: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
    """``ab`` (2×h×w, the model's output) combined with the hints (3×H×W at the model input's size;
    ``model_input`` 1×H×W is L*/100) on ``ab``'s grid: the hinted cells' colours spread by the
    joint-bilateral interpolation of :mod:`cfx.hint_baseline`, with the model's colour as the
    prior where the points have little weight, (Σ w_i ab_i + ε · ab_model) / (Σ w_i + ε)."""
    from cfx.hint_baseline import ColourPoint, bilateral_ab

    size = ab.shape[-2:]
    lightness = F.interpolate(model_input[None].float() * 100.0, size=size, mode="area")[0, 0]
    grid = hint_grid(hints[None], size)[0]
    rows, cols = torch.nonzero(grid[2] > 0, as_tuple=True)
    if len(rows) == 0:
        return ab
    wanted = grid[:2, rows, cols] * AB_RANGE
    points = [
        ColourPoint(float(y), float(x), float(lightness[y, x]), (float(c[0]), float(c[1])))
        for y, x, c in zip(rows.tolist(), cols.tolist(), wanted.T)
    ]
    return bilateral_ab(lightness, points, prior=ab)
