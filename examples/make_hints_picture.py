"""Make docs/hints.jpg: gray | automatic colour | colour with a few user hints (dots drawn).

    python examples/make_hints_picture.py                    # docs/hints.jpg with unet.lite0-guided

Guided colorization (Zhang, Zhu, Isola, Geng, Lin, Yu & Efros 2017): the colour of a bus or of
sweets cannot be known from the gray photo, but a user who remembers it gives it at a few
points. Each photo below is a real colour photo made gray; the hints are its true colours at
the listed points (fractions of the width and height), as a user who knew them would give
them with `cfx colorize --hints`. The automatic column is the same model without hints.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "hints.jpg"
PHOTOS = [  # (photo, [(x fraction, y fraction), ...])
    (ROOT / "examples" / "hint_photos" / "tps-green-korean-bus-245ebec9.jpg", [(0.2, 0.6), (0.83, 0.64)]),
    (ROOT / "examples" / "colour_photos" / "cv-smarties-ad3f751c.jpg", [(0.08, 0.64), (0.91, 0.22), (0.5, 0.59)]),
]
GAP, HEADER = 8, 30


def true_points(path: Path, fractions: list[tuple[float, float]]) -> list[dict]:
    """Hint points at ``fractions`` of the photo with its true colour there (mean of a 5×5 patch)."""
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float32)
    height, width = rgb.shape[:2]
    points = []
    for fx, fy in fractions:
        x, y = round(fx * (width - 1)), round(fy * (height - 1))
        patch = rgb[max(0, y - 2) : y + 3, max(0, x - 2) : x + 3].reshape(-1, 3).mean(axis=0)
        points.append({"x": x, "y": y, "color": "#" + "".join(f"{round(v):02x}" for v in patch), "radius": 2})
    return points


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="unet.lite0-guided", help="a hint-conditioned colorizer")
    parser.add_argument("--height", type=int, default=220)
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    from cfx.colorize import load_colorizer
    from cfx.hints import hints_from_value
    from cfx.imageio import load_image

    colorizer = load_colorizer(args.model)
    rows = []
    for photo, fractions in PHOTOS:
        image = load_image(photo)
        gray = Image.fromarray(np.clip(image.rgb * 255 + 0.5, 0, 255).astype(np.uint8)).convert("L").convert("RGB")
        points = true_points(photo, fractions)
        automatic = colorizer.colorize_array(image)
        prepared = colorizer.prepare(image, hints_from_value({"points": points}, photo.name))
        hinted = colorizer.finish(prepared, colorizer.predict([prepared])[0])
        cells = [gray] + [Image.fromarray(np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)) for a in (automatic, hinted)]
        scale = args.height / gray.height
        cells = [c.resize((round(c.width * scale), args.height), Image.LANCZOS) for c in cells]
        draw = ImageDraw.Draw(cells[2])
        for p in points:
            x, y, r = p["x"] * scale, p["y"] * scale, 6
            draw.ellipse([x - r, y - r, x + r, y + r], fill=p["color"], outline="white", width=2)
        rows.append(cells)
    width = max(sum(c.width + GAP for c in cells) for cells in rows) + GAP
    canvas = Image.new("RGB", (width, HEADER + len(rows) * (args.height + GAP) + GAP), "white")
    ImageDraw.Draw(canvas).text(
        (GAP, 6),
        f"gray | automatic | with the dotted hints ({colorizer.name})",
        fill=(20, 20, 20),
        font=ImageFont.load_default(size=16),
    )
    y = HEADER
    for cells in rows:
        x = GAP
        for cell in cells:
            canvas.paste(cell, (x, y))
            x += cell.width + GAP
        y += args.height + GAP
    args.output.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(args.output, quality=88)
    print(args.output)


if __name__ == "__main__":
    main()
