"""Colorized versions of a folder of colour photos, for `cfx train detector` and `cfx eval detector`.

    python examples/make_blind_sets.py NATURAL OUT [--colorizers a,b] [--hinted c,d] [--methods global,welsh,reinhard] [--recolour]

Writes, with the same relative paths as NATURAL (so `--colorized NAME=OUT/NAME` pairs them):

- ``OUT/gray/``: the photos' L* alone (a*b* = 0), the input every method below starts from;
- ``OUT/<colorizer>/``: `cfx colorize --model <colorizer>` of each photo (its luminance);
- ``OUT/<colorizer>+hints/`` with ``--hinted``: `cfx colorize --model <colorizer>` given user
  points simulated on each photo (0 to 20 of them, drawn per photo name; each the mean colour
  of a 1–9 pixel patch, as Zhang et al. 2017 §3.1 simulate them), the outputs a user who
  guides the colours gets;
- ``OUT/transfer-<method>/``: `cfx transfer --method <method>` of each gray photo, with another
  photo of the same first-level folder as the style (the one half the folder's sorted list
  away, never a crop of the same photo: names that differ only by a ``_cN`` suffix are one
  photo). With NATURAL = a corpus, the first-level folders are its splits (``train/``,
  ``val/``...), so a style is an unrelated photo of the same split, in practice of another
  scene class (a dog coloured from a dish);
- ``OUT/recolour-reinhard/`` with ``--recolour``: Reinhard's transfer applied to the colour
  photo itself (a recolouring, not a colorization).

This is how the sets of docs/detection.md were made: NATURAL = corpus v3 for the nine-method
matrix and the default detector's training, corpus v2 for the earlier DecNet table. Each
version's files are listed in ``cfx/data/corpus_manifest.vN.jsonl``; the current corpus, v4,
in ``cfx/data/corpus_manifest.jsonl`` (docs/corpus.md).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import torch

from cfx.color import rgb_to_lab
from cfx.colorize import image_lightness, merge_full_resolution, save_result
from cfx.evaluate import HintPlan
from cfx.hint_simulation import simulate_points
from cfx.imageio import IMAGE_SUFFIXES, load_image

MOST_HINTS = 20


def photo_key(path: Path) -> str:
    """The source photo of a file: its stem without a ``_cN`` crop suffix."""
    return re.sub(r"_c\d+$", "", path.stem)


def write_gray(natural: Path, gray: Path, files: list[Path]) -> None:
    for rel in files:
        target = gray / rel
        if not target.exists():
            image = load_image(natural / rel)
            save_result(image, merge_full_resolution(image_lightness(image), torch.zeros(2, 1, 1)), target)


def simulated_hints(path: Path, most: int = MOST_HINTS) -> dict:
    """0 to ``most`` points on the true colours of ``path`` (how many, and where, drawn from
    its name), as `cfx colorize --hints` reads them: centre, sRGB colour, radius."""
    rgb = load_image(path).rgb
    generator = HintPlan(points=0).generator(path)
    count = int(torch.randint(most + 1, (1,), generator=generator))
    lab = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1).contiguous())
    drawn, _ = simulate_points(lab[1:], generator, count)
    points = []
    for point in drawn:
        y, x = point.centre
        mean = rgb[point.top : point.bottom, point.left : point.right].reshape(-1, 3).mean(axis=0)
        colour = "#" + "".join(f"{round(float(c) * 255):02x}" for c in mean)
        points.append({"x": x, "y": y, "color": colour, "radius": max(1.0, (point.bottom - point.top) / 2)})
    return {"points": points}


def style_pairs(files: list[Path]) -> dict[Path, list[tuple[Path, Path]]]:
    """Per folder: (target, style) with the style from the same first-level folder."""
    by_group: dict[str, list[Path]] = defaultdict(list)
    for rel in files:
        by_group[rel.parts[0] if len(rel.parts) > 1 else ""].append(rel)
    pairs: dict[Path, list[tuple[Path, Path]]] = defaultdict(list)
    for group in by_group.values():
        n = len(group)
        for i, rel in enumerate(group):
            style = next(
                (
                    group[(i + k) % n]
                    for k in range(n // 2, n // 2 + n)
                    if photo_key(group[(i + k) % n]) != photo_key(rel)
                ),
                None,
            )
            if style is not None:
                pairs[rel.parent].append((rel, style))
    return pairs


def cfx(*args: str, stdin: str | None = None, cwd: Path | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "cfx.cli.main", *args, "--quiet", "--skip-existing"],
        input=stdin,
        text=True,
        cwd=cwd,
        check=False,
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("natural", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--colorizers", default="zhang.compact,koala.compact,autoencoder.compact")
    parser.add_argument("--hinted", default="", help="colorizers that take hints: also write NAME+hints/")
    parser.add_argument("--methods", default="global,welsh,reinhard")
    parser.add_argument("--recolour", action="store_true")
    args = parser.parse_args()
    natural, out = args.natural.resolve(), args.out.resolve()
    files = sorted(
        p.relative_to(natural) for p in natural.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )
    write_gray(natural, out / "gray", files)
    for name in filter(None, args.colorizers.split(",")):
        cfx("colorize", str(natural), "-o", str(out / name), "--model", name)
    for name in filter(None, args.hinted.split(",")):
        by_folder: dict[Path, list[Path]] = defaultdict(list)
        for rel in files:
            by_folder[rel.parent].append(rel)
        for folder, items in sorted(by_folder.items()):  # stdin keeps only a file's name: one run per folder
            lines = "".join(
                json.dumps({"path": str(natural / rel), "hints": simulated_hints(natural / rel)}) + "\n"
                for rel in items
                if not (out / f"{name}+hints" / rel).exists()
            )
            if lines:
                cfx("colorize", "-", "--model", name, "-o", str(out / f"{name}+hints" / folder), stdin=lines)
    pairs = style_pairs(files)
    jobs = [(method, f"transfer-{method}", out / "gray") for method in filter(None, args.methods.split(","))]
    if args.recolour:
        jobs.append(("reinhard", "recolour-reinhard", natural))
    for method, name, root in jobs:
        for folder, items in sorted(pairs.items()):  # a file given on stdin keeps only its name: one run per folder
            lines = "".join(
                json.dumps({"path": str(root / rel), "style": str(natural / style)}) + "\n" for rel, style in items
            )
            cfx("transfer", "-", "--method", method, "-o", str(out / name / folder), stdin=lines)
    print(
        json.dumps({name: sum(1 for _ in (out / name).rglob("*.*")) for name in sorted(p.name for p in out.iterdir())})
    )


if __name__ == "__main__":
    main()
