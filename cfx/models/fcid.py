"""Guo et al.'s FCID-HIST detector of colorized images ("Fake colorized image detection",
IEEE TIFS 13(8), 2018), the hand-crafted baseline that Quan et al. 2019 (§I–II, Tables III and V)
compares against.

Guo et al. observe that colorized images (CIs) differ from natural images (NIs) in the
statistics of the hue and saturation channels (CIs tend to be less saturated) and in
the extreme channels prior (ECP): the dark channel (He et al.'s dark channel prior) and
the bright channel. FCID-HIST describes an image by normalized histograms of these
four channels and classifies the concatenated vector with a linear SVM.

- hue, saturation: the HSV cone of RGB in [0, 1]; hue is circular in [0, 1), and
  pixels with zero saturation (grays, black) have no defined hue: we put them in hue
  bin 0, like ``colorsys.rgb_to_hsv``.
- dark channel: per-pixel min over R, G, B, then a min filter over a ``window``×``window``
  square (He et al.); bright channel: per-pixel max, then a max filter. Windows are cut
  at the image border (no padding values enter the min / max).
- each histogram is normalized to sum to 1 per image; features are 4·``bins`` long,
  ordered hue, saturation, dark, bright.
- SVM: ``nn.BatchNorm1d(affine=False)`` standardizes the features (running statistics at
  eval time), ``nn.Linear(4·bins, 1)`` gives the decision value z, trained with the
  hinge loss; the L2 term of the SVM is the trainer's weight decay.

Where the paper is silent (or Quan et al. 2019 do not say), our choices: 32 bins per channel,
a 7×7 window, uniform bins over [0, 1], no feature / bin selection, and images used at
whatever size they arrive (``input_size`` = 256 is the side the runner resizes to, as for
Quan et al.'s networks). Features are computed without gradients: only the SVM learns.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cfx.models.detectors import DetectorBase
from cfx.registry import register


@dataclass(frozen=True)
class FcidConfig:
    bins: int = 32  # histogram bins per channel
    window: int = 7  # side of the dark / bright channel's square min / max filter
    input_size: int = 256


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """RGB in [-1, 1] → [0, 1] (clamped), float32."""
    return ((x.float() + 1.0) / 2.0).clamp(0.0, 1.0)


def hsv_hue_saturation(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Hue in [0, 1) and saturation in [0, 1] (each N×H×W) of RGB in [0, 1] (N×3×H×W).

    Pixels with zero saturation (max == min, or black) get hue 0.
    """
    red, green, blue = rgb.unbind(dim=1)
    value, argmax = rgb.max(dim=1)
    chroma = value - rgb.min(dim=1).values
    saturation = torch.where(value > 0, chroma / value.clamp_min(1e-12), torch.zeros_like(value))
    safe = chroma.clamp_min(1e-12)
    sector = torch.stack(((green - blue) / safe, (blue - red) / safe + 2.0, (red - green) / safe + 4.0), dim=1)
    hue = torch.remainder(sector.gather(1, argmax.unsqueeze(1)).squeeze(1) / 6.0, 1.0)
    hue = torch.where(chroma > 0, hue, torch.zeros_like(hue))
    return hue, saturation


def _extreme_filter(channel: torch.Tensor, window: int, pad_value: float) -> torch.Tensor:
    """Max filter over ``window``×``window`` squares (N×H×W), windows cut at the border."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    before, after = (window - 1) // 2, window // 2
    padded = F.pad(channel.unsqueeze(1), (before, after, before, after), value=pad_value)
    return F.max_pool2d(padded, window, stride=1).squeeze(1)


def dark_channel(rgb: torch.Tensor, window: int) -> torch.Tensor:
    """He et al.'s dark channel: min over R, G, B, then a ``window``×``window`` min filter."""
    return -_extreme_filter(-rgb.min(dim=1).values, window, float("-inf"))


def bright_channel(rgb: torch.Tensor, window: int) -> torch.Tensor:
    """The bright channel: max over R, G, B, then a ``window``×``window`` max filter."""
    return _extreme_filter(rgb.max(dim=1).values, window, float("-inf"))


def normalized_histogram(values: torch.Tensor, bins: int, circular: bool = False) -> torch.Tensor:
    """Per-image histogram (N×bins, rows sum to 1) of ``values`` in [0, 1] (N×...).

    Uniform bins over [0, 1]; 1.0 falls in the last bin, or in bin 0 when ``circular``
    (hue, where 1 ≡ 0).
    """
    flat = values.reshape(values.shape[0], -1)
    index = torch.floor(flat * bins).long()
    index = torch.remainder(index, bins) if circular else index.clamp(0, bins - 1)
    counts = torch.zeros(flat.shape[0], bins, dtype=torch.float32, device=values.device)
    counts.scatter_add_(1, index, torch.ones_like(flat, dtype=torch.float32))
    return counts / flat.shape[1]


def fcid_histograms(x: torch.Tensor, bins: int, window: int) -> torch.Tensor:
    """FCID-HIST features (N×4·bins) of RGB in [-1, 1]: hue, saturation, dark, bright histograms."""
    rgb = to_unit_range(x)
    hue, saturation = hsv_hue_saturation(rgb)
    return torch.cat(
        (
            normalized_histogram(hue, bins, circular=True),
            normalized_histogram(saturation, bins),
            normalized_histogram(dark_channel(rgb, window), bins),
            normalized_histogram(bright_channel(rgb, window), bins),
        ),
        dim=1,
    )


class FcidHist(DetectorBase):
    """FCID-HIST: histogram features, standardized, into a linear SVM.

    ``forward`` returns the logit pair (0, z) with z the SVM decision value, so
    ``softmax(logits)[:, 1]`` = sigmoid(z) is read as P(colorized).
    """

    def __init__(self, config: FcidConfig) -> None:
        super().__init__()
        if config.bins < 1:
            raise ValueError(f"bins must be >= 1, got {config.bins}")
        if config.window < 1:
            raise ValueError(f"window must be >= 1, got {config.window}")
        self.config = config
        self.input_size = config.input_size
        size = 4 * config.bins
        self.standardize = nn.BatchNorm1d(size, affine=False)
        self.svm = nn.Linear(size, 1)

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Histogram features (N×4·bins), each of the 4 histograms summing to 1 per image."""
        return fcid_histograms(x, self.config.bins, self.config.window)

    def decision(self, x: torch.Tensor) -> torch.Tensor:
        """The SVM's decision value z (N): > 0 means colorized."""
        features = self.features(x).to(self.svm.weight.dtype)
        if self.training and features.shape[0] == 1:
            # Batch statistics need two samples; a lone sample uses the running ones.
            features = F.batch_norm(
                features, self.standardize.running_mean, self.standardize.running_var, eps=self.standardize.eps
            )
        else:
            features = self.standardize(features)
        return self.svm(features).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.decision(x).unsqueeze(1)
        return torch.cat((torch.zeros_like(z), z), dim=1)

    def training_loss(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, logits): the linear SVM's hinge loss mean(max(0, 1 − y·z)), y = ±1 for labels 1 / 0.

        The SVM's L2 regularization is not added here: it is the trainer's weight decay.
        """
        logits = self(x)
        signs = labels.to(logits.dtype) * 2.0 - 1.0
        loss = torch.clamp(1.0 - signs * logits[:, 1].float(), min=0.0).mean()
        return loss, logits


register(
    "fcid.hist",
    task="detect",
    config=FcidConfig(),
    description="Guo et al.'s FCID-HIST: hue, saturation, dark and bright channel histograms + linear SVM",
)(FcidHist)
register(
    "fcid.tiny",
    task="detect",
    config=FcidConfig(bins=8, window=3, input_size=64),
    tiny=True,
    description="test-sized FCID-HIST",
)(FcidHist)
