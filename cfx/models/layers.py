"""Building blocks shared by the colorizers.

- ``conv_bn_relu``: 3×3 convolution (padding 1, stride 1 or 2 instead of pooling,
  Iizuka, Simo-Serra and Ishikawa 2016, §3.1), batch normalisation, ReLU.
- ``upsampling_decoder``: conv, ×2 nearest upsample, conv, conv, ×2 upsample, conv, then a
  3×3 output convolution to a*b* — the colorization network of Iizuka, Simo-Serra and Ishikawa 2016,
  Table 1(d), which the decoder of Baldassarre, González Morín and Rodés-Guirao 2017 (§3) follows too.
"""

from __future__ import annotations

from typing import Sequence

from torch import nn


def conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def conv_stack(cin: int, widths: Sequence[int], strides: Sequence[int]) -> nn.Sequential:
    layers = []
    for width, stride in zip(widths, strides, strict=True):
        layers.append(conv_bn_relu(cin, width, stride))
        cin = width
    return nn.Sequential(*layers)


def upsampling_decoder(cin: int, widths: Sequence[int], activation: nn.Module) -> list[nn.Module]:
    """Layers from fused features to 2 a*b* channels at 4× the input's resolution."""
    w = widths
    return [
        conv_bn_relu(cin, w[0]),
        nn.Upsample(scale_factor=2, mode="nearest"),
        conv_bn_relu(w[0], w[1]),
        conv_bn_relu(w[1], w[2]),
        nn.Upsample(scale_factor=2, mode="nearest"),
        conv_bn_relu(w[2], w[3]),
        nn.Conv2d(w[3], 2, 3, padding=1),
        activation,
    ]
