"""Golden checks: the shipped default colorizer on the real photos in examples/."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from cfx.color import lab_to_rgb, rgb_to_lab
from cfx.colorize import DEFAULT_COLORIZER, load_colorizer
from cfx.imageio import load_image
from cfx.metrics import ab_error_auc, psnr
from cfx.weights import find_weights, read_card

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _lab(rgb: np.ndarray) -> torch.Tensor:
    return rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)[None])


def test_default_weights_are_shipped_with_a_verified_card() -> None:
    path = find_weights(DEFAULT_COLORIZER)
    assert path is not None, "weights/iizuka.compact.safetensors is missing"
    card = read_card(path)
    assert path.stat().st_size < 16 * 1024 * 1024
    metrics = card["metrics"]
    assert metrics["val_psnr"] > metrics["gray_psnr"]
    assert metrics["val_auc"] > metrics["gray_auc"]
    assert card["training"]["manifest_sha256"]


def test_old_photos_come_out_in_colour_at_their_size(tmp_path: Path) -> None:
    inputs = sorted((EXAMPLES / "old_photos").glob("*.jpg"))
    result = CliRunner().invoke(app, ["colorize", str(EXAMPLES / "old_photos"), "-o", str(tmp_path), "--json", "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(Path(r["path"]).name for r in rows) == [p.name for p in inputs]
    chroma = []
    for row in rows:
        with Image.open(row["path"]) as source, Image.open(row["output"]) as written:
            assert written.size == source.size
            rgb = np.asarray(written.convert("RGB"), dtype=np.float32) / 255.0
        ab = _lab(rgb)[0, 1:]
        chroma.append(float(torch.linalg.vector_norm(ab, dim=0).mean()))
    # Gray output has chroma ≈ 0; the model must actually add colour.
    assert np.mean(chroma) > 4.0, chroma


def test_beats_grayscale_on_held_out_colour_photos() -> None:
    colorizer = load_colorizer()
    ours, gray, ours_auc, gray_auc = [], [], [], []
    for path in sorted((EXAMPLES / "colour_photos").glob("*.jpg")):
        image = load_image(path)
        truth = torch.from_numpy(image.rgb).permute(2, 0, 1)[None]
        predicted = torch.from_numpy(colorizer.colorize_array(image)).permute(2, 0, 1)[None]
        lab_truth, lab_pred = rgb_to_lab(truth), rgb_to_lab(predicted)
        gray_baseline = lab_to_rgb(torch.cat((lab_truth[:, :1], torch.zeros_like(lab_truth[:, 1:])), 1))
        ours.append(float(psnr(predicted, truth)))
        gray.append(float(psnr(gray_baseline, truth)))
        ours_auc.append(float(ab_error_auc(lab_pred[:, 1:], lab_truth[:, 1:])))
        gray_auc.append(float(ab_error_auc(torch.zeros_like(lab_truth[:, 1:]), lab_truth[:, 1:])))
    assert len(ours) >= 8
    assert np.mean(ours) > np.mean(gray), (ours, gray)
    assert np.mean(ours_auc) > np.mean(gray_auc), (ours_auc, gray_auc)
