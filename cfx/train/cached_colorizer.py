"""`cfx train colorizer` for colorizers on a pretrained encoder, in two phases that use a
CPU's time well (the recipe of fine-tuning a pretrained network in stages: train the new
layers on frozen features first, then unfreeze the upper pretrained layers at a lower rate,
as Larsson, Maire & Shakhnarovich 2016 §3 and DeOldify do).

- Phase ``frozen``: the whole encoder is frozen. ``crops_per_image`` augmented crops
  (random scale, position and horizontal flip) of every training photo go through it
  once; their stride-4…32 features and a*b* targets are cached in fp16 (in memory and
  under ``cache_dir``, keyed by everything they depend on), and the decoder trains on
  the cache at hundreds of samples per second instead of re-encoding every step.
- Phase ``finetune``: the stride-8 features are still read from the cache; the upper
  encoder stages (strides 16 and 32) train with the decoder, at ``encoder_lr``.

Photos unlike the corpus (a user's own) need more than one cache of crops: with
``recache_epochs`` the cache is rebuilt every that many epochs from fresh crops (another
seed), so the decoder sees new views instead of memorising one set; with ``balance`` the
photos are drawn with weights 1/√n of their package's n files, so no source dominates.
``select`` names a folder of photos from sources kept out of training (the corpus's
``unseen-select``): each epoch is scored there, and the weights written are those of the
best epoch so far (model selection and early stopping on photos never seen). With
``ema`` the weights validated, selected and written are a moving average of the steps'
(:mod:`cfx.train.weight_average`), which steadies the choice of epoch. A
hint-conditioned model (``hints`` in its config) trains with user points simulated from
the true a*b* (:mod:`cfx.hint_simulation`).

The rebalancing prior of the classification head is the a*b* histogram of all cached
targets (Zhang, Isola & Efros 2016 §2.2: estimated over the training set). Validation
runs the full model on centre crops of the validation photos (:func:`cfx.train.colorizer_parts.validate`).
The loop (:mod:`cfx.train.loop`) logs every epoch, writes a resumable checkpoint (with
the average) and the weights with their card, and stops at ``time_limit_minutes``. The card sums CPU time and samples over both phases and every resumed session
(``--init`` of a previous phase's weights carries its totals).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from pathlib import Path
from typing import Any, ContextManager, Unpack

import torch

from cfx.data.folder import ImageSet, load_folder, load_images, random_crop, source_weights
from cfx.errors import UsageError
from cfx.hint_simulation import simulate_hints
from cfx.progress import message, progress
from cfx.registry import create_model, get_spec
from cfx.train.checkpoint import checkpoint_tensors
from cfx.train.colorizer_parts import LOG_SCHEMA, colorizer_card, epoch_batches, lab_batch, validate
from cfx.train.common import optimizer_step, seeded, starting_weights, stored_tensors, training_autocast
from cfx.train.distributed import World, alone
from cfx.train.loop import Run, RunOptions, State, Trainer, fit
from cfx.train.recipes import CachedRecipe
from cfx.train.weight_average import WeightAverage
from cfx.weights import read_card, save_model

FEATURES = ("s4", "s8", "s16", "s32", "ab")


def cache_key(
    recipe: CachedRecipe,
    folder_digest: str | None,
    encoder_digest: str,
    size: int,
    files: int,
    seed: int,
    device_type: str = "cpu",
) -> str:
    """What the cached features depend on (features computed on a GPU, where ``auto``
    precision is bf16, get keys of their own; the CPU's keys are those of earlier versions)."""
    parts = [  # not the model's name: the features depend only on the encoder's weights (encoder_digest)
        recipe.precision,
        str(recipe.crops_per_image),
        str(size),
        str(recipe.min_scale),
        str(seed),
        "balanced" if recipe.balance else "",
        str(recipe.max_short_side),
        str(folder_digest),
        encoder_digest,
        str(files),
    ]
    if device_type != "cpu":
        parts.append(device_type)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def encoder_digest(model: torch.nn.Module, phase: str) -> str:
    """Of the encoder weights whose features are read from the cache (the lower stages; all in phase frozen)."""
    digest = hashlib.sha256()
    lower = ("stem.",) + tuple(f"stages.{i}." for i in range(model.config.frozen_stages))
    for key, value in sorted(model.encoder.state_dict().items()):
        if phase == "finetune" and not key.startswith(lower):
            continue
        digest.update(key.encode())
        digest.update(value.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def crop_jobs(images: ImageSet, recipe: CachedRecipe, seed: int, weights: list[float] | None) -> list[tuple[int, int]]:
    """(crop number, photo index) of the ``crops_per_image`` × photos crops of one cache:
    every photo that many times, or photos drawn by ``weights`` (with replacement)."""
    count = recipe.crops_per_image * len(images)
    if weights is None:
        return [(k, i) for k in range(recipe.crops_per_image) for i in range(len(images))]
    drawn = torch.multinomial(torch.tensor(weights), count, replacement=True, generator=seeded(seed, 31337))
    return [(k, int(i)) for k, i in enumerate(drawn.tolist())]


@torch.no_grad()
def build_cache(
    model: Any,
    images: ImageSet,
    recipe: CachedRecipe,
    size: int,
    quiet: bool,
    seed: int | None = None,
    weights: list[float] | None = None,
) -> dict[str, torch.Tensor]:
    """Encoder features (fp16) and a*b* targets at stride 4 of ``crops_per_image`` crops per
    photo, computed on the model's device and kept on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    seed = recipe.seed if seed is None else seed
    chunks: dict[str, list[torch.Tensor]] = {k: [] for k in FEATURES}
    jobs = crop_jobs(images, recipe, seed, weights)
    with progress("caching encoder features", total=len(jobs), quiet=quiet) as bar:
        for start in range(0, len(jobs), 32):
            batch = jobs[start : start + 32]
            rgb = torch.stack(
                [random_crop(images.images[i], size, seeded(seed, 7919 * k + 1, i), recipe.min_scale) for k, i in batch]
            )
            lightness, ab = lab_batch(rgb.to(device))
            with training_autocast(device, recipe.precision):
                s4, s8 = model.lower(lightness)
                s16, s32 = model.upper(s8)
            target = torch.nn.functional.interpolate(ab, size=s4.shape[-2:], mode="area")
            for key, value in zip(FEATURES, (s4, s8, s16, s32, target)):
                chunks[key].append(value.half().cpu())
            bar.advance(len(batch))
    model.train()
    return {k: torch.cat(v) for k, v in chunks.items()}


def load_or_build_cache(
    model: Any,
    images: ImageSet,
    recipe: CachedRecipe,
    size: int,
    keys: list[str],
    quiet: bool,
    seed: int | None = None,
    weights: list[float] | None = None,
) -> dict[str, torch.Tensor]:
    """The first cache file of ``keys`` that exists, else the features computed and saved under ``keys[0]``."""
    folder = Path(recipe.cache_dir) if recipe.cache_dir else None
    candidates = [folder / f"features-{key}.safetensors" for key in keys] if folder is not None else []
    return stored_tensors(candidates, lambda: build_cache(model, images, recipe, size, quiet, seed, weights), quiet)


def round_seed(recipe: CachedRecipe, epoch: int) -> int:
    """The crop seed of the cache that epoch ``epoch`` (0-based) trains on."""
    return recipe.seed + (1000 * (epoch // recipe.recache_epochs) if recipe.recache_epochs > 0 else 0)


def cosine_rate(rate: float, epoch: int, epochs: int) -> float:
    """The rate of epoch ``epoch`` (0-based) of ``epochs`` on a cosine from ``rate`` towards 0."""
    return rate * 0.5 * (1.0 + math.cos(math.pi * epoch / max(epochs, 1)))


def flip_rows(tensor: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """``tensor`` (N×C×H×W) with the samples where ``rows`` is true mirrored left-right."""
    out = tensor.clone()
    out[rows] = tensor[rows].flip(-1)
    return out


def _parameter_groups(model: Any, recipe: CachedRecipe) -> list[dict[str, Any]]:
    decoder = [p for name, p in model.named_parameters() if not name.startswith("encoder.") and p.requires_grad]
    groups = [{"params": decoder, "lr": recipe.lr}]
    if recipe.phase == "finetune":
        upper = [p for name, p in model.named_parameters() if name.startswith("encoder.") and p.requires_grad]
        groups.append({"params": upper, "lr": recipe.encoder_lr})
    else:
        for p in model.encoder.parameters():
            p.requires_grad_(False)
    return groups


def _carried_totals(init: str | None) -> dict[str, float]:
    """CPU seconds and samples of the run(s) behind ``--init`` (from its card)."""
    if not init:
        return {"seconds": 0.0, "samples": 0}
    training = read_card(Path(init)).get("training", {})
    return {
        "seconds": float(training.get("total_train_seconds", training.get("train_seconds", 0.0))),
        "samples": int(training.get("total_samples_seen", training.get("samples_seen", 0))),
    }


def train_cached_colorizer(
    data: Path, output: Path, recipe: CachedRecipe, **options: Unpack[RunOptions]
) -> dict[str, Any]:
    """Train ``recipe.model`` (a colorizer with ``lower``/``upper``/``decode``) on ``data``; returns the report.
    ``options``: the checkpoint, resume, log and quiet (:class:`cfx.train.loop.RunOptions`).

    ``recipe.device`` as every trainer reads it (:func:`cfx.runner.select_device`): CUDA
    when present under ``auto``, and ``cuda`` without a GPU is refused before any work.
    The cache stays in CPU memory; each batch is moved to the device.
    """
    world = alone(recipe.device)
    run = Run.of(output, world, **options)
    return fit(CachedColorizerTrainer(world, data, recipe, run), run)


class CachedColorizerTrainer(Trainer):
    """A colorizer's decoder (and, phase finetune, its upper encoder) trained on cached encoder features (one process)."""

    log_schema = LOG_SCHEMA

    def __init__(self, world: World, data: Path, recipe: CachedRecipe, run: Run) -> None:
        super().__init__(world, run, recipe.epochs, recipe.time_limit_minutes)
        self.data, self.recipe = data, recipe
        device, quiet = world.device, run.quiet
        self.spec = get_spec(recipe.model, "colorize")
        self.folder = folder = load_folder(data, recipe.val_fraction, recipe.max_short_side, quiet=quiet)
        if len(folder.train) < 2:
            raise UsageError(f"{data}: {len(folder.train)} training images; at least 2 are needed")
        overrides = {k: v for k, v in (("loss", recipe.loss), ("dropout", recipe.dropout)) if v is not None}
        torch.manual_seed(recipe.seed)
        model = create_model(recipe.model, **overrides)
        if not hasattr(model, "lower"):
            raise UsageError(f"{recipe.model} has no frozen encoder to cache; train it without --phase")
        # Also when resuming: the cache is keyed by the encoder's weights, which the checkpoint
        # then overwrites with the same frozen lower stages.
        self.pretrained = starting_weights(model, recipe.init, "colorize", False, quiet)
        self.model = model = model.to(device)
        self.size = size = recipe.crop_size or model.train_size
        message(
            f"data: {len(folder.train)} train / {len(folder.val)} val images; {recipe.crops_per_image} crops of {size}² each; on {device}",
            quiet,
        )
        # Phase finetune reads only the lower stages' features, so a phase-frozen cache of the same
        # lower weights serves it too (its upper features are recomputed at every step).
        self.digests = [encoder_digest(model, phase) for phase in dict.fromkeys((recipe.phase, "frozen"))]
        weights = source_weights(folder.train.files, data / "train" if (data / "train").is_dir() else data)
        self.weights = weights if recipe.balance else None
        self.selection = load_images(recipe.select, recipe.max_short_side, quiet=quiet) if recipe.select else None
        self.cache_seed = round_seed(recipe, 0)
        self.cache = self.cache_for(self.cache_seed)
        self.count = len(self.cache["ab"])
        if not recipe.init:
            model.set_prior(model.prior_counts(self.cache["ab"].float().to(device)))
        self.optimizer = (
            torch.optim.AdamW(_parameter_groups(model, recipe), weight_decay=recipe.weight_decay)
            if recipe.weight_decay > 0
            else torch.optim.Adam(_parameter_groups(model, recipe))
        )
        self.carried = _carried_totals(recipe.init)
        self.average = WeightAverage(model, recipe.ema) if recipe.ema else None
        self.amp = training_autocast(device, recipe.precision)
        self.base_rates = [recipe.lr, recipe.encoder_lr][: len(self.optimizer.param_groups)]
        model.train()

    def cache_for(self, seed: int) -> dict[str, torch.Tensor]:
        """The cache of crop seed ``seed``: read from ``cache_dir``, or built (and stored there)."""
        recipe, folder = self.recipe, self.folder
        keys = [
            cache_key(recipe, folder.manifest_sha256, d, self.size, len(folder.train), seed, self.world.device.type)
            for d in self.digests
        ]
        return load_or_build_cache(self.model, folder.train, recipe, self.size, keys, self.quiet, seed, self.weights)

    def own_state(self) -> State:
        return {"steps": 0, "pretrained": self.pretrained}

    def resumed(self, checkpoint: Path) -> None:
        if self.average is not None:
            self.average.restore(checkpoint_tensors(checkpoint))

    def checkpoint_tensors(self) -> dict[str, torch.Tensor] | None:
        return self.average.tensors() if self.average is not None else None

    def prepare_epoch(self, state: State) -> None:
        """A fresh cache every ``recache_epochs``; the rates of the epoch on the cosine."""
        if round_seed(self.recipe, state["epoch"]) != self.cache_seed:
            self.cache_seed = round_seed(self.recipe, state["epoch"])
            self.cache = {}  # free the last round's features before building the next
            self.cache = self.cache_for(self.cache_seed)
            self.model.train()
        for group, rate in zip(self.optimizer.param_groups, self.base_rates):
            group["lr"] = cosine_rate(rate, state["epoch"], self.recipe.epochs)

    def train_epoch(self, state: State) -> tuple[float, int]:
        recipe, model, device, cache = self.recipe, self.model, self.world.device, self.cache
        batches = epoch_batches(self.count, recipe, state["epoch"], 1)
        running, trained = 0.0, 0
        with progress(f"epoch {state['epoch'] + 1} ({recipe.phase})", total=self.count, quiet=self.quiet) as bar:
            for batch in batches:
                index = torch.tensor(batch)
                s4, s8, s16, s32, ab = (cache[k][index] for k in FEATURES)
                if recipe.flip:
                    flipped = (
                        torch.rand(len(batch), generator=seeded(recipe.seed, state["epoch"], state["steps"])) < 0.5
                    )
                    s4, s8, s16, s32, ab = (flip_rows(t, flipped) for t in (s4, s8, s16, s32, ab))
                hints = (
                    simulate_hints(ab.float(), seeded(recipe.seed, 17 * state["epoch"] + 5, state["steps"])).to(device)
                    if getattr(model.config, "hints", False)
                    else None
                )
                s4, s8, s16, s32, ab = (t.to(device) for t in (s4, s8, s16, s32, ab))
                with self.amp:
                    if recipe.phase == "finetune":
                        s16, s32 = model.upper(s8.float())
                    head, _ = model.decode(s4.float(), s8.float(), s16.float(), s32.float(), hints)
                    loss, _ = model.head_loss(head, ab.float())
                running += optimizer_step(self.optimizer, loss) * len(batch)
                if self.average is not None:
                    self.average.update(model)
                trained += len(batch)
                state["steps"] += 1
                bar.advance(len(batch))
        return running / max(trained, 1), trained

    def log_entry(self, state: State, loss: float, samples: int) -> dict[str, Any]:
        """The common log line with the phase, and no process count (one process)."""
        entry = super().log_entry(state, loss, samples)
        del entry["processes"]
        return {"schema": entry.pop("schema"), "epoch": entry.pop("epoch"), "phase": self.recipe.phase, **entry}

    def averaged(self) -> ContextManager[Any]:
        """The model with the weights that are validated, selected and written: the average's when there is one."""
        return self.average.applied(self.model) if self.average is not None else contextlib.nullcontext()

    def validate(self, state: State) -> dict[str, Any]:
        """Validation, and the scores on the never-seen photos of ``select`` as ``select_*``."""
        recipe, fields = self.recipe, {}
        with self.averaged():
            if len(self.folder.val):
                fields.update(validate(self.model, self.folder.val, self.size, 0.0, recipe.batch_size))
            if self.selection is not None and len(self.selection):
                scores = validate(self.model, self.selection, self.size, 0.0, recipe.batch_size)
                fields.update({f"select_{k.removeprefix('val_')}": v for k, v in scores.items()})
        return fields

    def save(self, state: State, final: bool) -> dict[str, Any] | None:
        """The weights and card; with ``select``, only when the epoch scores best there so far."""
        if not final and self.selection is not None:
            if not state["log"][-1].get("select_psnr", 0.0) > state.get("best_select_psnr", -1.0):
                return None
            state["best_select_psnr"] = state["log"][-1]["select_psnr"]
            state["best_epoch"] = state["epoch"]
        card = colorizer_card(self.recipe, self.spec, self.folder, self.data, self.size, state)
        card["classes"] = []  # no scene-class head
        training = card["training"]
        training["cached_crops"] = self.count
        if self.recipe.select:
            training["selected_epoch"] = state.get("best_epoch", state["epoch"])
            training["selected_on"] = Path(self.recipe.select).name
        training["total_samples_seen"] = int(self.carried["samples"] + state["samples"])
        training["total_train_seconds"] = round(self.carried["seconds"] + state["seconds"], 1)
        with self.averaged():
            return save_model(self.model, self.output, card, half=self.recipe.half)
