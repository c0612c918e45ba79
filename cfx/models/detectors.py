"""Detectors of colorized images: the BaseNet and DecNet of Quan et al. 2019 (§III-B, §III-C)
and the discriminator of Mu and Lee, n.d. (§2.2).

Every detector takes RGB scaled to [-1, 1] (N×3×H×W) and returns two class scores,
index 0 natural and index 1 colorized (Quan et al. 2019, Eq. 1, is the cross-entropy over them),
so ``softmax(logits)[:, 1]`` is the probability that an image is colorized.

BaseNet: 8 convolutions of 3×3, each with batch normalisation; conv1 has the chosen
activation (none, ReLU or TanH, the "W/O Act" box of Fig. 2), the others ReLU; 3×3
max-pooling with stride 2 after conv2–7; conv8 without padding; FC(2). Widths
32, 64, 128, 256, 256, 512, 512, 512 give the paper's 6.88 M parameters, and the
receptive fields of Fig. 3 (31×31 at conv4; 17×17 in DecNet's 1×1 branch). At the
paper's 256×256 input conv8 sees 3×3 and outputs 1×1×512; other sizes are averaged
to one vector (the 512-d feature of Fig. 4).

DecNet adds a parallel branch of 1×1 convolutions over conv2–4 (same pooling) whose
output is concatenated with the 3×3 branch's before conv5: 7.52 M parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cfx.registry import register

ACTIVATIONS = {"none": nn.Identity, "relu": lambda: nn.ReLU(inplace=True), "tanh": nn.Tanh}


class DetectorBase(nn.Module):
    """What the detection trainer and runner use: logits, probability, loss."""

    input_size = 256  # side of the square the image is resized to (Quan et al. 2019: 256×256)

    def probability(self, x: torch.Tensor) -> torch.Tensor:
        """P(colorized) per image."""
        return torch.softmax(self(x).float(), dim=1)[:, 1]

    def training_loss(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, logits); labels 0 natural, 1 colorized. Cross-entropy (Quan et al. 2019, Eq. 1)."""
        logits = self(x)
        return F.cross_entropy(logits.float(), labels), logits


@dataclass(frozen=True)
class QuanConfig:
    widths: tuple[int, ...] = (32, 64, 128, 256, 256, 512, 512, 512)  # conv1..conv8
    first_activation: str = "tanh"  # none, relu or tanh (conv1)
    branch: bool = False  # DecNet's 1×1 branch over conv2-4
    input_size: int = 256


def _conv_bn(cin: int, cout: int, kernel: int, padding: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, padding=padding, bias=False), nn.BatchNorm2d(cout)]


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(3, stride=2)


class QuanNet(DetectorBase):
    """BaseNet (``branch=False``) or DecNet (``branch=True``)."""

    def __init__(self, config: QuanConfig) -> None:
        super().__init__()
        if len(config.widths) != 8:
            raise ValueError(f"BaseNet/DecNet have 8 convolutions, got widths {config.widths}")
        if config.first_activation not in ACTIVATIONS:
            raise ValueError(f"first_activation must be one of {sorted(ACTIVATIONS)}, got {config.first_activation!r}")
        self.config = config
        self.input_size = config.input_size
        w = config.widths
        self.conv1 = nn.Sequential(*_conv_bn(3, w[0], 3, 1), ACTIVATIONS[config.first_activation]())
        self.branch3 = self._branch(w[0], w[1:4], kernel=3)
        self.branch1 = self._branch(w[0], w[1:4], kernel=1) if config.branch else None
        cin = w[3] * (2 if config.branch else 1)
        tail: list[nn.Module] = []
        for width in w[4:7]:  # conv5-7, each followed by max-pooling
            tail += [*_conv_bn(cin, width, 3, 1), nn.ReLU(inplace=True), _pool()]
            cin = width
        tail += [*_conv_bn(cin, w[7], 3, 0), nn.ReLU(inplace=True)]  # conv8, no padding
        self.tail = nn.Sequential(*tail)
        self.fc = nn.Linear(w[7], 2)

    @staticmethod
    def _branch(cin: int, widths: tuple[int, ...], kernel: int) -> nn.Sequential:
        layers: list[nn.Module] = []
        for width in widths:
            layers += [*_conv_bn(cin, width, kernel, kernel // 2), nn.ReLU(inplace=True), _pool()]
            cin = width
        return nn.Sequential(*layers)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The conv8 feature vector (512-d at full width)."""
        low = self.conv1(x)
        mid = self.branch3(low)
        if self.branch1 is not None:
            mid = torch.cat((mid, self.branch1(low)), dim=1)
        return F.adaptive_avg_pool2d(self.tail(mid), 1).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


@dataclass(frozen=True)
class DiscriminatorConfig:
    widths: tuple[int, ...] = (32, 32, 64)
    hidden: int = 64
    dropout: float = 0.5
    input_size: int = 150  # Mu and Lee, n.d., §2.2: images formatted to 150×150


class Discriminator(DetectorBase):
    """Mu and Lee, n.d., §2.2: three 3×3 conv + ReLU + 2×2 max-pool, FC(64) + ReLU, dropout, one sigmoid unit.

    The sigmoid unit is returned as the logit pair (0, z): softmax over it is sigmoid(z),
    and cross-entropy over it is the paper's binary cross-entropy.
    """

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        self.input_size = config.input_size
        layers: list[nn.Module] = []
        cin = 3
        side = config.input_size
        for width in config.widths:
            layers += [nn.Conv2d(cin, width, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            cin, side = width, (side - 2) // 2
        self.convs = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(cin * side * side, config.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(
                x, size=(self.input_size, self.input_size), mode="bilinear", antialias=True, align_corners=False
            )
        z = self.head(self.convs(x))
        return torch.cat((torch.zeros_like(z), z), dim=1)


def _quan(config: QuanConfig) -> QuanNet:
    return QuanNet(config)


FULL = QuanConfig().widths
COMPACT = (16, 32, 64, 128, 128, 256, 256, 256)
TINY = (4, 4, 8, 8, 8, 8, 8, 8)

for _act in ACTIVATIONS:
    for _arch, _branch, _label in (("basenet", False, "BaseNet"), ("decnet", True, "DecNet")):
        register(
            f"{_arch}.{_act}",
            task="detect",
            config=QuanConfig(FULL, _act, _branch),
            description=f"Quan et al. {_label}, {_act} after conv1, the paper's widths",
        )(_quan)
        register(
            f"{_arch}.{_act}-compact",
            task="detect",
            config=QuanConfig(COMPACT, _act, _branch),
            description=f"Quan et al. {_label}, {_act} after conv1, half width; trains on a 2-core CPU",
        )(_quan)
for _arch, _branch in (("basenet", False), ("decnet", True)):
    register(
        f"{_arch}.tiny",
        task="detect",
        config=QuanConfig(TINY, "tanh", _branch),
        tiny=True,
        description=f"test-sized {_arch}",
    )(_quan)

register(
    "discriminator.full",
    task="detect",
    config=DiscriminatorConfig(),
    description="Mu & Lee's discriminator (Mu and Lee, n.d., §2.2) on 150×150 images",
)(Discriminator)
register(
    "discriminator.tiny",
    task="detect",
    config=DiscriminatorConfig((4, 4, 8), 8, 0.5, 32),
    tiny=True,
    description="test-sized discriminator",
)(Discriminator)
