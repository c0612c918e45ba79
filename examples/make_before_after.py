"""Make the README's before/after picture: each old photo in gray beside its `cfx colorize` output.

    python examples/make_before_after.py                      # docs/before_after.jpg, default colorizer
    python examples/make_before_after.py --model zhang.compact -o /tmp/zhang.jpg

Colorizes ``examples/old_photos`` through the same pipeline as ``cfx colorize`` (into a
temporary folder, JPEG as the CLI writes it) and lays the pairs out on one sheet: gray input,
then colour output, two pairs a row, with the model's name on top. Rerun it whenever the
default colorizer changes, and commit the picture.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "examples" / "old_photos"
OUTPUT = ROOT / "docs" / "before_after.jpg"
GAP = 8  # pixels between pictures
PAIR_GAP = 24  # pixels between pairs
HEADER = 34  # pixels for the title line


def colorize(photos: list[Path], out_dir: Path, model: str | None) -> tuple[list[Path], str]:
    """Colorize ``photos`` into ``out_dir`` as `cfx colorize` does; (outputs in order, model name)."""
    from cfx.colorize import colorize_files, load_colorizer
    from cfx.runner import Failed, configure_threads

    colorizer = load_colorizer(model)
    jobs = [(photo, out_dir / photo.name) for photo in photos]
    outputs = []
    for result in colorize_files(colorizer, jobs, workers=configure_threads()):
        if isinstance(result, Failed):
            raise SystemExit(f"{result.item[0]}: {result.reason}")
        outputs.append(Path(result["output"]))
    return outputs, colorizer.name


def sheet(pairs: list[tuple[Path, Path]], title: str, height: int, per_row: int) -> Image.Image:
    """The pairs side by side (gray | colour), ``per_row`` pairs a row, each picture ``height`` px tall."""
    cells = []
    for gray_path, colour_path in pairs:
        with Image.open(gray_path) as gray, Image.open(colour_path) as colour:
            width = round(gray.width * height / gray.height)
            cells.append(
                (
                    ImageOps.exif_transpose(gray).convert("RGB").resize((width, height), Image.LANCZOS),
                    colour.convert("RGB").resize((width, height), Image.LANCZOS),
                )
            )
    rows = [cells[i : i + per_row] for i in range(0, len(cells), per_row)]
    row_widths = [sum(2 * a.width + GAP for a, _ in row) + PAIR_GAP * (len(row) - 1) for row in rows]
    canvas = Image.new("RGB", (max(row_widths) + 2 * GAP, HEADER + len(rows) * (height + GAP) + GAP), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((GAP, 8), title, fill=(30, 30, 30), font=ImageFont.load_default(size=18))
    y = HEADER
    for row in rows:
        x = GAP
        for gray, colour in row:
            canvas.paste(gray, (x, y))
            canvas.paste(colour, (x + gray.width + GAP, y))
            x += 2 * gray.width + GAP + PAIR_GAP
        y += height + GAP
    return canvas


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--photos", type=Path, default=PHOTOS, help="folder of gray photos (default: examples/old_photos)"
    )
    parser.add_argument("--model", default=None, help="colorizer (default: cfx colorize's default)")
    parser.add_argument(
        "-o", "--output", type=Path, default=OUTPUT, help="JPEG to write (default: docs/before_after.jpg)"
    )
    parser.add_argument("--height", type=int, default=190, help="height of each picture in pixels")
    parser.add_argument("--per-row", type=int, default=2, help="pairs per row")
    parser.add_argument("--quality", type=int, default=82, help="JPEG quality")
    args = parser.parse_args(argv)

    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif", ".tiff"))
    if not photos:
        raise SystemExit(f"no photos in {args.photos}")
    with tempfile.TemporaryDirectory() as tmp:
        outputs, name = colorize(photos, Path(tmp), args.model)
        title = f"examples/old_photos: gray input | cfx colorize --model {name}"
        picture = sheet(list(zip(photos, outputs)), title, args.height, args.per_row)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    picture.save(args.output, quality=args.quality, optimize=True)
    print(
        f"{args.output}: {picture.width}x{picture.height}, {args.output.stat().st_size // 1024} KiB, {name}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
