"""The recipes of the colorizer trainers and of the cached detector trainer: every
training default is stated here, once.

`cfx train colorizer` builds a recipe from the options the user gave and nothing else,
so a default lives only in these dataclasses (and ``--help`` shows them from here). An
option that a recipe has no field for is refused for that trainer (:func:`recipe_from`).
No torch here: the CLI imports this module to describe its options.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from cfx.errors import UsageError

TRAIN_PRECISIONS = ("auto", "fp32", "bf16")
PHASES = ("frozen", "finetune")


def check_precision(precision: str) -> None:
    """A recipe's precision must be one of :data:`TRAIN_PRECISIONS` (checked before any data is loaded)."""
    if precision not in TRAIN_PRECISIONS:
        raise UsageError(f"unknown training precision {precision!r} (--precision {', '.join(TRAIN_PRECISIONS)})")


class PrecisionChecked:
    """Base of the training recipes (dataclasses with a ``precision`` field): the precision
    is checked when the recipe is made, before any data is loaded."""

    precision: str

    def __post_init__(self) -> None:
        check_precision(self.precision)


@dataclass
class ColorizerRecipe(PrecisionChecked):
    """`cfx train colorizer` of a colorizer trained end to end (:mod:`cfx.train.colorizer`)."""

    model: str = "iizuka.compact"
    epochs: int = 10
    batch_size: int = 32
    crop_size: int = 0  # 0: the model's train_size (iizuka: its global input, sharing the low-level pass, §3.6)
    optimizer: str = "adam"  # "adam" or "adadelta" (the paper)
    lr: float = 1e-3  # Adam's; ADADELTA uses 1.0
    alpha: float = 1.0 / 300.0  # weight of the classification loss (Eq. 6)
    val_fraction: float = 0.1
    seed: int = 0
    max_short_side: int = 256
    min_scale: float = 0.3
    time_limit_minutes: float = 0.0  # 0: no limit; else stop after the epoch that crosses it
    half: bool = False  # store the weights in fp16 (shipped files stay under 16 MiB)
    device: str = "auto"  # auto, cpu, cuda, cuda:N (under torchrun: one GPU per process)
    init: str | None = None  # weights file to start from (fine-tuning); tensors whose shapes differ stay fresh
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on the CPU), fp32 or bf16 (see training_autocast)


@dataclass
class CachedRecipe(PrecisionChecked):
    """`cfx train colorizer` of a colorizer on a pretrained encoder, trained on cached
    encoder features (:mod:`cfx.train.cached_colorizer`)."""

    model: str = "unet.lite0"
    phase: str = "frozen"  # frozen (decoder on cached features) or finetune (+ upper encoder stages)
    loss: str | None = None  # override the preset's loss: classification, regression or both
    epochs: int = 10
    batch_size: int = 32
    crops_per_image: int = 5
    crop_size: int = 0  # 0: the model's train_size
    min_scale: float = 0.4
    lr: float = 1e-3  # the decoder's (Adam), decayed to 0 over ``epochs`` on a cosine
    encoder_lr: float = 1e-4  # the upper encoder's, phase finetune (same schedule)
    dropout: float | None = None  # override the preset's feature dropout
    flip: bool = True  # flip half of each batch's cached features and targets left-right
    val_fraction: float = 0.1
    seed: int = 0
    max_short_side: int = 256
    time_limit_minutes: float = 0.0
    half: bool = False  # store the weights in fp16 (the shipped unet.lite0 was trained with --half)
    device: str = "auto"  # auto (CUDA when present), cpu, cuda or cuda:N
    init: str | None = None  # weights of a previous phase or session to start from
    cache_dir: str | None = None
    precision: str = "auto"
    recache_epochs: int = 0  # > 0: fresh crops (a new seed) every this many epochs
    balance: bool = False  # draw photos with weight 1/sqrt(files of their package)
    select: str | None = None  # folder of never-seen photos: keep the epoch that scores best there
    weight_decay: float = 0.0  # decoupled (AdamW) weight decay
    ema: float = 0.0  # > 0: decay per step of an average of the weights, which is validated and written

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.ema < 1.0:
            raise UsageError(f"--ema is a decay per step in [0, 1), got {self.ema}")
        if self.phase not in PHASES:
            raise UsageError(f"unknown phase {self.phase!r} (--phase {' or '.join(PHASES)})")


DEFAULT_CUT = 7  # frozen_stages of the cached detector trainer: everything below the last MBConv stage


@dataclass
class CachedDetectorRecipe(PrecisionChecked):
    """`cfx train detector --cache-dir`: a detector on a pretrained encoder trained above
    its cut on cached features (:mod:`cfx.train.cached_detector`)."""

    model: str = "litenet.lite0-ms"
    epochs: int = 3
    lr: float = 1e-2
    lr_step: int = 0  # divide the rate by 10 every lr_step epochs (0: never)
    momentum: float = 0.9
    weight_decay: float = 1e-4
    batch_size: int = 64  # half natural, half colorized
    views: int = 2  # per image: the test-time view + views − 1 augmented ones
    launder: bool = False  # augmented views as copies found online: rescaled 0.25–1, JPEG q40–95, some twice
    frozen_stages: int = DEFAULT_CUT  # the cut: layers below it are cached
    val_fraction: float = 0.1
    seed: int = 0
    flip: bool = True
    max_short_side: int = 256
    time_limit_minutes: float = 0.0
    half: bool = False
    device: str = "auto"  # auto (CUDA when present), cpu, cuda or cuda:N; the cache stays in CPU memory
    init: str | None = None
    cache_dir: str | None = None
    precision: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.views < 1:
            raise UsageError(f"--views must be at least 1, got {self.views}")


def field_names(recipe: type) -> set[str]:
    """The fields of a recipe dataclass."""
    return {f.name for f in fields(recipe)}


def default_of(recipe: type, name: str) -> Any:
    """The default of field ``name`` of a recipe dataclass (what the trainer uses when the option is not given)."""
    return next(f.default for f in fields(recipe) if f.name == name)


def recipe_from(recipe: type, given: dict[str, tuple[str, Any]], trainer: str) -> Any:
    """``recipe`` made from the options a user gave and nothing else (its own defaults for
    the rest). ``given`` maps a field name to (the option's name, its value); an option
    that ``recipe`` has no field for would be silently dropped by ``trainer``: it is a
    usage error naming the option and the trainer."""
    names = field_names(recipe)
    unused = [option for name, (option, _) in given.items() if name not in names]
    if unused:
        them = "them" if len(unused) > 1 else "it"
        raise UsageError(f"{', '.join(unused)}: not used by {trainer}; drop {them}")
    return recipe(**{name: value for name, (_, value) in given.items()})
