"""A U-Net colorizer on an ImageNet-pretrained encoder: the design that Larsson, Maire &
Shakhnarovich 2016 ("Learning Representations for Automatic Colorization", §3: VGG
hypercolumns), DeOldify (ResNet U-Net) and DDColor (ConvNeXt) share, here with the
EfficientNet-Lite encoder of Tan & Le 2019 (:mod:`cfx.models.efficientnet_lite`).

The gray input (L* as a gray sRGB image, replicated to RGB) goes through the pretrained
encoder; a decoder climbs back from stride 32 to stride 4, at each step upsampling by 2,
concatenating the encoder's features of that stride (skip connections) and applying two
3×3 conv + batch norm + ReLU. The head predicts, at stride 4, per pixel:

- ``classification``: logits over the K = 262 quantised a*b* bins of Zhang, Isola & Efros
  2016 ("Colorful Image Colorization", §2.1–2.3, as summarised by Mu & Lee 2020 §2.1):
  soft-encoded targets, class rebalancing (λ = 0.5) and annealed-mean decoding (T = 0.38);
- ``regression``: a*b* / 110 through tanh, with a smooth-L1 loss;
- ``mse``: the same head with a squared error, which predicts the conditional mean;
- ``gaussian``: the mean (tanh) and a per-pixel log-variance, trained by the Gaussian
  negative log-likelihood (Kendall & Gal 2017, "What Uncertainties Do We Need in Bayesian
  Deep Learning", §3), weighted by the detached variance to the power β = 0.5 so that
  uncertain pixels do not stop the mean from learning (Seitzer et al. 2022, "On the
  Pitfalls of Heteroscedastic Uncertainty Estimation", §4). Decoding shrinks the mean
  towards neutral where the predicted variance σ² is large: a*b* = μ · τ²/(τ² + σ²),
  the posterior mean under a N(0, τ²) prior on the chroma (``shrink_tau``; 0: no shrink);
- ``both``: the classification and smooth-L1 heads, losses summed (``regression_weight``).

Hints (``hints``: Zhang, Zhu, Isola, Geng, Lin, Yu & Efros 2017, "Real-Time User-Guided
Image Colorization with Learned Deep Priors", §3.1): the decoder also reads user points as
three channels, a*b*/110 times a mask and the mask, on the stride-4 grid and pooled to
stride 8, concatenated with the skip features there. The encoder still sees only the gray
image, so its cached features serve the hinted model too; with no hints the channels are
zero and the model is the automatic colorizer.

``decode`` picks what a*b* the model outputs: ``annealed`` (the classification head's
annealed mean), ``regression`` (the regression head) or ``blend`` (their average); with one
head, that head's.

The encoder's lower stages (up to stride 8, ``frozen_stages``) stay frozen at their ImageNet
weights: their features can be computed once and cached (:mod:`cfx.train.cached_colorizer`).
The upper stages are frozen in the first training phase and fine-tuned in the second.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cfx.ab_bins import annealed_mean, encode_soft, estimate_prior, gamut_bins, gaussian_kernel, rebalance_weights
from cfx.color import AB_RANGE, lab_to_rgb
from cfx.hints import hint_grid
from cfx.models.base import ColorizerBase, classification_loss
from cfx.models.efficientnet_lite import EfficientNetLite, LiteConfig, normalise
from cfx.registry import register

LOSSES = ("classification", "regression", "mse", "gaussian", "both")
HINT_CHANNELS = 3  # a*b*/110 × mask, mask
DECODINGS = ("annealed", "regression", "blend", "confident")
CONFIDENT_RADIUS = 20.0  # a*b* units: the bins "near the chosen hue" of the confident decoding


@dataclass(frozen=True)
class UNetConfig:
    variant: str = "lite0"  # which pretrained EfficientNet-Lite (cfx.models.pretrained.SOURCES); "" for none
    width: float = 1.0  # encoder width coefficient (lite0/1: 1.0, lite2: 1.1)
    depth: float = 1.0  # encoder depth coefficient (lite0 1.0, lite1 1.1, lite2 1.2)
    stem: int = 32
    decoder: tuple[int, ...] = (192, 96, 48)  # channels after the stride-16, 8 and 4 merges
    loss: str = "regression"  # classification, regression or both (the comparison: docs/models.md)
    regression_weight: float = 1.0  # weight of the smooth-L1 term when loss = both
    decode: str = "annealed"  # annealed, regression or blend (loss = both; else the one head's)
    bin_size: float = 10.0
    num_bins: int = 262
    temperature: float = 0.38  # annealed-mean T
    rebalance_lambda: float = 0.5
    sigma: float = 5.0
    neighbours: int = 5
    frozen_stages: int = 3  # encoder stages 0..2 (up to stride 8) never train
    dropout: float = 0.1  # Dropout2d on the encoder features the decoder reads (training only)
    train_size: int = 224
    num_classes: int = 0  # > 0: a scene-class head on the pooled stride-32 features
    hints: bool = False  # the decoder reads user points (a*b* and a mask) at strides 4 and 8
    shrink_tau: float = 0.0  # loss gaussian: prior std of a*b*/110 that shrinks uncertain chroma; 0 = none
    beta: float = 0.5  # loss gaussian: β of the β-NLL weighting
    chroma: float = 1.0  # scale of the predicted a*b* (chosen on never-seen photos)


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def gray_rgb(lightness: torch.Tensor) -> torch.Tensor:
    """L*/100 (N×1×H×W) → the gray sRGB image of that lightness, 3 channels in [0, 1]."""
    lab = torch.cat((lightness.float() * 100.0, torch.zeros_like(lightness.float()).expand(-1, 2, -1, -1)), 1)
    return lab_to_rgb(lab)[:, :1].expand(-1, 3, -1, -1)


class UNetColorizer(ColorizerBase):
    """Input: L*/100, N×1×H×W with H, W multiples of 32.
    Output: head channels at H/4×W/4 (K bin logits and/or 2 tanh a*b*), and class logits (or None)."""

    multiple = 32

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        c = config
        if c.loss not in LOSSES:
            raise ValueError(f"unknown loss {c.loss!r}; one of {', '.join(LOSSES)}")
        if c.decode not in DECODINGS:
            raise ValueError(f"unknown decoding {c.decode!r}; one of {', '.join(DECODINGS)}")
        if len(c.decoder) != 3:
            raise ValueError("unet needs 3 decoder widths (strides 16, 8, 4)")
        self.config = config
        self.temperature = c.temperature
        self.encoder = EfficientNetLite(LiteConfig(width=c.width, depth=c.depth, stem=c.stem, include_top=False))
        s4, s8, s16, s32 = self.encoder.channels[1:]
        self.bottom = nn.Sequential(
            nn.Conv2d(s32, c.decoder[0], 1, bias=False), nn.BatchNorm2d(c.decoder[0]), nn.ReLU(inplace=True)
        )
        extra = HINT_CHANNELS if c.hints else 0
        self.up16 = _double_conv(c.decoder[0] + s16, c.decoder[0])
        self.up8 = _double_conv(c.decoder[0] + s8 + extra, c.decoder[1])
        self.up4 = _double_conv(c.decoder[1] + s4 + extra, c.decoder[2])
        self.feature_dropout = nn.Dropout2d(c.dropout) if c.dropout > 0 else nn.Identity()
        self.classifies = c.loss in ("classification", "both")
        self.regresses = c.loss in ("regression", "mse", "gaussian", "both")
        self.uncertain = c.loss == "gaussian"
        outputs = (c.num_bins if self.classifies else 0) + (2 if self.regresses else 0) + (1 if self.uncertain else 0)
        self.head = nn.Conv2d(c.decoder[2], outputs, 1)
        self.classifier = nn.Linear(s32, c.num_classes) if c.num_classes > 0 else None
        centers = gamut_bins(c.bin_size)
        if self.classifies and len(centers) != c.num_bins:
            raise ValueError(
                f"num_bins {c.num_bins} does not match the {len(centers)} in-gamut bins of size {c.bin_size}"
            )
        self.register_buffer("centers", centers, persistent=False)
        self.register_buffer("smoothing", gaussian_kernel(centers, c.sigma), persistent=False)
        self.register_buffer("ab_prior", torch.full((len(centers),), 1.0 / len(centers)))
        self.freeze_encoder(c.frozen_stages)

    @property
    def train_size(self) -> int:
        return self.config.train_size

    # ------------------------------------------------------------------ encoder
    def freeze_encoder(self, stages: int) -> None:
        """Stem and the first ``stages`` stages keep their weights (and batch-norm statistics)."""
        frozen = [self.encoder.stem, *self.encoder.stages[:stages]]
        for module in self.encoder.modules():
            for p in module.parameters(recurse=False):
                p.requires_grad_(True)
        for module in frozen:
            for p in module.parameters():
                p.requires_grad_(False)
        self._frozen = frozen

    def train(self, mode: bool = True) -> "UNetColorizer":
        super().train(mode)
        for module in self._frozen:  # frozen layers keep their running statistics
            module.eval()
        return self

    def lower(self, lightness: torch.Tensor) -> list[torch.Tensor]:
        """Features at strides 4 and 8 of the frozen lower encoder (what a trainer may cache)."""
        x = self.encoder.stem(normalise(gray_rgb(lightness)))
        out = []
        for index, stage in enumerate(self.encoder.stages[: self.config.frozen_stages]):
            x = stage(x)
            if index in (1, 2):
                out.append(x)
        return out

    def upper(self, s8: torch.Tensor) -> list[torch.Tensor]:
        """Features at strides 16 and 32 from the stride-8 features."""
        x, out = s8, []
        for index, stage in enumerate(
            self.encoder.stages[self.config.frozen_stages :], start=self.config.frozen_stages
        ):
            x = stage(x)
            if index in (4, 6):
                out.append(x)
        return out

    # ------------------------------------------------------------------ decoder
    def decode(
        self,
        s4: torch.Tensor,
        s8: torch.Tensor,
        s16: torch.Tensor,
        s32: torch.Tensor,
        hints: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The head's channels at stride 4 (and class logits); ``hints``: N×3×H4×W4 on the
        stride-4 grid (see :func:`hint_grid`), None for none."""
        s4, s8, s16, s32 = (
            self.feature_dropout(f.float() if f.dtype == torch.float16 else f) for f in (s4, s8, s16, s32)
        )
        extra: tuple[torch.Tensor, ...] = ()  # the hint channels beside the stride-8 and stride-4 skips
        if self.config.hints:
            if hints is None:
                hints = s4.new_zeros((s4.shape[0], HINT_CHANNELS, *s4.shape[-2:]))
            hints = hints.float()
            extra = (F.adaptive_avg_pool2d(hints, s8.shape[-2:]), hints)
        elif hints is not None:
            raise ValueError(f"{getattr(self, 'cfx_name', 'this unet')} takes no hints")
        x = self.bottom(s32)
        for level, (skip, block) in enumerate(((s16, self.up16), (s8, self.up8), (s4, self.up4))):
            parts = [skip, extra[level - 1]] if extra and level > 0 else [skip]
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, *(t.to(x.dtype) for t in parts)], 1))
        logits = self.classifier(s32.float().mean(dim=(2, 3))) if self.classifier is not None else None
        return self.head(x), logits

    def forward(
        self, lightness: torch.Tensor, hints: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``hints``: N×3×H×W at the input's size (a*b* × mask, mask), mapped to the stride-4 grid."""
        s4, s8 = self.lower(lightness)
        s16, s32 = self.upper(s8)
        grid = hint_grid(hints, s4.shape[-2:]) if hints is not None else None
        return self.decode(s4, s8, s16, s32, grid)

    # ------------------------------------------------------------------ heads
    def output_ab(self, output: torch.Tensor) -> torch.Tensor:
        """a*b* in Lab units from the head's channels."""
        decode = self.config.decode
        if not (self.classifies and self.regresses):  # one head: its own decoding (confident: classification)
            decode = ("confident" if decode == "confident" else "annealed") if self.classifies else "regression"
        if self.uncertain:
            mean = torch.tanh(output[:, -3:-1].float())
            tau = self.config.shrink_tau
            if tau > 0:
                variance = torch.exp(output[:, -1:].float().clamp(*LOG_VARIANCE))
                mean = mean * (tau * tau / (tau * tau + variance))
            return mean * AB_RANGE
        if decode == "regression":
            return torch.tanh(output[:, -2:].float()) * AB_RANGE
        annealed = annealed_mean(output[:, : self.config.num_bins], self.centers, self.temperature)
        if decode == "confident":
            return annealed * self.mass_near(output[:, : self.config.num_bins].float(), annealed)
        return annealed if decode == "annealed" else (annealed + torch.tanh(output[:, -2:].float()) * AB_RANGE) / 2.0

    def mass_near(self, logits: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """N×1×H×W: the probability of the bins within :data:`CONFIDENT_RADIUS` of ``ab`` (the
        confidence of the chosen hue, which scales its chroma in the ``confident`` decoding)."""
        probabilities = F.softmax(logits, dim=1)
        distance = torch.cdist(ab.movedim(1, -1).reshape(-1, 2), self.centers.float())  # (N·H·W)×K
        near = (distance <= CONFIDENT_RADIUS).float().view(*ab.shape[:1], *ab.shape[2:], -1).movedim(-1, 1)
        return (probabilities * near).sum(dim=1, keepdim=True)

    def predict_ab(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """a*b* at stride 4, scaled by ``chroma`` (the calibration chosen on never-seen photos)."""
        output, _ = self(lightness, hints) if hints is not None else self(lightness)
        ab = self.output_ab(output.float())
        return ab * self.config.chroma if self.config.chroma != 1.0 else ab

    @torch.no_grad()
    def set_prior(self, counts: torch.Tensor) -> None:
        """The a*b* prior (per-bin pixel counts of the training targets) behind the rebalancing weights."""
        counts = counts.to(self.ab_prior.device, torch.float64)
        if counts.shape != self.ab_prior.shape or counts.sum() <= 0:
            raise ValueError(f"prior needs {len(self.ab_prior)} non-negative counts with a positive sum")
        self.ab_prior.copy_(counts / counts.sum())

    def prior_counts(self, ab: torch.Tensor) -> torch.Tensor:
        return estimate_prior(ab.float(), self.centers)

    def head_loss(self, output: torch.Tensor, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss of the head's channels against the true a*b* (any size; area-resized to the head's)."""
        c = self.config
        output = output.float()
        target = F.interpolate(ab.float(), size=output.shape[-2:], mode="area")
        loss = output.new_zeros(())
        if self.classifies:
            bins = output[:, : c.num_bins]
            soft = encode_soft(target, self.centers, c.sigma, c.neighbours)
            weights = rebalance_weights(self.ab_prior, self.centers, c.rebalance_lambda, c.sigma, self.smoothing)[
                soft.argmax(dim=1)
            ]
            loss = loss + (weights * -(soft * F.log_softmax(bins, dim=1)).sum(dim=1)).mean()
        if self.uncertain:
            mean = torch.tanh(output[:, -3:-1])
            log_variance = output[:, -1:].clamp(*LOG_VARIANCE)
            squared = (mean - target / AB_RANGE).pow(2).sum(dim=1, keepdim=True)
            nll = 0.5 * squared * torch.exp(-log_variance) + log_variance  # two channels share σ²
            loss = loss + (nll * torch.exp(log_variance.detach() * c.beta)).mean()
        elif c.loss == "mse":
            loss = loss + F.mse_loss(torch.tanh(output[:, -2:]), target / AB_RANGE) * 10.0
        elif self.regresses:
            regression = F.smooth_l1_loss(torch.tanh(output[:, -2:]), target / AB_RANGE, beta=0.1)
            loss = loss + (c.regression_weight if self.classifies else 1.0) * regression * 10.0
        with torch.no_grad():
            predicted = self.output_ab(output)
        return loss, predicted

    def training_loss(
        self, lightness: torch.Tensor, ab: torch.Tensor, labels: torch.Tensor, alpha: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        output, logits = self(lightness)
        loss, predicted = self.head_loss(output, ab)
        return loss + classification_loss(logits, labels, alpha), predicted

    def load_pretrained(self) -> dict[str, str] | None:
        """Fill the encoder with its ImageNet weights (training from scratch); returns their provenance."""
        if not self.config.variant:
            return None
        from cfx.models.pretrained import load_pretrained

        return load_pretrained(self.encoder, self.config.variant)


LOG_VARIANCE = (-12.0, 3.0)  # clamp of the predicted log σ² (a*b*/110 units)


def _factory(config: UNetConfig) -> UNetColorizer:
    return UNetColorizer(config)


def _anneals(config: UNetConfig) -> bool:
    """Whether a unet of this config decodes with the annealed mean (``--temperature`` applies)."""
    return config.loss in ("classification", "both") and config.decode != "regression"


register(
    "unet.lite0",
    task="colorize",
    config=UNetConfig(),
    render_size=384,
    trainer="cached",
    temperature=_anneals,
    description="U-Net decoder on an ImageNet EfficientNet-Lite0 encoder; smooth-L1 regression of a*b*",
)(_factory)
register(
    "unet.lite1",
    task="colorize",
    config=UNetConfig(variant="lite1", depth=1.1, train_size=240),
    render_size=384,
    trainer="cached",
    temperature=_anneals,
    description="U-Net decoder on an ImageNet EfficientNet-Lite1 encoder",
)(_factory)
register(
    "unet.lite2",
    task="colorize",
    config=UNetConfig(variant="lite2", width=1.1, depth=1.2, train_size=256),
    render_size=384,
    trainer="cached",
    temperature=_anneals,
    description="U-Net decoder on an ImageNet EfficientNet-Lite2 encoder",
)(_factory)
register(
    "unet.lite0-guided",
    task="colorize",
    config=UNetConfig(
        loss="mse", hints=True, chroma=0.85
    ),  # chroma: the least scale with 0.6 of the truth's colourfulness on unseen-select
    render_size=384,
    trainer="cached",
    temperature=_anneals,
    hints=True,
    description="unet.lite0 on source-balanced fresh crops, MSE (the conditional mean), reads user hints (Zhang et al. 2017)",
)(_factory)
register(
    "unet.tiny-guided",
    task="colorize",
    config=UNetConfig(
        variant="", width=0.25, depth=0.5, stem=8, decoder=(8, 8, 8), train_size=64, loss="gaussian", hints=True
    ),
    render_size=64,
    tiny=True,
    trainer="cached",
    temperature=_anneals,
    hints=True,
    description="test-sized hint-conditioned unet with the Gaussian head (random encoder)",
)(_factory)
register(
    "unet.tiny",
    task="colorize",
    config=UNetConfig(variant="", width=0.25, depth=0.5, stem=8, decoder=(8, 8, 8), train_size=64),
    render_size=64,
    tiny=True,
    trainer="cached",
    temperature=_anneals,
    description="test-sized unet (random encoder)",
)(_factory)
