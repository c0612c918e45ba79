"""The pieces both colorizer trainers share (:mod:`cfx.train.colorizer`,
:mod:`cfx.train.cached_colorizer`): CIE Lab batches (L/100 as the input, a*b* as the
target), the batches of an epoch, validation on centre crops (loss, PSNR, AuC of the a*b*
error and the colourfulness ratio, beside the gray baseline) and the card.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from cfx.card_data import card_data, portable_entries
from cfx.color import lab_to_rgb, rgb_to_lab
from cfx.data.folder import ImageSet, center_crop
from cfx.metrics import ab_error_auc, colourfulness, psnr
from cfx.train.common import seeded

LOG_SCHEMA = "cfx.train-log/1"


def lab_batch(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    lab = rgb_to_lab(rgb)
    return lab[:, :1] / 100.0, lab[:, 1:]


@torch.no_grad()
def validate(model: torch.nn.Module, val: ImageSet, size: int, alpha: float, batch_size: int = 32) -> dict[str, float]:
    """Loss, PSNR, AuC and colourfulness ratio on centre crops, with the gray baseline."""
    model.eval()
    device = next(model.parameters()).device
    totals = {
        "val_loss": 0.0,
        "val_psnr": 0.0,
        "val_auc": 0.0,
        "gray_psnr": 0.0,
        "gray_auc": 0.0,
        "colourfulness": 0.0,
        "true_colourfulness": 0.0,
    }
    count = 0
    for start in range(0, len(val), batch_size):
        rgb = torch.stack([center_crop(im, size) for im in val.images[start : start + batch_size]]).to(device)
        labels = torch.tensor(val.labels[start : start + batch_size], device=device)
        lightness, ab = lab_batch(rgb)
        loss, predicted_ab = model.training_loss(lightness, ab, labels, alpha)
        predicted_ab = F.interpolate(predicted_ab, size=ab.shape[-2:], mode="bilinear", align_corners=False)
        prediction = lab_to_rgb(torch.cat((lightness * 100.0, predicted_ab), 1))
        gray = lab_to_rgb(torch.cat((lightness * 100.0, torch.zeros_like(ab)), 1))
        n = rgb.shape[0]
        totals["val_loss"] += loss.item() * n
        totals["val_psnr"] += psnr(prediction, rgb).sum().item()
        totals["val_auc"] += ab_error_auc(predicted_ab, ab).sum().item()
        totals["gray_psnr"] += psnr(gray, rgb).sum().item()
        totals["gray_auc"] += ab_error_auc(torch.zeros_like(ab), ab).sum().item()
        totals["colourfulness"] += colourfulness(prediction).sum().item()
        totals["true_colourfulness"] += colourfulness(rgb).sum().item()
        count += n
    model.train()
    result = {k: v / max(count, 1) for k, v in totals.items()}
    result["colourfulness_ratio"] = result.pop("colourfulness") / max(result.pop("true_colourfulness"), 1e-9)
    return result


def epoch_batches(count: int, recipe: Any, epoch: int, processes: int) -> list[list[int]]:
    """Global batches of one epoch; batch norm needs two samples per process, so a short last batch waits."""
    order = torch.randperm(count, generator=seeded(recipe.seed, epoch)).tolist()
    batches = [order[i : i + recipe.batch_size] for i in range(0, count, recipe.batch_size)]
    return [b for b in batches if len(b) >= 2 * processes]


def colorizer_card(recipe: Any, spec: Any, folder: Any, data: Path, size: int, state: dict[str, Any]) -> dict[str, Any]:
    """A colorizer's card after the last epoch of ``state`` (``pretrained``: only for models that hold pretrained weights)."""
    final = state["log"][-1] if state["log"] else {}
    card = {
        "name": recipe.model,
        "arch": spec.arch,
        "preset": spec.preset,
        "task": spec.task,
        "classes": folder.classes,
        "training": {
            "data": card_data(data, folder.manifest_sha256),
            "manifest_sha256": folder.manifest_sha256,
            "train_images": len(folder.train),
            "val_images": len(folder.val),
            "recipe": portable_entries(asdict(recipe), Path(data).resolve().parent),
            "crop_size": size,
            "epochs": state["epoch"],
            "steps": state["steps"],
            "samples_seen": state["samples"],
            "train_seconds": round(state["seconds"], 1),
        },
        "metrics": {k: round(v, 4) for k, v in final.items() if k.startswith(("val_", "gray_", "colourfulness"))},
    }
    if state.get("pretrained"):
        card["pretrained"] = state["pretrained"]
    return card
