"""PSNR against colourfulness for colorizers on photos never seen, with the chroma scaled.

A colorizer that paints confident wrong hues loses PSNR as its colour grows; one that knows
where it is unsure keeps its gain. Scaling each model's a*b* by s from 0 (grayscale) to 1.2
traces a curve per model, so methods are compared at matched colourfulness (the figure in
docs/models.md). The metrics are those of `cfx eval colorizer` (PSNR on sRGB, AuC of the
a*b* error, Hasler–Süsstrunk colourfulness over the truth's), each photo through the
`cfx colorize` path at its own size.

    python examples/chroma_sweep.py --data /work/corpus/unseen-select \
        --model unet.lite0 --weights runs/mse.safetensors … --plot docs/chroma_sweep.png > sweep.json

``--by-source`` adds the means per source package (read from the corpus manifest beside the
folder) at scale 1. ``--shrink`` evaluates Gaussian-head models at these prior scales τ as well.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from cfx.color import rgb_to_lab
from cfx.colorize import load_colorizer
from cfx.evaluate import image_paths
from cfx.imageio import load_image
from cfx.metrics import ab_error_auc, colourfulness, psnr

SCALES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2)
COLOURS = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
]


def packages(folder: Path) -> dict[str, str]:
    """File path (resolved) → source package, from the corpus manifest above ``folder``."""
    for root in (folder, *folder.parents):
        manifest = root / "manifest.jsonl"
        if manifest.is_file():
            out = {}
            for line in manifest.read_text().splitlines():
                record = json.loads(line)
                out[str((root / record["file"]).resolve())] = record["package"]
            return out
    return {}


def merged(colorizer, prepared, ab: torch.Tensor, scale: float) -> torch.Tensor:
    """1×3×H×W sRGB of ``prepared``'s lightness with ``ab`` scaled by ``scale``."""
    return torch.from_numpy(colorizer.finish(prepared, ab * scale)).permute(2, 0, 1)[None]


def sweep(colorizer, paths: list[Path], scales: tuple[float, ...], by_source: dict[str, str]) -> dict:
    """Mean PSNR, AuC and colourfulness (and the truth's) per chroma scale; per source at scale 1."""
    sums: dict[float, dict[str, float]] = {s: defaultdict(float) for s in scales}
    per_source: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for path in paths:
        image = load_image(path)
        truth = torch.from_numpy(image.rgb).permute(2, 0, 1)[None].float()
        lab_truth = rgb_to_lab(truth)
        prepared = colorizer.prepare(image)
        ab = colorizer.predict([prepared])[0]

        for s in scales:
            rgb = merged(colorizer, prepared, ab, s)
            lab = rgb_to_lab(rgb)
            row = {
                "psnr": float(psnr(rgb, truth)),
                "auc": float(ab_error_auc(lab[:, 1:], lab_truth[:, 1:])),
                "colourfulness": float(colourfulness(rgb)),
                "true_colourfulness": float(colourfulness(truth)),
                "gray_psnr": float(psnr(merged(colorizer, prepared, ab, 0.0), truth)) if s == 1.0 else 0.0,
                "n": 1,
            }
            for k, v in row.items():
                sums[s][k] += v
            if s == 1.0:
                source = by_source.get(str(path.resolve()), "?")
                for k, v in row.items():
                    per_source[source][k] += v
    return {
        "curve": [_means(s, sums[s]) for s in scales],
        "sources": {name: _means(1.0, v) for name, v in sorted(per_source.items())} if by_source else {},
    }


def _means(scale: float, total: dict[str, float]) -> dict[str, float]:
    n = max(total["n"], 1)
    out = {"scale": scale, "photos": int(total["n"])}
    out.update({k: round(total[k] / n, 4) for k in ("psnr", "auc")})
    out["colourfulness_ratio"] = round(total["colourfulness"] / max(total["true_colourfulness"], 1e-9), 4)
    if total.get("gray_psnr"):
        out["gray_psnr"] = round(total["gray_psnr"] / n, 4)
    return out


def plot(results: dict[str, dict], path: Path, title: str) -> None:
    """PSNR (y) against colourfulness / truth (x), one polyline per model, with PIL only."""
    width, height, margin = 900, 560, 70
    points = [(p["colourfulness_ratio"], p["psnr"]) for r in results.values() for p in r["curve"]]
    x0, x1 = 0.0, max(1.2, max(x for x, _ in points) + 0.05)
    y0, y1 = min(y for _, y in points) - 0.2, max(y for _, y in points) + 0.2
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            margin + (x - x0) / (x1 - x0) * (width - 2 * margin),
            height - margin - (y - y0) / (y1 - y0) * (height - 2 * margin),
        )

    draw.rectangle([margin, margin, width - margin, height - margin], outline="black")
    for k in range(int(x1 / 0.2) + 1):
        x = k * 0.2
        px, _ = at(x, y0)
        draw.line([px, height - margin, px, height - margin + 5], fill="black")
        draw.text((px - 8, height - margin + 8), f"{x:.1f}", fill="black")
    step = 0.5 if y1 - y0 > 2 else 0.25
    y = np.ceil(y0 / step) * step
    while y <= y1:
        _, py = at(x0, y)
        draw.line([margin - 5, py, margin, py], fill="black")
        draw.line([margin, py, width - margin, py], fill="#eeeeee")
        draw.text((margin - 45, py - 6), f"{y:.2f}", fill="black")
        y += step
    draw.text((width // 2 - 120, height - 30), "colourfulness / truth's (a*b* scaled 0 to 1.2)", fill="black")
    draw.text((10, 10), f"PSNR (dB)   {title}", fill="black")
    for index, (name, result) in enumerate(results.items()):
        colour = COLOURS[index % len(COLOURS)]
        line = [at(p["colourfulness_ratio"], p["psnr"]) for p in result["curve"]]
        draw.line(line, fill=colour, width=3)
        for p, (px, py) in zip(result["curve"], line):
            r = 5 if p["scale"] == 1.0 else 3
            draw.ellipse([px - r, py - r, px + r, py + r], fill=colour)
        legend_y = height - margin - 16 * (len(results) - index) - 6
        draw.line([width - margin - 260, legend_y + 6, width - margin - 240, legend_y + 6], fill=colour, width=3)
        draw.text((width - margin - 234, legend_y), name, fill=colour)
    image.save(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder of true colour photos")
    ap.add_argument("--model", action="append", default=[], help="shipped model name (repeatable)")
    ap.add_argument("--weights", action="append", default=[], help="NAME=FILE.safetensors (repeatable)")
    ap.add_argument("--shrink", type=float, action="append", default=[], help="τ for Gaussian heads (repeatable)")
    ap.add_argument("--by-source", action="store_true")
    ap.add_argument("--plot", type=Path)
    ap.add_argument("--title", default="")
    ap.add_argument("--replot", type=Path, help="draw --plot from this script's earlier JSON output instead")
    args = ap.parse_args(argv)
    if args.replot and args.plot:
        saved = json.loads(args.replot.read_text())["results"]
        plot({name.replace("τ", "tau"): result for name, result in saved.items()}, args.plot, args.title)
        return 0
    paths = image_paths(args.data)
    by_source = packages(args.data) if args.by_source else {}
    runs = [(name, name, None) for name in args.model]
    runs += [(spec.split("=", 1)[0], None, spec.split("=", 1)[1]) for spec in args.weights]
    results: dict[str, dict] = {}
    for label, name, weights in runs:
        colorizer = load_colorizer(name, weights, device="cpu", precision="fp32")
        model = colorizer.model
        variants: list[tuple[str, dict]] = [(label, {})]
        if getattr(model, "uncertain", False):  # Gaussian head: the mean, then shrunk by each τ
            variants = [(f"{label} tau={tau:g}", {"shrink_tau": tau}) for tau in ([0.0] + args.shrink)]
        elif getattr(model, "classifies", False) and not getattr(model, "regresses", True):
            variants = [(f"{label} {d}", {"decode": d}) for d in ("annealed", "confident")]
        for variant, changes in variants:
            if changes:
                model.config = dataclasses.replace(model.config, **changes)
            print(f"{variant}: {len(paths)} photos", file=sys.stderr, flush=True)
            results[variant] = sweep(colorizer, paths, SCALES, by_source)
    json.dump({"data": str(args.data), "photos": len(paths), "results": results}, sys.stdout, indent=1)
    print()
    if args.plot:
        plot(results, args.plot, args.title or args.data.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
