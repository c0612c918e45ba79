"""A detector of colorized images on an ImageNet-pretrained EfficientNet-Lite encoder
(Tan & Le 2019, §4; :mod:`cfx.models.efficientnet_lite`), the recipe of detectors that must
generalize to manipulations they never saw: fine-tune an ImageNet-pretrained EfficientNet
(as the top entries of the Deepfake Detection Challenge did; Dolhansky et al. 2020, the
section on the competition's results) rather than train a compact network such as DecNet
(Quan et al. 2019, §III-C) from scratch.

Input and output follow the detector protocol of :mod:`cfx.models.detectors`: RGB scaled
to [-1, 1] (N×3×H×W; a colour image, never its gray copy) and two class scores, index 0
natural and index 1 colorized. The encoder's ImageNet input is (x − 0.5) / 0.5 of RGB in
[0, 1] (:func:`cfx.models.efficientnet_lite.normalise`), which is that same range, so the
detector's input goes to the pretrained stem as it is. Any size works (SAME padding); the
square ``input_size`` is what `cfx detect` resizes to (resize mode) or crops at native
resolution (patch mode).

Network: stem, the 7 MBConv stages and the 1×1 head conv (1280 channels) of the
pretrained encoder, global average pooling, dropout (0.2 for Lite0/1 and 0.3 for Lite2, the
Lite builder's rates; Tan & Le 2019 §5.2 raise it with the model size) and a linear layer
to the two class scores. ``side > 0`` adds a side branch on a lower stage's output
(``litenet.lite0-ms``: stride 8): two 3×3 convolutions pooled by mean and by maximum, beside
the head conv's mean, so that a colorizer's local traces at a finer scale than stride 32
(chroma predicted at a quarter of the resolution, colour bleeding across edges) reach the
classifier; measured in docs/detection.md ("What did not work").

Fine-tuning in stages: ``frozen_stages`` keeps the lower encoder at its ImageNet weights
and batch-norm statistics (no gradient, eval-mode batch norms): 0 trains everything;
k = 1…7 freezes the stem and MBConv stages 0…k−1 (3: everything up to stride 8);
:data:`WHOLE_ENCODER` (8) freezes the head conv too, so that only the linear layer learns
(the first stage, on frozen features). `cfx train detector --frozen-stages K` overrides it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cfx.models.detectors import DetectorBase
from cfx.models.efficientnet_lite import EfficientNetLite, LiteConfig
from cfx.registry import register

WHOLE_ENCODER = 8  # frozen_stages that freezes the stem, the 7 stages and the head conv


@dataclass(frozen=True)
class LiteDetectorConfig:
    variant: str = (
        "lite0"  # which pretrained EfficientNet-Lite (cfx.models.pretrained.SOURCES); "" for a random encoder
    )
    width: float = 1.0  # encoder width coefficient (lite0/1: 1.0, lite2: 1.1)
    depth: float = 1.0  # encoder depth coefficient (lite0 1.0, lite1 1.1, lite2 1.2)
    stem: int = 32
    head: int = 1280  # channels of the encoder's 1×1 head conv (the pooled feature)
    dropout: float = 0.2
    frozen_stages: int = 3  # see the module docstring: 0 nothing, 1..7 stem + stages, 8 the whole encoder
    input_size: int = 256  # the side `cfx detect` resizes or crops to
    side: int = 0  # channels of the side branch on a lower stage's output (0: none)
    side_stage: int = 3  # the side branch reads the output of MBConv stage side_stage − 1 (3: stride 8)


class LiteDetector(DetectorBase):
    """EfficientNet-Lite encoder + global average pooling + dropout + FC(2)."""

    def __init__(self, config: LiteDetectorConfig) -> None:
        super().__init__()
        if not 0 <= config.frozen_stages <= WHOLE_ENCODER:
            raise ValueError(f"frozen_stages must be 0..{WHOLE_ENCODER}, got {config.frozen_stages}")
        if not 0.0 <= config.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {config.dropout}")
        self.config = config
        self.input_size = config.input_size
        self.encoder = EfficientNetLite(
            LiteConfig(width=config.width, depth=config.depth, stem=config.stem, head=config.head, num_classes=0)
        )
        self.dropout = nn.Dropout(config.dropout)
        self.side = side_branch(self.encoder.stages[config.side_stage - 1], config.side) if config.side else None
        self.fc = nn.Linear(config.head + 2 * config.side, 2)
        self._init_encoder()
        self.freeze_encoder(config.frozen_stages)

    def _init_encoder(self) -> None:
        """He initialisation of the encoder's convolutions, fan-in mode (He et al. 2015, §2.2:
        the forward signal keeps its variance). With PyTorch's default the signal of a random
        encoder whose batch norms still hold their initial statistics (eval mode, or frozen)
        shrinks through its ~20 layers until every image scores alike. The ImageNet weights
        replace it (:meth:`load_pretrained`)."""
        for module in self.encoder.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")

    # ------------------------------------------------------------------ staged fine-tuning
    def frozen_modules(self, stages: int) -> list[nn.Module]:
        """The encoder parts that ``frozen_stages = stages`` keeps at their weights."""
        if stages <= 0:
            return []
        frozen: list[nn.Module] = [
            self.encoder.stem,
            *self.encoder.stages[: stages - 1 if stages < WHOLE_ENCODER else None],
        ]
        return frozen + [self.encoder.head] if stages >= WHOLE_ENCODER else frozen

    def freeze_encoder(self, stages: int) -> None:
        """Freeze :meth:`frozen_modules` (no gradient; batch norms keep their running statistics), unfreeze the rest."""
        for p in self.parameters():
            p.requires_grad_(True)
        self._frozen = self.frozen_modules(stages)
        for module in self._frozen:
            for p in module.parameters():
                p.requires_grad_(False)
        self.train(self.training)

    def train(self, mode: bool = True) -> "LiteDetector":
        super().train(mode)
        for module in getattr(self, "_frozen", []):  # frozen layers keep their running statistics
            module.eval()
        return self

    # ------------------------------------------------------------------ forward
    def lower(self, x: torch.Tensor, cut: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """What :meth:`frozen_modules` ``(cut)`` compute from RGB in [-1, 1]: the input to the
        layers that ``frozen_stages = cut`` trains (the features a cached trainer stores), and
        the side branch's input when it lies below the cut (else None)."""
        if not 1 <= cut <= WHOLE_ENCODER:
            raise ValueError(f"cut must be 1..{WHOLE_ENCODER}, got {cut}")
        e = self.encoder
        y, side = e.stem(x), None
        for index, stage in enumerate(e.stages[: cut - 1]):
            y = stage(y)
            if index == self.config.side_stage - 1:
                side = y
        return (e.head(y) if cut >= WHOLE_ENCODER else y), side

    def upper(self, y: torch.Tensor, side: torch.Tensor | None, cut: int) -> torch.Tensor:
        """The class scores from :meth:`lower` ``(x, cut)``: ``self(x) == self.upper(*self.lower(x, cut), cut)``."""
        e = self.encoder
        if cut < WHOLE_ENCODER:
            for index, stage in enumerate(e.stages[cut - 1 :], start=cut - 1):
                y = stage(y)
                if index == self.config.side_stage - 1:
                    side = y
            y = e.head(y)
        pooled = [y.mean(dim=(2, 3))]
        if self.side is not None:
            z = self.side(side)
            pooled += [z.mean(dim=(2, 3)), z.amax(dim=(2, 3))]
        return self.fc(self.dropout(torch.cat(pooled, dim=1)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled head-conv feature (N×head) of RGB in [-1, 1]."""
        return self.lower(x, WHOLE_ENCODER)[0].mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upper(*self.lower(x, 1), 1)

    def load_pretrained(self) -> dict[str, str] | None:
        """Fill the encoder with its ImageNet weights (training from scratch); returns their
        provenance for the model card (None for a random-encoder preset)."""
        if not self.config.variant:
            return None
        from cfx.models.pretrained import load_pretrained

        return load_pretrained(self.encoder, self.config.variant)


def side_branch(stage: nn.Module, width: int) -> nn.Sequential:
    """Two 3×3 convolutions (the first with stride 2) with batch norm and ReLU on the output of
    ``stage``; its map is pooled by mean and by maximum beside the head conv's mean, so that
    local colour traces at a finer scale than the last stages' (stride 8 against 32) reach the
    classifier."""
    channels = [m for m in stage.modules() if isinstance(m, nn.Conv2d)][-1].out_channels
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, width, 3, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
    )


def _factory(config: LiteDetectorConfig) -> LiteDetector:
    return LiteDetector(config)


register(
    "litenet.lite0",
    task="detect",
    config=LiteDetectorConfig(),
    description="EfficientNet-Lite0 encoder (ImageNet-pretrained) + pooled FC(2); stem and stages up to stride 8 frozen",
)(_factory)
register(
    "litenet.lite0-ms",
    task="detect",
    config=LiteDetectorConfig(frozen_stages=7, side=128),
    description="litenet.lite0 + a side branch on the stride-8 features; all but the last stage frozen",
)(_factory)
register(
    "litenet.lite1",
    task="detect",
    config=LiteDetectorConfig(variant="lite1", depth=1.1),
    description="EfficientNet-Lite1 encoder (ImageNet-pretrained) + pooled FC(2)",
)(_factory)
register(
    "litenet.lite2",
    task="detect",
    config=LiteDetectorConfig(variant="lite2", width=1.1, depth=1.2, dropout=0.3),
    description="EfficientNet-Lite2 encoder (ImageNet-pretrained) + pooled FC(2)",
)(_factory)
register(
    "litenet.tiny",
    task="detect",
    config=LiteDetectorConfig(variant="", width=0.25, depth=0.5, stem=8, head=16, input_size=32, side=8),
    tiny=True,
    description="test-sized litenet with a random (not pretrained) encoder",
)(_factory)
