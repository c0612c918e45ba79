"""Colorization metrics.

- PSNR on sRGB in [0, 1].
- AuC of the cumulative per-pixel a*b* error curve, thresholds 0–150 (Zhang et al.,
  "Colorful Image Colorization", as used in seed 004's evaluation): the fraction of
  pixels whose Euclidean a*b* error is within each threshold, averaged over the
  thresholds (the normalised area under the curve, 1.0 is perfect).
- Colourfulness of Hasler & Süsstrunk (2003): sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²)
  on 0–255 sRGB, with rg = R − G and yb = (R + G)/2 − B.

All take tensors shaped (N, C, H, W) and return one value per image.
"""

from __future__ import annotations

import torch

AUC_MAX_THRESHOLD = 150


def psnr(prediction: torch.Tensor, target: torch.Tensor, peak: float = 1.0) -> torch.Tensor:
    mse = ((prediction.float() - target.float()) ** 2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(peak**2 / mse.clamp(min=1e-12))


def ab_error_auc(prediction_ab: torch.Tensor, target_ab: torch.Tensor, max_threshold: int = AUC_MAX_THRESHOLD) -> torch.Tensor:
    """Area under the cumulative a*b* error curve for integer thresholds 0..max, in [0, 1]."""
    error = torch.linalg.vector_norm(prediction_ab.float() - target_ab.float(), dim=1).flatten(1)
    thresholds = torch.arange(max_threshold + 1, device=error.device, dtype=error.dtype)
    within = (error[:, None, :] <= thresholds[None, :, None]).float().mean(dim=2)
    return within.mean(dim=1)


def colourfulness(rgb: torch.Tensor) -> torch.Tensor:
    """Hasler–Süsstrunk colourfulness of sRGB images in [0, 1] (scaled to 0–255)."""
    r, g, b = (rgb.float() * 255.0).unbind(dim=1)
    rg = (r - g).flatten(1)
    yb = (0.5 * (r + g) - b).flatten(1)
    spread = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False))
    centre = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2)
    return spread + 0.3 * centre
