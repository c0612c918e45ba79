"""`cfx train detector --cache-dir`: a detector on a pretrained encoder (``litenet``) trained
on cached features of augmented views.

The training protocol is Quan et al. (2019), §IV-A (balanced minibatches of natural and
colorized images, cross-entropy, SGD with momentum; the threshold of lowest validation HTER).
The network is an ImageNet-pretrained EfficientNet-Lite (Tan & Le 2019, §4) fine-tuned in
stages, as detectors that must generalize to manipulations they never saw are made (the top
entries of the Deepfake Detection Challenge; Dolhansky et al. 2020): the lower encoder stays
at its ImageNet weights (``frozen_stages``, the *cut*), so its output for every image is
computed once and stored (fp16, one file per image set under ``cache_dir``; a later run
that leaves a set out, or adds one, reuses the others), and each step trains only the
layers above the cut.

What the detector sees is made to remove the easy cues that do not carry from one
colouring method to another: besides the test-time view (the whole image resized to the
input size, as `cfx detect` does), each image gets ``views − 1`` augmented views, each a
random crop (60–100 % of each side) at native resolution, rescaled by 0.5–1, passed
through a JPEG round trip at quality 50–95 (three views in four) and then resized. With
``launder`` the views are laundered as a copy found online is: rescaled by 0.25–1, JPEG at
quality 40–95 (three in four), and one in three of those compressed again at another quality. A
natural image and every colorized version of it get the same crop, scale and quality, so
the only difference left between the two classes is the colour. Horizontal flips are
applied to the cached features.

Validation scores the test-time view of the validation split; the per-source HTER and ROC
AUC go to the log and the card as in :mod:`cfx.train.detector`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, Unpack

import numpy as np
import torch
import torch.nn.functional as F

from cfx.data.pairs import PairSet
from cfx.detect import model_input
from cfx.errors import UsageError
from cfx.imageio import jpeg_roundtrip
from cfx.labels import COLORIZED_INDEX, NATURAL_INDEX
from cfx.progress import message, progress
from cfx.registry import get_spec
from cfx.train.common import optimizer_step, seeded, set_lr, starting_weights, stored_tensors, training_autocast
from cfx.train.detector_parts import (
    LOG_SCHEMA,
    PairSources,
    balanced_batches,
    create_detector,
    detector_card,
    metrics_from_scores,
    save_detector,
    sgd,
    step_lr,
    validation_entry,
)
from cfx.train.distributed import World, alone
from cfx.train.loop import Run, RunOptions, State, Trainer, fit
from cfx.train.recipes import CachedDetectorRecipe

MIN_SIDE = 32  # augmented views are not rescaled below this short side


@dataclass(frozen=True)
class Augmentation:
    """How an augmented view is made (see the module docstring)."""

    min_crop: float = 0.6  # of each side
    min_scale: float = 0.5
    jpeg_qualities: tuple[int, int] = (50, 95)
    jpeg_share: float = 0.75  # views with a JPEG round trip
    twice: float = 0.0  # of those, the share compressed a second time (at another quality)
    tag: str = "aug1"  # in the cache key

    def describe(self, recipe: CachedDetectorRecipe) -> dict[str, Any]:
        """The card's ``augmentation`` entry."""
        entry = {
            "views": recipe.views,
            "crop_side": [self.min_crop, 1.0],
            "scale": [self.min_scale, 1.0],
            "jpeg_quality": list(self.jpeg_qualities),
            "jpeg_share": self.jpeg_share,
            "flip": recipe.flip,
        }
        return {**entry, "jpeg_twice": self.twice} if self.twice else entry


PLAIN = Augmentation()
LAUNDERED = Augmentation(min_scale=0.25, jpeg_qualities=(40, 95), twice=1 / 3, tag="launder1")


def augmentation(recipe: CachedDetectorRecipe) -> Augmentation:
    return LAUNDERED if recipe.launder else PLAIN


# ---------------------------------------------------------------- views


def augment(image: torch.Tensor, generator: torch.Generator, how: Augmentation = PLAIN) -> torch.Tensor:
    """One augmented view of a uint8 3×H×W image (see the module docstring), uint8 3×h×w at native scale."""
    _, h, w = image.shape
    draws = torch.rand(6, generator=generator).tolist()
    ch = max(1, round(h * (how.min_crop + (1 - how.min_crop) * draws[0])))
    cw = max(1, round(w * (how.min_crop + (1 - how.min_crop) * draws[1])))
    top, left = int(draws[2] * (h - ch + 1)), int(draws[3] * (w - cw + 1))
    crop = image[:, top : top + ch, left : left + cw]
    scale = max(how.min_scale + (1 - how.min_scale) * draws[4], min(1.0, MIN_SIDE / max(1, min(ch, cw))))
    if scale < 1.0:
        size = (max(1, round(ch * scale)), max(1, round(cw * scale)))
        crop = F.interpolate(crop[None].float(), size=size, mode="bilinear", antialias=True, align_corners=False)[0]
        crop = crop.round().clamp(0, 255).to(torch.uint8)
    if draws[5] < how.jpeg_share:
        low, high = how.jpeg_qualities
        quality = low + int(torch.randint(0, high - low + 1, (1,), generator=generator))
        crop = jpeg(crop, quality)
        if how.twice and float(torch.rand(1, generator=generator)) < how.twice:
            crop = jpeg(crop, low + int(torch.randint(0, high - low + 1, (1,), generator=generator)))
    return crop


def jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """A uint8 3×H×W image after a JPEG round trip at ``quality``, encoded as `cfx colorize` writes JPEGs."""
    rgb = image.permute(1, 2, 0).numpy().astype(np.float32) / 255.0
    return torch.from_numpy(jpeg_roundtrip(rgb, quality)).permute(2, 0, 1).contiguous()


def view(image: torch.Tensor, k: int, photo: int, recipe: CachedDetectorRecipe, size: int) -> torch.Tensor:
    """View ``k`` of an image of photo ``photo`` as the detector's input (3×S×S in [-1, 1]):
    view 0 is the test-time resize; the others are augmented, alike for every image of the photo."""
    if k > 0:
        image = augment(image, seeded(recipe.seed, 7919 * k + 1, photo), augmentation(recipe))
    return model_input(image[None], size)[0]


# ---------------------------------------------------------------- the cache


def cut_digest(model: Any, cut: int) -> str:
    """Of the weights below the cut (the ones whose output is cached)."""
    digest = hashlib.sha256(str(cut).encode())
    for module in model.frozen_modules(cut):
        for key, value in sorted(module.state_dict().items()):
            digest.update(key.encode())
            digest.update(value.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def set_key(images: Sequence[torch.Tensor], photos: Sequence[int], views: int, common: str) -> str:
    """What the cached features of one image set depend on: its pixels, the photos they
    show (the augmentation's seeds), the views and ``common`` (model, cut, recipe)."""
    digest = hashlib.sha256(f"{common}|{views}".encode())
    for image, photo in zip(images, photos):
        digest.update(f"{photo}:{tuple(image.shape)}".encode())
        digest.update(image.numpy().tobytes())
    return digest.hexdigest()[:20]


Features = dict[str, torch.Tensor]  # "features" (the cut's input) and, with a side branch below the cut, "side"


@torch.no_grad()
def encode_set(
    model: Any,
    images: Sequence[torch.Tensor],
    photos: Sequence[int],
    views: int,
    recipe: CachedDetectorRecipe,
    label: str,
    quiet: bool,
) -> Features:
    """The lower encoder's outputs (fp16, images × views × C × h × w) for every view of every image."""
    model.eval()
    device = _device_of(model)
    cut, size, batch = recipe.frozen_stages, model.input_size, 32
    jobs = [(i, k) for i in range(len(images)) for k in range(views)]
    chunks: dict[str, list[torch.Tensor]] = {}
    with progress(f"caching {label}", total=len(jobs), quiet=quiet) as bar:
        for start in range(0, len(jobs), batch):
            part = jobs[start : start + batch]
            x = torch.stack([view(images[i], k, photos[i], recipe, size) for i, k in part]).to(device)
            with training_autocast(x.device, recipe.precision):
                features, side = model.lower(x.contiguous(memory_format=torch.channels_last), cut)
            for key, value in (("features", features), ("side", side)):
                if value is not None:
                    chunks.setdefault(key, []).append(value.half().cpu())
            bar.advance(len(part))
    model.train()
    return {k: torch.cat(v).reshape(len(images), views, *v[0].shape[1:]) for k, v in chunks.items()}


def cached_set(
    model: Any,
    images: Sequence[torch.Tensor],
    photos: Sequence[int],
    views: int,
    recipe: CachedDetectorRecipe,
    common: str,
    label: str,
    quiet: bool,
) -> Features:
    """:func:`encode_set`, read from ``recipe.cache_dir`` when an earlier run stored it (and stored there otherwise)."""
    key = set_key(images, photos, views, common)
    candidates = [Path(recipe.cache_dir) / f"detector-{key}.safetensors"] if recipe.cache_dir else []
    return stored_tensors(
        candidates, lambda: encode_set(model, images, photos, views, recipe, label, quiet), quiet, f"{label}: "
    )


@dataclass
class FeatureSet:
    """Cached features of one split: naturals (N × views × …) and colorized (M × views × …) with their sources."""

    natural: Features
    colorized: Features
    sources: list[str]

    def counts(self) -> tuple[int, int]:
        """(natural images, colorized images)."""
        return len(self.natural["features"]), len(self.sources)


def cache_split(
    model: Any, pairs: PairSet, views: int, recipe: CachedDetectorRecipe, common: str, split: str, quiet: bool
) -> FeatureSet:
    """Every image of a split, one cache file per source (the naturals, then each colorizer or folder)."""
    photo_of = {j: i for i, j in pairs.pairs}
    natural = cached_set(
        model, pairs.natural, list(range(len(pairs.natural))), views, recipe, common, f"{split} natural", quiet
    )
    parts: list[Features] = []
    sources: list[str] = []
    for name in dict.fromkeys(pairs.sources):
        members = [j for j, source in enumerate(pairs.sources) if source == name]
        images = [pairs.colorized[j] for j in members]
        photos = [photo_of[j] for j in members]
        parts.append(cached_set(model, images, photos, views, recipe, common, f"{split} {name}", quiet))
        sources += [name] * len(members)
    colorized = {k: torch.cat([part[k] for part in parts]) if parts else v[:0] for k, v in natural.items()}
    return FeatureSet(natural, colorized, sources)


def _device_of(model: Any) -> torch.device:
    return next(model.parameters()).device


def _rows(features: Features, index: Sequence[int] | slice, view: int | None = None) -> list[torch.Tensor | None]:
    """(features, side) of the given images (every view flattened, or one ``view``), as fp32."""
    rows = []
    for key in ("features", "side"):
        t = features.get(key)
        if t is not None:
            t = (t.flatten(0, 1) if view is None else t[:, view])[index].float()
            t = t.contiguous(memory_format=torch.channels_last)
        rows.append(t)
    return rows


# ---------------------------------------------------------------- training


def train_cached_epoch(
    model: Any,
    optimizer: torch.optim.Optimizer,
    train: FeatureSet,
    recipe: CachedDetectorRecipe,
    generator: torch.Generator,
    label: str,
    quiet: bool,
) -> tuple[float, int]:
    """One epoch of balanced minibatches over every cached view; returns (mean loss, samples)."""
    cut, half = recipe.frozen_stages, max(1, recipe.batch_size // 2)
    natural, colorized = train.counts()
    batches = balanced_batches(natural * recipe.views, colorized * recipe.views, half, generator)
    running, seen = 0.0, 0
    model.train()
    device = _device_of(model)
    amp = training_autocast(device, recipe.precision)
    with progress(label, total=len(batches) * 2 * half, quiet=quiet) as bar:
        for nat_idx, col_idx in batches:
            x, side = (
                None if a is None else torch.cat((a, b))
                for a, b in zip(_rows(train.natural, nat_idx), _rows(train.colorized, col_idx))
            )
            y = torch.tensor([NATURAL_INDEX] * len(nat_idx) + [COLORIZED_INDEX] * len(col_idx))
            if recipe.flip:
                rows = (torch.rand(len(y), generator=generator) < 0.5)[:, None, None, None]
                x = torch.where(rows, x.flip(-1), x)
                side = None if side is None else torch.where(rows, side.flip(-1), side)
            x, y = x.to(device), y.to(device)
            side = None if side is None else side.to(device)
            with amp:
                logits = model.upper(x, side, cut)
            running += optimizer_step(optimizer, F.cross_entropy(logits.float(), y)) * len(y)
            seen += len(y)
            bar.advance(len(y))
    return running / max(seen, 1), seen


@torch.no_grad()
def cached_scores(model: Any, features: Features, cut: int, batch: int = 256) -> np.ndarray:
    """P(colorized) of the test-time view (view 0) of cached images."""
    was_training = model.training
    model.eval()
    scores = []
    for start in range(0, len(features["features"]), batch):
        rows = [
            None if t is None else t.to(_device_of(model)) for t in _rows(features, slice(start, start + batch), view=0)
        ]
        logits = model.upper(*rows, cut)
        scores.append(torch.softmax(logits.float(), dim=1)[:, COLORIZED_INDEX].cpu())
    model.train(was_training)
    return torch.cat(scores).numpy() if scores else np.zeros(0, dtype=np.float32)


def cached_validation(model: Any, val: FeatureSet, cut: int) -> dict[str, Any] | None:
    """The validation metrics of :func:`cfx.train.detector_parts.validation_metrics`, from cached features."""
    if not all(val.counts()):
        return None
    return metrics_from_scores(
        cached_scores(model, val.natural, cut), cached_scores(model, val.colorized, cut), val.sources
    )


def _create(recipe: CachedDetectorRecipe) -> Any:
    if not hasattr(get_spec(recipe.model, "detect").config, "frozen_stages"):
        raise UsageError(f"--cache-dir applies to detectors on a pretrained encoder (litenet.*), not {recipe.model}")
    if recipe.frozen_stages < 1:
        raise UsageError(
            "--cache-dir needs at least one frozen stage (--frozen-stages 1..8): its output is what is cached"
        )
    return create_detector(recipe)


def train_cached_detector(
    sources: PairSources, output: Path, recipe: CachedDetectorRecipe, **options: Unpack[RunOptions]
) -> dict[str, Any]:
    """Train ``recipe.model`` above its cut on cached features of the pairs of ``sources``;
    returns the report (``cfx.train/1``). ``options``: the checkpoint, resume, log and quiet
    (:class:`cfx.train.loop.RunOptions`).

    ``recipe.device`` as every trainer reads it (:func:`cfx.runner.select_device`): CUDA
    when present under ``auto``, and ``cuda`` without a GPU is refused before any work.
    """
    world = alone(recipe.device)
    run = Run.of(output, world, **options)
    return fit(CachedDetectorTrainer(world, sources, recipe, run), run)


class CachedDetectorTrainer(Trainer):
    """A detector trained above its cut on the cached features of every view of every image (one process)."""

    log_schema = LOG_SCHEMA

    def __init__(self, world: World, sources: PairSources, recipe: CachedDetectorRecipe, run: Run) -> None:
        super().__init__(world, run, recipe.epochs, recipe.time_limit_minutes)
        self.recipe = recipe
        self.spec = get_spec(recipe.model, "detect")
        torch.manual_seed(recipe.seed)
        model = _create(recipe)
        self.pretrained = starting_weights(model, recipe.init, "detect", run.resuming, run.quiet)
        self.model = model = model.to(world.device, memory_format=torch.channels_last)
        # native images ("patch"): the views are made from them
        self.data = data = sources.load(world, model.input_size, recipe, run.quiet, "patch")
        common = "|".join(
            map(
                str,
                (
                    recipe.model,
                    cut_digest(model, recipe.frozen_stages),
                    model.input_size,
                    recipe.seed,
                    augmentation(recipe).tag,
                ),
            )
        )
        self.train = cache_split(model, data.train, recipe.views, recipe, common, "train", run.quiet)
        self.val = cache_split(model, data.val, 1, recipe, common, "val", run.quiet)
        message(
            f"cached: {self.train.counts()[0]} natural and {self.train.counts()[1]} colorized training images × {recipe.views} views",
            run.quiet,
        )
        self.optimizer = sgd([p for p in model.parameters() if p.requires_grad], recipe.lr, recipe)
        self.metrics: dict[str, Any] | None = None

    def own_state(self) -> State:
        return {"pretrained": self.pretrained}

    def prepare_epoch(self, state: State) -> None:
        set_lr(self.optimizer, step_lr(self.recipe.lr, self.recipe.lr_step, state["epoch"]))

    def train_epoch(self, state: State) -> tuple[float, int]:
        recipe = self.recipe
        generator = seeded(recipe.seed, state["epoch"])
        label = f"epoch {state['epoch'] + 1}/{recipe.epochs}"
        return train_cached_epoch(self.model, self.optimizer, self.train, recipe, generator, label, self.quiet)

    def validate(self, state: State) -> dict[str, Any]:
        self.metrics = cached_validation(self.model, self.val, self.recipe.frozen_stages)
        return validation_entry(self.metrics)

    def save(self, state: State, final: bool) -> dict[str, Any]:
        """The weights and card, with the threshold of the last validation (``final``: validated now)."""
        metrics = cached_validation(self.model, self.val, self.recipe.frozen_stages) if final else self.metrics
        return save_detector(self.model, self.output, self.card(state), metrics, half=self.recipe.half)

    def card(self, state: State) -> dict[str, Any]:
        """The detector card with the views, their augmentation and how many were cached."""
        recipe = self.recipe
        card = detector_card(recipe, self.spec, self.data, state)
        natural, colorized = self.train.counts()
        card["training"].update(
            mode="resize",  # trained and validated on whole images resized to the input (plus augmented views)
            trainer="cached",
            augmentation=augmentation(recipe).describe(recipe),
            cached_views={"natural": natural * recipe.views, "colorized": colorized * recipe.views},
        )
        return card
