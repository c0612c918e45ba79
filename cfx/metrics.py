"""Colorization metrics.

- PSNR on sRGB in [0, 1].
- AuC of the cumulative per-pixel a*b* error curve, thresholds 0–150 (Zhang, Isola & Efros
  2016, "Colorful Image Colorization", as used in the evaluation of Mu and Lee, n.d.): the fraction of
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


def ab_error_auc(
    prediction_ab: torch.Tensor, target_ab: torch.Tensor, max_threshold: int = AUC_MAX_THRESHOLD
) -> torch.Tensor:
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


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(prediction: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004): 11×11 Gaussian window (σ = 1.5), K1 = 0.01,
    K2 = 0.03, population statistics, averaged over channels and the valid region."""
    x, y = prediction.float(), target.float()
    channels = x.shape[1]
    g = _gaussian_window().to(x.device)
    kernel = (g[:, None] * g[None, :]).expand(channels, 1, -1, -1).contiguous()

    def blur(t: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.conv2d(t, kernel, groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return index.flatten(1).mean(dim=1)
