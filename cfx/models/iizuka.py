"""Iizuka, Simo-Serra & Ishikawa, "Let there be Color!" (SIGGRAPH 2016), §3.

Four networks (Table 1): shared low-level features (6 conv, stride-2 instead of
pooling), mid-level features (2 conv), global features (4 conv + 3 FC on a fixed-size
copy of the image), and the colorization network that starts with the fusion layer
(Eq. 5: a 1×1 layer over [global; mid] at every position), alternates conv and
nearest-neighbour upsampling to half the input resolution and ends in a sigmoid over
the normalised a*b*. A classification network (2 FC) on the global features gives the
joint loss of Eq. 6 when the corpus has class labels.

Each convolution is followed by batch normalisation (folded into the convolution for
inference) and ReLU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cfx.models.base import ColorizerBase
from cfx.models.layers import conv_stack, upsampling_decoder
from cfx.registry import register


@dataclass(frozen=True)
class IizukaConfig:
    low: tuple[int, ...] = (64, 128, 128, 256, 256, 512)
    low_strides: tuple[int, ...] = (2, 1, 2, 1, 2, 1)
    global_convs: tuple[int, ...] = (512, 512, 512, 512)
    global_strides: tuple[int, ...] = (2, 1, 2, 1)
    global_fc: tuple[int, ...] = (1024, 512, 256)
    mid: tuple[int, ...] = (512, 256)
    fusion: int = 256
    colorization: tuple[int, ...] = (128, 64, 64, 32)  # upsample after the 1st and 3rd
    global_size: int = 224  # side of the fixed-size copy seen by the global network
    class_hidden: int = 256
    num_classes: int = 0  # > 0 adds the classification network (joint loss)


class IizukaColorizer(ColorizerBase):
    """Input: L*/100 in [0, 1], shape N×1×H×W with H, W multiples of 8.
    Output: a*b* normalised to [0, 1] at H/2×W/2, and class logits (or None)."""

    def __init__(self, config: IizukaConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.low_level = conv_stack(1, c.low, c.low_strides)
        self.mid_level = conv_stack(c.low[-1], c.mid, (1,) * len(c.mid))
        self.global_convs = conv_stack(c.low[-1], c.global_convs, c.global_strides)
        reduction = 1
        for s in (*c.low_strides, *c.global_strides):
            reduction *= s
        if c.global_size % reduction:
            raise ValueError(f"global_size {c.global_size} must be a multiple of {reduction}")
        side = c.global_size // reduction
        fc: list[nn.Module] = [nn.Flatten()]
        cin = c.global_convs[-1] * side * side
        for width in c.global_fc:
            fc += [nn.Linear(cin, width), nn.ReLU(inplace=True)]
            cin = width
        # The classification network branches off the second FC layer (Fig. 2).
        self.global_fc_head = nn.Sequential(*fc[: 1 + 2 * (len(c.global_fc) - 1)])
        self.global_fc_out = nn.Sequential(*fc[1 + 2 * (len(c.global_fc) - 1) :])
        self.classifier = (
            nn.Sequential(
                nn.Linear(c.global_fc[-2], c.class_hidden),
                nn.ReLU(inplace=True),
                nn.Linear(c.class_hidden, c.num_classes),
            )
            if c.num_classes > 0
            else None
        )
        self.fusion = nn.Sequential(
            nn.Conv2d(c.mid[-1] + c.global_fc[-1], c.fusion, 1),
            nn.ReLU(inplace=True),
        )
        self.colorization = nn.Sequential(*upsampling_decoder(c.fusion, c.colorization, nn.Sigmoid()))

    def global_features(
        self, lightness: torch.Tensor, low: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """256-d global vector and class logits from a fixed-size copy (Iizuka, Simo-Serra and Ishikawa 2016, §3.5)."""
        size = self.config.global_size
        if low is None or lightness.shape[-2:] != (size, size):
            if lightness.shape[-2:] != (size, size):
                lightness = F.interpolate(
                    lightness, size=(size, size), mode="bilinear", antialias=True, align_corners=False
                )
            low = self.low_level(lightness)
        hidden = self.global_fc_head(self.global_convs(low))
        logits = self.classifier(hidden) if self.classifier is not None else None
        return self.global_fc_out(hidden), logits

    def colorize_features(self, mid: torch.Tensor, global_vector: torch.Tensor) -> torch.Tensor:
        """Fusion layer (Eq. 5) and colorization network."""
        n, _, h, w = mid.shape
        tiled = global_vector[:, :, None, None].expand(n, global_vector.shape[1], h, w)
        return self.colorization(self.fusion(torch.cat((mid, tiled), dim=1)))

    def forward(
        self, lightness: torch.Tensor, global_source: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``global_source``: another image's L for the global branch (style transfer, §4)."""
        low = self.low_level(lightness)
        if global_source is None:
            global_vector, logits = self.global_features(lightness, low)
        else:
            global_vector, logits = self.global_features(global_source)
        return self.colorize_features(self.mid_level(low), global_vector), logits


def _factory(config: IizukaConfig) -> IizukaColorizer:
    return IizukaColorizer(config)


register(
    "iizuka.full",
    task="colorize",
    config=IizukaConfig(),
    render_size=512,
    description="Iizuka et al. 2016 at the paper's widths (Table 1)",
)(_factory)
register(
    "iizuka.compact",
    task="colorize",
    config=IizukaConfig(
        low=(32, 64, 64, 128, 128, 256),
        global_convs=(256, 256, 256, 256),
        global_fc=(512, 256, 128),
        mid=(256, 128),
        fusion=128,
        colorization=(64, 32, 32, 16),
        global_size=128,
        class_hidden=128,
    ),
    render_size=320,
    description="Iizuka et al. 2016 at half width with a 128² global copy; trains on a 2-core CPU",
)(_factory)
register(
    "iizuka.tiny",
    task="colorize",
    config=IizukaConfig(
        low=(4, 8, 8, 8, 8, 16),
        global_convs=(8, 8, 8, 8),
        global_fc=(32, 16, 8),
        mid=(16, 8),
        fusion=8,
        colorization=(8, 4, 4, 4),
        global_size=32,
        class_hidden=8,
    ),
    render_size=64,
    tiny=True,
    description="test-sized iizuka",
)(_factory)
