"""What every colorizer in the registry provides to the trainer and the runner.

``forward(lightness)`` takes L*/100 (N×1×H×W, sides multiples of ``multiple``) and
returns the network's raw outputs plus class logits (or None). Two methods turn those
into what the rest of cfx needs, so the trainer and the runner never branch on the
architecture:

- ``predict_ab(lightness)``: a*b* in Lab units at the model's output resolution;
- ``training_loss(lightness, ab, labels, alpha)``: the paper's loss and the predicted a*b*.

The defaults here are those of regression colorizers with a sigmoid over a*b*
normalised to [0, 1] (Iizuka, Simo-Serra and Ishikawa 2016, §3.3–3.4: MSE plus α times the classification
cross-entropy when labels exist); other architectures override them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cfx.color import denormalize_ab, normalize_ab


class ColorizerBase(nn.Module):
    multiple = 8

    @property
    def train_size(self) -> int:
        """Side of the square training crops (iizuka: its global network's input, §3.6)."""
        return int(self.config.global_size)  # type: ignore[attr-defined]

    @staticmethod
    def ab_to_output(ab: torch.Tensor) -> torch.Tensor:
        """a*b* in Lab units → the network's output range (sigmoid: [0, 1])."""
        return normalize_ab(ab)

    @staticmethod
    def output_to_ab(output: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`ab_to_output`."""
        return denormalize_ab(output)

    def predict_ab(self, lightness: torch.Tensor, **inputs: torch.Tensor) -> torch.Tensor:
        """``inputs``: extra forward arguments (iizuka's ``global_source``)."""
        output, _ = self(lightness, **inputs)
        return self.output_to_ab(output.float())

    def training_loss(
        self, lightness: torch.Tensor, ab: torch.Tensor, labels: torch.Tensor, alpha: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        predicted, logits = self(lightness)
        target = F.interpolate(self.ab_to_output(ab), size=predicted.shape[-2:], mode="area")
        loss = F.mse_loss(predicted.float(), target)
        return loss + classification_loss(logits, labels, alpha), self.output_to_ab(predicted.float())


def classification_loss(logits: torch.Tensor | None, labels: torch.Tensor, alpha: float) -> torch.Tensor | float:
    """α · cross-entropy over the labelled samples (Eq. 6); 0 without labels or logits.

    A batch with no labelled sample still touches the classifier (with a zero weight), so
    every parameter takes part in every step, as DistributedDataParallel expects.
    """
    if logits is None:
        return 0.0
    known = labels >= 0
    if alpha <= 0 or not bool(known.any()):
        return logits.sum() * 0.0
    return alpha * F.cross_entropy(logits[known], labels[known])
