"""An exponential moving average of a model's weights, for evaluation and the weights written.

Polyak & Juditsky (1992) showed that averaging the iterates of stochastic gradient descent
gives a better estimate than the last iterate; the exponential form used here, with a
warm-up so that early steps are not dominated by the random start, is the one of
TensorFlow's ``ExponentialMovingAverage`` and of the EMA weights of Tan & Le's
EfficientNet (2019, §5). Our colorizer's score on photos never seen moves by ±0.3 dB from
one epoch to the next; the average smooths that jitter, so the epoch chosen on the
selection part is less a lucky draw.

Every floating-point entry of the state dict is averaged (parameters and batch-norm
statistics); integer buffers are copied. The average lives in fp32 on the model's device.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


class WeightAverage:
    """``shadow = d·shadow + (1 − d)·weights`` after every step, with ``d = min(decay, (1 + t)/(10 + t))``."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"an average's decay lies in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.shadow = {k: v.detach().float().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    def rate(self) -> float:
        """The decay of the next update (smaller during warm-up)."""
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Move the average towards the model's current weights."""
        keep = self.rate()
        for key, value in model.state_dict().items():
            if key in self.shadow:
                self.shadow[key].lerp_(value.detach().float(), 1.0 - keep)
        self.updates += 1

    @contextmanager
    def applied(self, model: torch.nn.Module) -> Iterator[torch.nn.Module]:
        """The model with the averaged weights inside the block, its own weights restored after."""
        own = {k: v.detach().clone() for k, v in model.state_dict().items() if k in self.shadow}
        self.copy_to(model)
        try:
            yield model
        finally:
            model.load_state_dict(own, strict=False)

    @torch.no_grad()
    def copy_to(self, model: torch.nn.Module) -> None:
        """Write the averaged weights into ``model`` (each in the model's own dtype)."""
        current = model.state_dict()
        model.load_state_dict({k: v.to(current[k].dtype) for k, v in self.shadow.items()}, strict=False)

    def tensors(self) -> dict[str, torch.Tensor]:
        """The average to store in a checkpoint (with the number of updates)."""
        return {**{f"ema.{k}": v.cpu() for k, v in self.shadow.items()}, "ema_updates": torch.tensor(self.updates)}

    def restore(self, tensors: dict[str, torch.Tensor]) -> None:
        """The state of :meth:`tensors` (a checkpoint's), onto this average's device."""
        for key in self.shadow:
            self.shadow[key].copy_(tensors[f"ema.{key}"])
        self.updates = int(tensors["ema_updates"])
