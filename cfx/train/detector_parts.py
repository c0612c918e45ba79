"""The pieces every detector trainer shares (:mod:`cfx.train.detector`,
:mod:`cfx.train.cached_detector`, :mod:`cfx.train.harden_detector`), after Quan et al. (2019),
§IV-A: the recipe, balanced minibatches of natural and colorized images (one epoch of them
in :func:`train_epoch`), the loss, SGD with its step schedule, scoring and the validation
metrics (HTER per colorizer at the threshold of lowest HTER), the log line's validation
fields, the card and the weights written with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from cfx.card_data import portable_detector_data, portable_entries
from cfx.colorizer_sets import load_colorizers
from cfx.data.pairs import DetectorData, PairSet, load_detector_data
from cfx.detect import DEFAULT_MAX_PATCHES, check_mode, patches, random_patch
from cfx.detection_metrics import by_source, choose_threshold
from cfx.errors import UsageError
from cfx.labels import CLASSES, COLORIZED_INDEX, NATURAL_INDEX
from cfx.progress import progress
from cfx.registry import create_model, get_spec
from cfx.train.common import PrecisionChecked, optimizer_step, rounded, training_autocast
from cfx.train.distributed import World
from cfx.weights import save_model

LOG_SCHEMA = "cfx.train-detector-log/1"


@dataclass
class DetectorRecipe(PrecisionChecked):
    model: str = "decnet.tanh-compact"
    epochs: int = 30
    lr: float = 1e-2
    lr_step: int = 10  # divide the rate by 10 every lr_step epochs (0: never)
    momentum: float = 0.9
    weight_decay: float = 1e-4
    batch_size: int = 20  # half natural, half colorized (the paper's 10 + 10)
    val_fraction: float = 0.1
    seed: int = 0
    flip: bool = True  # random horizontal flips (the same flip for an NI and its CI)
    max_short_side: int = 256
    time_limit_minutes: float = 0.0
    half: bool = False
    device: str = "auto"
    init: str | None = None  # weights file to start from (fine-tuning a shipped or earlier detector)
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on the CPU), fp32 or bf16 (see training_autocast)
    mode: str = "resize"  # resize (the paper's) or patch (random native-resolution crops; see the module docstring)
    frozen_stages: int | None = (
        None  # pretrained-encoder detectors (litenet): encoder stages kept at their weights (None: the preset's)
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_mode(self.mode)


@dataclass(frozen=True)
class PairSources:
    """Where a detector trainer's pairs come from: the natural photos, folders of colorized
    versions of them (name, folder) and colorizers (registry names or weights) that make more."""

    natural: Path
    colorized_dirs: Sequence[tuple[str, Path]] = ()
    colorizer_names: Sequence[str] = ()

    def load(self, world: World, size: int, recipe: Any, quiet: bool, mode: str) -> DetectorData:
        """The train and validation pairs (:func:`cfx.data.pairs.load_detector_data`), the
        colorizers run on ``world``'s device; ``recipe`` gives the split and the short side."""
        colorizers = load_colorizers(self.colorizer_names, device=str(world.device))
        return load_detector_data(
            self.natural,
            self.colorized_dirs,
            colorizers,
            size,
            recipe.val_fraction,
            recipe.max_short_side,
            quiet,
            mode,
        )


def balanced_batches(
    natural_pool: int, colorized_pool: int, half: int, generator: torch.Generator, count: int | None = None
) -> list[tuple[list[int], list[int]]]:
    """One epoch of (natural indices, colorized indices) batches, ``half`` of each.

    The epoch covers ``count`` images of each class (default: one pass over the larger
    pool); a smaller pool is reshuffled and cycled.
    """
    count = max(natural_pool, colorized_pool) if count is None else count
    steps = max(1, count // half)

    def stream(pool: int) -> list[int]:
        order: list[int] = []
        while len(order) < steps * half:
            order += torch.randperm(pool, generator=generator).tolist()
        return order[: steps * half]

    nat, col = stream(natural_pool), stream(colorized_pool)
    return [(nat[k * half : (k + 1) * half], col[k * half : (k + 1) * half]) for k in range(steps)]


class DetectorLoss(torch.nn.Module):
    """The detector's loss as a forward pass, so DistributedDataParallel can wrap it."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.training_loss(x, labels)


def train_epoch(
    trainer: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    natural: Sequence[torch.Tensor],
    colorized: Sequence[torch.Tensor],
    batch_size: int,
    generator: torch.Generator,
    world: World,
    flip: bool = True,
    quiet: bool = True,
    label: str = "epoch",
    count: int | None = None,
    precision: str = "auto",
    crop: int | None = None,
) -> tuple[float, int]:
    """One epoch of balanced minibatches (see :func:`balanced_batches`); returns (mean loss, samples) summed over processes.

    ``crop``: take a random crop×crop patch of every image (patch mode) instead of using it whole.
    """
    half = max(1, batch_size // 2)
    batches = balanced_batches(len(natural), len(colorized), half, generator, count)
    flips = torch.rand(len(batches), 2 * half, generator=generator) < 0.5
    running, seen = 0.0, 0
    amp = training_autocast(world.device, precision)
    trainer.train()
    with progress(label, total=len(batches) * 2 * half, quiet=quiet) as bar:
        for b, (nat_idx, col_idx) in enumerate(batches):
            # Interleaved, so every process's contiguous share (DDP) is half natural too.
            images = [image for i, j in zip(nat_idx, col_idx) for image in (natural[i], colorized[j])]
            labels = [NATURAL_INDEX, COLORIZED_INDEX] * len(nat_idx)
            mine = world.my_part(list(range(len(images))))
            x = torch.stack([random_patch(images[k], crop, generator) if crop else images[k] for k in mine]).to(
                world.device
            )
            if flip:
                x = torch.where(flips[b, mine].to(world.device)[:, None, None, None], x.flip(-1), x)
            x = (x.float() / 127.5 - 1.0).contiguous(memory_format=torch.channels_last)
            y = torch.tensor([labels[k] for k in mine], device=world.device)
            with amp:
                loss, _ = trainer(x, y)
            running += optimizer_step(optimizer, loss) * len(mine)
            seen += len(mine)
            bar.advance(len(images))
    running, total = world.sum([running, float(seen)])
    return running / max(total, 1.0), int(total)


@torch.no_grad()
def score_images(
    model: torch.nn.Module,
    images: Sequence[torch.Tensor],
    batch_size: int = 64,
    mode: str = "resize",
    precision: str = "fp32",
) -> np.ndarray:
    """P(colorized) for uint8 3×S×S images, or in ``patch`` mode for native-size uint8
    images (each the maximum over its grid of crops, as `cfx detect --mode patch`);
    eval mode restored to train mode after. Images are scaled batch by batch, so scoring
    many costs one batch of floats; ``precision`` as in training (bf16: about twice as fast
    on CPUs with AVX512-BF16)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with training_autocast(device, precision):
        if check_mode(mode) == "patch":
            grids = [patches(image.float() / 255.0, model.input_size, DEFAULT_MAX_PATCHES) for image in images]
            flat = _probabilities(model, [crop for grid in grids for crop in grid], batch_size, device)
            per_image = np.split(flat, np.cumsum([len(grid) for grid in grids])[:-1]) if grids else []
            result = np.array([scores.max() for scores in per_image], dtype=np.float32)
        else:
            result = _probabilities(model, images, batch_size, device, lambda x: x.float() / 127.5 - 1.0)
    model.train(was_training)
    return result


def _probabilities(
    model: torch.nn.Module,
    inputs: Sequence[torch.Tensor],
    batch_size: int,
    device: torch.device,
    to_input: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
) -> np.ndarray:
    """The model's P(colorized) for 3×S×S inputs, each batch mapped to [-1, 1] by ``to_input``."""
    scores = []
    for start in range(0, len(inputs), batch_size):
        x = to_input(torch.stack(list(inputs[start : start + batch_size])).to(device))
        scores.append(model.probability(x).float().cpu())
    return torch.cat(scores).numpy() if scores else np.zeros(0, dtype=np.float32)


def validation_metrics(
    model: torch.nn.Module, val: PairSet, threshold: float | None = None, mode: str = "resize"
) -> dict[str, Any]:
    """Scores on the validation NIs and CIs: overall and per colorizer, at ``threshold``
    (default: the lowest-HTER threshold on these scores, returned as ``threshold``)."""
    return metrics_from_scores(
        score_images(model, val.natural, mode=mode),
        score_images(model, val.colorized, mode=mode),
        val.sources,
        threshold,
    )


def metrics_from_scores(
    natural: np.ndarray, colorized: np.ndarray, sources: Sequence[str], threshold: float | None = None
) -> dict[str, Any]:
    """Overall and per-source metrics of P(colorized) scores at ``threshold`` (default: the
    lowest-HTER threshold on these scores, returned as ``threshold``)."""
    if threshold is None:
        labels = np.concatenate((np.zeros(len(natural), int), np.ones(len(colorized), int)))
        threshold = choose_threshold(np.concatenate((natural, colorized)), labels)
    overall, per = by_source(natural, colorized, sources, threshold)
    return {"threshold": threshold, "overall": overall, "per_colorizer": per}


def validate_pairs(model: torch.nn.Module, val: PairSet, mode: str = "resize") -> dict[str, Any] | None:
    """:func:`validation_metrics` with the threshold chosen on them, or None without both classes."""
    return validation_metrics(model, val, mode=mode) if val.natural and val.colorized else None


def sgd(parameters: Iterable[torch.nn.Parameter], lr: float, recipe: Any) -> torch.optim.SGD:
    """SGD at ``lr`` with the recipe's momentum and weight decay (the paper's: 0.9 and 1e-4)."""
    return torch.optim.SGD(parameters, lr=lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)


def step_lr(base: float, step: int, epoch: int) -> float:
    """The rate for (0-based) ``epoch`` of a schedule starting at ``base``, ÷10 every ``step`` epochs (0: never)."""
    return base * (0.1 ** (epoch // step) if step > 0 else 1.0)


def scheduled_lr(recipe: DetectorRecipe, epoch: int) -> float:
    """The recipe's rate for (0-based) ``epoch``."""
    return step_lr(recipe.lr, recipe.lr_step, epoch)


def create_detector(recipe: Any) -> torch.nn.Module:
    """The untrained ``recipe.model``, with ``--frozen-stages`` applied (detectors on a pretrained encoder)."""
    if recipe.frozen_stages is None:
        return create_model(recipe.model)
    if not hasattr(get_spec(recipe.model).config, "frozen_stages"):
        raise UsageError(
            f"--frozen-stages applies to detectors on a pretrained encoder (litenet.*), not {recipe.model}"
        )
    try:
        return create_model(recipe.model, frozen_stages=recipe.frozen_stages)
    except ValueError as error:
        raise UsageError(f"--frozen-stages: {error}") from None


def validation_entry(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """The validation fields of a training log line (none without validation metrics)."""
    if metrics is None:
        return {}
    overall = metrics["overall"]
    return {
        "threshold": metrics["threshold"],
        "val_hter": overall["hter"],
        "val_auc": overall["roc_auc"],
        "val_natural_miss": overall["natural_miss_rate"],
        "val_colorized_miss": overall["colorized_miss_rate"],
    }


def detector_card(recipe: Any, spec: Any, data: DetectorData, state: dict[str, Any]) -> dict[str, Any]:
    """The card of a trained detector (a :class:`DetectorRecipe` or a recipe with the same fields, ``mode`` aside)."""
    return {
        "name": recipe.model,
        "arch": spec.arch,
        "preset": spec.preset,
        "task": spec.task,
        "classes": list(CLASSES),
        "mode": getattr(recipe, "mode", "resize"),  # the default mode of `cfx detect` for these weights
        **(
            {"pretrained": state["pretrained"]} if state.get("pretrained") else {}
        ),  # the ImageNet weights it started from
        "training": {
            **portable_detector_data(data.description),
            "recipe": portable_entries(asdict(recipe), Path(data.description["natural"]).resolve().parent),
            "epochs": state["epoch"],
            "samples_seen": state["samples"],
            "train_seconds": round(state["seconds"], 1),
        },
    }


def save_detector(
    model: torch.nn.Module, output: Path, card: dict[str, Any], metrics: dict[str, Any] | None, half: bool | None = None
) -> dict[str, Any]:
    """Weights + card with the validation threshold and metrics (:func:`validation_metrics`; 0.5 without)."""
    threshold = 0.5 if metrics is None else float(metrics["threshold"])
    summary_metrics = (
        {} if metrics is None else rounded({"val": metrics["overall"], "val_per_colorizer": metrics["per_colorizer"]})
    )
    recipe = card.get("training", {}).get("recipe", {})
    return save_model(
        model,
        output,
        {**card, "threshold": threshold, "metrics": summary_metrics},
        half=bool(recipe.get("half")) if half is None else half,
    )
