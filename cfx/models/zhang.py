"""Zhang, Isola & Efros, "Colorful Image Colorization" (ECCV 2016), as summarised by Mu and Lee (n.d.), §2.1.

Colorization as classification: a VGG-style network (Fig. 2 of the paper: eight blocks
of 2–3 conv + ReLU ending in batch normalisation; blocks 1–3 halve the resolution with a
stride-2 last conv, blocks 5–6 are dilated by 2, block 8 starts with a stride-2
transposed conv) predicts, at 1/4 of the input resolution, logits over the K quantised
a*b* bins of :mod:`cfx.ab_bins` (K = 262 for the sRGB gamut with bins of 10).

Loss (Eq. 2–4): multinomial cross-entropy against the soft-encoded ground truth (5
nearest bins, Gaussian σ = 5), each pixel weighted by the rebalancing weight of its
nearest bin (λ = 0.5, prior smoothed with σ = 5), averaged over pixels; plus α times
the scene-class cross-entropy when the corpus has labels (a linear head on the pooled
block-7 features; not in the paper, which has no classification branch).

The prior is the ``ab_prior`` buffer: uniform at construction (all weights 1); every
training-mode call of ``training_loss`` adds the batch's nearest-bin histogram to a
running average over all pixels seen so far (``ab_prior_pixels``), so after a few
batches it is the empirical distribution of the training crops, and it is saved with
the weights. ``set_prior`` installs a prior estimated beforehand (the paper's fixed
prior over the whole training set) and can freeze it.

Decoding (Eq. 5): the annealed mean with temperature ``model.temperature`` (from the
config, T = 0.38), settable at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cfx.ab_bins import annealed_mean, encode_soft, estimate_prior, gamut_bins, gaussian_kernel, rebalance_weights
from cfx.models.base import ColorizerBase, classification_loss
from cfx.registry import register


@dataclass(frozen=True)
class ZhangConfig:
    widths: tuple[int, ...] = (64, 128, 256, 512, 512, 512, 512, 256)  # conv1 … conv8
    depths: tuple[int, ...] = (2, 2, 3, 3, 3, 3, 3, 3)  # conv layers per block
    dilations: tuple[int, ...] = (1, 1, 1, 1, 2, 2, 1, 1)
    bin_size: float = 10.0
    num_bins: int = 262  # K: the in-gamut bins of cfx.ab_bins.gamut_bins(bin_size)
    temperature: float = 0.38  # annealed-mean T
    rebalance_lambda: float = 0.5
    sigma: float = 5.0  # soft-encoding and prior-smoothing Gaussian
    neighbours: int = 5  # bins per soft-encoded target
    train_size: int = 176  # training crop side (the paper's 176×176)
    num_classes: int = 0  # > 0 adds a scene-classification head (joint loss)


def _block(cin: int, width: int, depth: int, dilation: int, downsample: bool, upsample: bool) -> nn.Sequential:
    """``depth`` conv + ReLU, then batch norm (the paper's block)."""
    layers: list[nn.Module] = []
    for i in range(depth):
        if upsample and i == 0:
            layers.append(nn.ConvTranspose2d(cin, width, 4, stride=2, padding=1))
        else:
            stride = 2 if downsample and i == depth - 1 else 1
            layers.append(nn.Conv2d(cin, width, 3, stride=stride, padding=dilation, dilation=dilation))
        layers.append(nn.ReLU(inplace=True))
        cin = width
    layers.append(nn.BatchNorm2d(width))
    return nn.Sequential(*layers)


class ZhangColorizer(ColorizerBase):
    """Input: L*/100, N×1×H×W with H, W multiples of 8.
    Output: logits over the K a*b* bins at H/4×W/4, and class logits (or None)."""

    multiple = 8

    def __init__(self, config: ZhangConfig) -> None:
        super().__init__()
        c = config
        if not (len(c.widths) == len(c.depths) == len(c.dilations) == 8):
            raise ValueError("zhang needs 8 blocks: widths, depths and dilations of length 8")
        centers = gamut_bins(c.bin_size)
        if len(centers) != c.num_bins:
            raise ValueError(
                f"num_bins {c.num_bins} does not match the {len(centers)} in-gamut bins of size {c.bin_size}"
            )
        self.config = config
        self.temperature = c.temperature
        self.learn_prior = True  # training-mode calls accumulate the a*b* prior
        blocks = []
        cin = 1
        for i, (width, depth, dilation) in enumerate(zip(c.widths, c.depths, c.dilations)):
            blocks.append(_block(cin, width, depth, dilation, downsample=i < 3, upsample=i == 7))
            cin = width
        self.features = nn.Sequential(*blocks[:7])
        self.upsample = blocks[7]
        self.bin_logits = nn.Conv2d(c.widths[7], c.num_bins, 1)
        self.classifier = nn.Linear(c.widths[6], c.num_classes) if c.num_classes > 0 else None
        self.register_buffer("centers", centers, persistent=False)
        self.register_buffer("smoothing", gaussian_kernel(centers, c.sigma), persistent=False)
        self.register_buffer("ab_prior", torch.full((c.num_bins,), 1.0 / c.num_bins))
        self.register_buffer("ab_prior_pixels", torch.zeros((), dtype=torch.int64))

    @property
    def train_size(self) -> int:
        return self.config.train_size

    def forward(self, lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        deep = self.features(lightness - 0.5)  # centred L, as the paper's L − 50
        logits = self.classifier(deep.mean(dim=(2, 3))) if self.classifier is not None else None
        return self.bin_logits(self.upsample(deep)), logits

    def predict_ab(self, lightness: torch.Tensor) -> torch.Tensor:
        bin_logits, _ = self(lightness)
        return annealed_mean(bin_logits, self.centers, self.temperature)

    @torch.no_grad()
    def set_prior(self, counts: torch.Tensor, freeze: bool = True) -> None:
        """Install a prior from per-bin pixel counts (K,) (:func:`cfx.ab_bins.estimate_prior`)."""
        counts = counts.to(self.ab_prior.device, torch.float64)
        if counts.shape != self.ab_prior.shape or counts.sum() <= 0:
            raise ValueError(f"prior needs {self.config.num_bins} non-negative counts with a positive sum")
        self.ab_prior.copy_(counts / counts.sum())
        self.ab_prior_pixels.fill_(int(counts.sum().round()))
        self.learn_prior = not freeze

    @torch.no_grad()
    def _accumulate_prior(self, ab: torch.Tensor) -> None:
        counts = estimate_prior(ab, self.centers).double()
        seen = self.ab_prior_pixels.double()
        self.ab_prior.copy_((self.ab_prior.double() * seen + counts) / (seen + counts.sum()))
        self.ab_prior_pixels.add_(counts.sum().long())  # on the device: no host sync

    def rebalance_weights(self) -> torch.Tensor:
        """Current per-bin loss weights (K,), from the prior buffer."""
        c = self.config
        return rebalance_weights(self.ab_prior, self.centers, c.rebalance_lambda, c.sigma, self.smoothing)

    def training_loss(
        self, lightness: torch.Tensor, ab: torch.Tensor, labels: torch.Tensor, alpha: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        bin_logits, logits = self(lightness)
        target = F.interpolate(ab.float(), size=bin_logits.shape[-2:], mode="area")
        if self.training and self.learn_prior:
            self._accumulate_prior(target)
        soft = encode_soft(target, self.centers, self.config.sigma, self.config.neighbours)
        weights = self.rebalance_weights()[soft.argmax(dim=1)]  # v(Z): weight of the nearest bin
        cross_entropy = -(soft * F.log_softmax(bin_logits.float(), dim=1)).sum(dim=1)
        loss = (weights * cross_entropy).mean()
        with torch.no_grad():
            predicted = annealed_mean(bin_logits, self.centers, self.temperature)
        return loss + classification_loss(logits, labels, alpha), predicted


def _factory(config: ZhangConfig) -> ZhangColorizer:
    return ZhangColorizer(config)


register(
    "zhang.full",
    task="colorize",
    temperature=True,  # annealed-mean decoding (--temperature)
    config=ZhangConfig(),
    render_size=512,
    description="Zhang et al. 2016 at the paper's widths (classification over 262 a*b* bins, T=0.38)",
)(_factory)
register(
    "zhang.compact",
    task="colorize",
    temperature=True,  # annealed-mean decoding (--temperature)
    config=ZhangConfig(widths=(16, 32, 64, 128, 128, 128, 128, 64), train_size=128),
    render_size=320,
    description="Zhang et al. 2016 at 1/4 width; trains on a 2-core CPU",
)(_factory)
register(
    "zhang.tiny",
    task="colorize",
    temperature=True,  # annealed-mean decoding (--temperature)
    config=ZhangConfig(widths=(4, 8, 8, 8, 8, 8, 8, 8), depths=(1, 1, 1, 1, 1, 1, 1, 1), train_size=32),
    render_size=64,
    tiny=True,
    description="test-sized zhang",
)(_factory)
