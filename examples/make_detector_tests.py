"""Test sets for a detector of colorized photos: laundered copies and local colourings.

    python examples/make_detector_tests.py launder NATURAL BLIND OUT [--part unseen-test] [--names a,b]
    python examples/make_detector_tests.py local NATURAL BLIND OUT [--part unseen-test] [--names a,b]
    python examples/make_detector_tests.py by-area REPORT LOCAL

The third prints, from a `cfx eval detector --report REPORT` over the local colourings in
``LOCAL`` (with ``LOCAL/areas.json``), each detector's miss rate by colorized area.

``NATURAL`` is a folder of real colour photos and ``BLIND`` the folder of their colourings
that ``examples/make_blind_sets.py NATURAL BLIND`` wrote (``BLIND/<method>/<same relative
path>``). With ``--part P`` only the photos under ``NATURAL/P`` are used (a corpus's
never-seen test part), and the outputs' relative paths start below ``P``.

- ``launder``: what a fact-checker finds online is seldom the file a colorizer wrote. For
  the natural photos and every method's colourings it writes ``OUT/q75/<set>/…`` (a JPEG
  round trip at quality 75) and ``OUT/half-q60/<set>/…`` (half the size, Lanczos, then JPEG
  at quality 60), with ``<set>`` = ``natural`` or the method's name, the same relative paths.
- ``local``: a photo where only a region was colorized. For each photo and method, a
  rectangle covering a fraction of the photo's area (drawn per photo name from 10, 20, 30,
  40 and 50 %; aspect ratio 0.5–2; anywhere inside the photo) is taken from the colouring and
  pasted onto the real photo: ``OUT/<method>/…``. ``OUT/areas.json`` maps each relative
  path to its fraction, for the miss rate by area.

Everything is deterministic (seeded by the file's relative path) and skips files that exist.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
from pathlib import Path

from PIL import Image

from cfx.imageio import IMAGE_SUFFIXES

AREAS = (0.1, 0.2, 0.3, 0.4, 0.5)
COPIES = {"q75": (1.0, 75), "half-q60": (0.5, 60)}


def photos(root: Path) -> list[Path]:
    """Relative paths of the images under ``root``, sorted."""
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def rng_for(rel: Path, salt: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(f"{salt}/{rel.as_posix()}".encode()).digest()[:8], "little"))


def laundered(image: Image.Image, scale: float, quality: int) -> bytes:
    """``image`` rescaled by ``scale`` (Lanczos) and encoded as JPEG at ``quality``."""
    rgb = image.convert("RGB")
    if scale != 1.0:
        rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.LANCZOS)
    buffer = io.BytesIO()
    rgb.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def local_colouring(natural: Image.Image, colouring: Image.Image, rel: Path) -> tuple[Image.Image, float]:
    """The real photo with one rectangle of the colouring pasted in; and the rectangle's share of the area."""
    rng = rng_for(rel, "local")
    area = rng.choice(AREAS)
    aspect = 2.0 ** rng.uniform(-1.0, 1.0)
    width, height = natural.size
    w = min(width, max(1, round((area * width * height * aspect) ** 0.5)))
    h = min(height, max(1, round(area * width * height / w)))
    left, top = rng.randint(0, width - w), rng.randint(0, height - h)
    out = natural.convert("RGB").copy()
    box = (left, top, left + w, top + h)
    out.paste(colouring.convert("RGB").resize(natural.size).crop(box), box[:2])
    return out, round(w * h / (width * height), 4)


def misses_by_area(report: dict, local: Path) -> dict[str, dict[str, dict[str, float]]]:
    """Per detector and area (10 … 50 %): local colourings scored, and the share missed (score
    under the detector's threshold), from a cfx.eval-detector/1 report's rows."""
    areas = json.loads((local / "areas.json").read_text())
    out: dict[str, dict[str, dict[str, float]]] = {}
    for detector in report["detectors"]:
        counts: dict[str, list[int]] = {}
        for row in report["rows"]:
            if row["source"] == "natural" or detector["id"] not in row["scores"]:
                continue
            rel = (
                Path(row["path"])
                .resolve()
                .relative_to((local / row["source"]).resolve())
                .with_suffix(".jpg")
                .as_posix()
            )
            nearest = min(AREAS, key=lambda a: abs(a - areas[rel]))
            tally = counts.setdefault(f"{nearest:.0%}", [0, 0])
            tally[0] += 1
            tally[1] += row["scores"][detector["id"]] < detector["threshold"]
        out[detector["id"]] = {
            area: {"images": n, "missed": round(m / n, 4)} for area, (n, m) in sorted(counts.items())
        }
    return out


def write_laundered(natural: Path, colourings: dict[str, Path], out: Path) -> dict[str, int]:
    """Every copy of :data:`COPIES` of the photos under ``natural`` (as ``natural``) and of
    their colourings (``colourings``: method → folder with the same relative paths)."""
    counts: dict[str, int] = {}
    for rel in photos(natural):
        sources = {"natural": natural / rel} | {name: folder / rel for name, folder in colourings.items()}
        for copy, (scale, quality) in COPIES.items():
            for name, path in sources.items():
                target = (out / copy / name / rel).with_suffix(".jpg")
                if path.is_file() and not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(laundered(Image.open(path), scale, quality))
                counts[f"{copy}/{name}"] = counts.get(f"{copy}/{name}", 0) + path.is_file()
    return counts


def write_local(natural: Path, colourings: dict[str, Path], out: Path) -> dict[str, int]:
    """A local colouring of each photo by each method, and ``out/areas.json`` (each photo's
    rectangle is drawn from its name, so every method gets the same one)."""
    counts: dict[str, int] = {}
    areas: dict[str, float] = {}
    for rel in photos(natural):
        photo = Image.open(natural / rel)
        for name, folder in colourings.items():
            if not (folder / rel).is_file():
                continue
            image, areas[rel.as_posix()] = local_colouring(photo, Image.open(folder / rel), rel)
            target = (out / name / rel).with_suffix(".png")
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                image.save(target)
            counts[name] = counts.get(name, 0) + 1
    out.mkdir(parents=True, exist_ok=True)
    (out / "areas.json").write_text(json.dumps(areas, indent=0, sort_keys=True))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    for kind in ("launder", "local"):
        sets = kinds.add_parser(kind)
        sets.add_argument("natural", type=Path)
        sets.add_argument("blind", type=Path)
        sets.add_argument("out", type=Path)
        sets.add_argument("--names", default="", help="methods (folders of BLIND) to use; default all but gray")
        sets.add_argument("--part", default="", help="a subfolder of NATURAL (and of each BLIND/<method>)")
    by_area = kinds.add_parser("by-area")
    by_area.add_argument("report", type=Path)
    by_area.add_argument("local", type=Path)
    args = parser.parse_args()
    if args.kind == "by-area":
        report = json.loads(args.report.read_text())
        print(json.dumps(misses_by_area(report, args.local.resolve()), indent=1))
        return
    names = [n for n in args.names.split(",") if n] or sorted(
        p.name for p in args.blind.iterdir() if p.is_dir() and p.name != "gray"
    )
    colourings = {name: args.blind / name / args.part for name in names}
    write = write_laundered if args.kind == "launder" else write_local
    print(json.dumps(write(args.natural / args.part, colourings, args.out)))


if __name__ == "__main__":
    main()
