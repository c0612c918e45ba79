"""Score a colorizer on colour photos against the grayscale baseline (full resolution).

Each ground-truth photo is reduced to its lightness, colorized through the same path as
`cfx colorize` (render size, full-resolution merge) and compared with the truth: PSNR
on sRGB, AuC of the cumulative a*b* error curve over thresholds 0–150 (Zhang et al.),
and Hasler–Süsstrunk colourfulness as a ratio to the truth's. The grayscale baseline
keeps the true L* with zero a*b*.

    python -m cfx.evaluate /work/corpus/val [--model NAME | --weights FILE]

prints one JSON object: the mean of every metric and the number of images.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Iterable

import torch

from cfx.color import lab_to_rgb, rgb_to_lab
from cfx.colorize import Colorizer, load_colorizer
from cfx.imageio import IMAGE_SUFFIXES, load_image
from cfx.metrics import ab_error_auc, colourfulness, psnr


def score_image(colorizer: Colorizer, path: Path) -> dict[str, float]:
    """Metrics of one photo for the colorizer and for the grayscale baseline."""
    image = load_image(path)
    truth = torch.from_numpy(image.rgb).permute(2, 0, 1)[None]
    predicted = torch.from_numpy(colorizer.colorize_array(image)).permute(2, 0, 1)[None]
    lab_truth, lab_predicted = rgb_to_lab(truth), rgb_to_lab(predicted)
    no_chroma = torch.zeros_like(lab_truth[:, 1:])
    gray = lab_to_rgb(torch.cat((lab_truth[:, :1], no_chroma), 1))
    return {
        "psnr": float(psnr(predicted, truth)),
        "gray_psnr": float(psnr(gray, truth)),
        "auc": float(ab_error_auc(lab_predicted[:, 1:], lab_truth[:, 1:])),
        "gray_auc": float(ab_error_auc(no_chroma, lab_truth[:, 1:])),
        "colourfulness": float(colourfulness(predicted)),
        "true_colourfulness": float(colourfulness(truth)),
    }


def evaluate(colorizer: Colorizer, paths: Iterable[Path]) -> dict[str, Any]:
    """Mean metrics over ``paths``; the colourfulness ratio is of the means."""
    rows = [score_image(colorizer, p) for p in paths]
    if not rows:
        raise ValueError("no images to evaluate")
    summary: dict[str, Any] = {key: sum(r[key] for r in rows) / len(rows) for key in rows[0]}
    summary["colourfulness_ratio"] = summary["colourfulness"] / max(summary["true_colourfulness"], 1e-9)
    summary["images"] = len(rows)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cfx.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="folder of colour photos (walked recursively)")
    parser.add_argument("--model")
    parser.add_argument("--weights")
    parser.add_argument("--render-size", type=int)
    args = parser.parse_args(argv)
    colorizer = load_colorizer(args.model, args.weights, render_size=args.render_size)
    paths = sorted(p for p in args.data.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    summary = evaluate(colorizer, paths)
    summary = {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}
    print(json.dumps({"model": colorizer.name, "weights_sha256": colorizer.card.get("sha256"), "render_size": colorizer.render_size, **summary}))


if __name__ == "__main__":
    main()
