"""Make docs/never_seen.jpg: the honest case, photos from sources no model trained on.

    python examples/make_never_seen.py --data /work/corpus/unseen-test          # default colorizer
    python examples/make_never_seen.py --data DIR --model unet.lite0 --per-source 3 -o /tmp/sheet.jpg

For the first ``--per-source`` photos (in sorted order) of each source package of the held-out
part (the corpus manifest beside ``--data`` names the package of every file), the sheet shows
the true photo, its lightness as gray, and what each ``--model`` (default: `cfx colorize`'s
default) makes of that gray, through the same pipeline as `cfx colorize`. Rerun it whenever the
default colorizer changes, and commit the picture.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "never_seen.jpg"
GAP, HEADER, LABEL = 6, 30, 16


def by_source(data: Path, per_source: int) -> list[tuple[str, Path]]:
    """(package, photo) for the first ``per_source`` photos of each package under ``data``."""
    for root in (data, *data.parents):
        if (root / "manifest.jsonl").is_file():
            break
    else:
        raise SystemExit(f"{data}: no manifest.jsonl above it (build the corpus with python -m cfx.data.corpus)")
    found: dict[str, list[Path]] = defaultdict(list)
    for line in (root / "manifest.jsonl").read_text().splitlines():
        record = json.loads(line)
        path = (root / record["file"]).resolve()
        if path.is_relative_to(data.resolve()) and path.is_file():
            found[record["package"]].append(path)
    return [(package, path) for package in sorted(found) for path in sorted(found[package])[:per_source]]


def columns(photo: Path, colorizers: list) -> list[Image.Image]:
    """truth | gray | each colorizer's output, as PIL images of the photo's size."""
    from cfx.imageio import load_image

    image = load_image(photo)
    truth = Image.fromarray(np.clip(image.rgb * 255 + 0.5, 0, 255).astype(np.uint8))
    out = [truth, truth.convert("L").convert("RGB")]
    for colorizer in colorizers:
        rgb = colorizer.colorize_array(image)
        out.append(Image.fromarray(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)))
    return out


def fit(image: Image.Image, height: int, max_aspect: float = 1.5) -> Image.Image:
    """``image`` at ``height`` pixels, its centre cropped to at most ``max_aspect`` wide (panoramas)."""
    image = image.resize((round(image.width * height / image.height), height), Image.LANCZOS)
    width = min(image.width, round(height * max_aspect))
    left = (image.width - width) // 2
    return image.crop((left, 0, left + width, height))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a held-out part of the corpus (unseen-test)")
    parser.add_argument("--model", action="append", default=[], help="colorizer (repeatable; default: the default)")
    parser.add_argument("--per-source", type=int, default=2)
    parser.add_argument("--height", type=int, default=150, help="pixels per picture")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    from cfx.colorize import load_colorizer

    colorizers = [load_colorizer(name) for name in (args.model or [None])]
    titles = ["truth", "gray"] + [c.name for c in colorizers]
    rows = []
    for package, photo in by_source(args.data, args.per_source):
        cells = [fit(im, args.height) for im in columns(photo, colorizers)]
        rows.append((f"{package}: {photo.name}", cells))
    per_row = 2
    row_width = max(sum(c.width + GAP for c in cells) for _, cells in rows)
    grid = [rows[i : i + per_row] for i in range(0, len(rows), per_row)]
    width = per_row * (row_width + 3 * GAP) + GAP
    height = HEADER + len(grid) * (args.height + LABEL + GAP) + GAP
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=12)
    draw.text(
        (GAP, 6),
        f"Photos of the sources corpus v4 holds out ({args.data.name}): " + " | ".join(titles),
        fill=(20, 20, 20),
        font=ImageFont.load_default(size=16),
    )
    y = HEADER
    for line in grid:
        x = GAP
        for label, cells in line:
            draw.text((x, y), label[:60], fill=(60, 60, 60), font=font)
            cx = x
            for cell in cells:
                canvas.paste(cell, (cx, y + LABEL))
                cx += cell.width + GAP
            x += row_width + 3 * GAP
        y += args.height + LABEL + GAP
    args.output.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(args.output, quality=85)
    print(args.output)


if __name__ == "__main__":
    main()
