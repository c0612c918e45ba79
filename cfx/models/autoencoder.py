"""The convolutional auto-encoder baseline of Dua, Ur Rahman and Sood 2020 ("Automatic Image Colorization Using
Auto-encoders without image compression", Review 3: Algorithm – Architecture and Flow).

Encoder: 3×3 convs with stride 2 and ReLU (64, 128, 256 on a 32×32 input → 4×4×256),
flattened to a dense latent vector (256). Decoder: a dense layer back to the 4×4×256
volume, 3×3 transposed convs with stride 2 and ReLU (256, 128, 64) to the input size,
and a last 3×3 transposed conv with stride 1. The paper outputs RGB through a sigmoid;
here the output is the two a*b* channels through a sigmoid over a*b* normalised to
[0, 1] (``cfx.color.normalize_ab``), so the trainer and runner defaults of
:class:`ColorizerBase` apply (MSE on the normalised a*b*; the paper's loss is also MSE).

The dense bottleneck fixes the size: the model works on a ``size``×``size`` copy of the
input (bilinear, antialiased) and ``predict_ab`` returns a*b* at that size; the runner
upsamples it to the input's size and merges it with the full-resolution L*. A
non-square input is squeezed to a square and its chroma stretched back, so colours
land where they belong, but the network sees objects with a distorted aspect ratio
(it was trained on square crops) and the chroma has size/H × size/W resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cfx.models.base import ColorizerBase
from cfx.registry import register


@dataclass(frozen=True)
class AutoencoderConfig:
    size: int = 32  # side of the fixed-size copy the model works on (the paper's 32×32)
    encoder: tuple[int, ...] = (64, 128, 256)  # each a stride-2 conv
    latent: int = 256
    decoder: tuple[int, ...] = (256, 128, 64)  # each a stride-2 transposed conv
    num_classes: int = 0  # > 0 adds a classification head on the latent vector (joint loss)


class AutoencoderColorizer(ColorizerBase):
    """Input: L*/100, N×1×H×W, any size (resized to ``size``).
    Output: a*b* normalised to [0, 1] at size×size, and class logits (or None)."""

    multiple = 1  # any input size: the model resizes

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        c = config
        if len(c.encoder) != len(c.decoder):
            raise ValueError("the decoder needs one transposed conv per encoder conv")
        reduction = 2 ** len(c.encoder)
        if c.size % reduction:
            raise ValueError(f"size {c.size} must be a multiple of {reduction}")
        self.config = config
        self.side = c.size // reduction
        layers: list[nn.Module] = []
        cin = 1
        for width in c.encoder:
            layers += [nn.Conv2d(cin, width, 3, stride=2, padding=1), nn.ReLU(inplace=True)]
            cin = width
        layers += [nn.Flatten(), nn.Linear(cin * self.side * self.side, c.latent)]
        self.encoder = nn.Sequential(*layers)
        self.classifier = nn.Linear(c.latent, c.num_classes) if c.num_classes > 0 else None
        self.expand = nn.Sequential(nn.Linear(c.latent, cin * self.side * self.side), nn.ReLU(inplace=True))
        layers = []
        for width in c.decoder:
            layers += [nn.ConvTranspose2d(cin, width, 3, stride=2, padding=1, output_padding=1), nn.ReLU(inplace=True)]
            cin = width
        layers += [nn.ConvTranspose2d(cin, 2, 3, stride=1, padding=1), nn.Sigmoid()]
        self.decoder = nn.Sequential(*layers)

    @property
    def train_size(self) -> int:
        return self.config.size

    def forward(self, lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        size = self.config.size
        if lightness.shape[-2:] != (size, size):
            lightness = F.interpolate(
                lightness, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
        latent = self.encoder(lightness)
        logits = self.classifier(latent) if self.classifier is not None else None
        volume = self.expand(latent).view(-1, self.config.encoder[-1], self.side, self.side)
        return self.decoder(volume), logits


def _factory(config: AutoencoderConfig) -> AutoencoderColorizer:
    return AutoencoderColorizer(config)


register(
    "autoencoder.full",
    task="colorize",
    config=AutoencoderConfig(),
    render_size=32,
    description="Dua, Ur Rahman & Sood's convolutional auto-encoder as published (32×32, 256-d latent)",
)(_factory)
register(
    "autoencoder.compact",
    task="colorize",
    config=AutoencoderConfig(size=64, encoder=(32, 64, 128, 128), latent=256, decoder=(128, 128, 64, 32)),
    render_size=64,
    description="auto-encoder on a 64×64 copy (4 stride-2 convs, 256-d latent); trains on a 2-core CPU",
)(_factory)
register(
    "autoencoder.tiny",
    task="colorize",
    config=AutoencoderConfig(size=32, encoder=(4, 8, 8), latent=16, decoder=(8, 8, 4)),
    render_size=32,
    tiny=True,
    description="test-sized autoencoder",
)(_factory)
