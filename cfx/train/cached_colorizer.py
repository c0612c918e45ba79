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
Every epoch appends a JSON line to the log, writes a resumable checkpoint and the
weights with their card; ``time_limit_minutes`` ends the run after the epoch that crosses
it. The card sums CPU time and samples over both phases and every resumed session
(``--init`` of a previous phase's weights carries its totals).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch

from cfx.data.folder import ImageSet, load_folder, load_images, random_crop, source_weights
from cfx.errors import UsageError
from cfx.hint_simulation import simulate_hints
from cfx.progress import message, progress
from cfx.registry import create_model, get_spec
from cfx.train.checkpoint import checkpoint_tensors, load_checkpoint, save_checkpoint
from cfx.train.colorizer_parts import LOG_SCHEMA, colorizer_card, epoch_batches, lab_batch, validate
from cfx.train.common import emit_log, seeded, starting_weights, stored_tensors, training_autocast
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
    data: Path,
    output: Path,
    recipe: CachedRecipe,
    checkpoint: Path | None = None,
    resume: bool = False,
    log_path: Path | None = None,
    quiet: bool = False,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train ``recipe.model`` (a colorizer with ``lower``/``upper``/``decode``) on ``data``; returns the report.

    ``recipe.device`` as every trainer reads it (:func:`cfx.runner.select_device`): CUDA
    when present under ``auto``, and ``cuda`` without a GPU is refused before any work.
    The cache stays in CPU memory; each batch is moved to the device.
    """
    from cfx.runner import select_device

    device = select_device(recipe.device)
    spec = get_spec(recipe.model, "colorize")
    folder = load_folder(data, recipe.val_fraction, recipe.max_short_side, quiet=quiet)
    if len(folder.train) < 2:
        raise UsageError(f"{data}: {len(folder.train)} training images; at least 2 are needed")
    overrides = {k: v for k, v in (("loss", recipe.loss), ("dropout", recipe.dropout)) if v is not None}
    torch.manual_seed(recipe.seed)
    model = create_model(recipe.model, **overrides)
    if not hasattr(model, "lower"):
        raise UsageError(f"{recipe.model} has no frozen encoder to cache; train it without --phase")
    # Also when resuming: the cache is keyed by the encoder's weights, which the checkpoint
    # then overwrites with the same frozen lower stages.
    pretrained = starting_weights(model, recipe.init, "colorize", False, quiet)
    model = model.to(device)
    size = recipe.crop_size or model.train_size
    message(
        f"data: {len(folder.train)} train / {len(folder.val)} val images; {recipe.crops_per_image} crops of {size}² each; on {device}",
        quiet,
    )
    # Phase finetune reads only the lower stages' features, so a phase-frozen cache of the same
    # lower weights serves it too (its upper features are recomputed at every step).
    digests = [encoder_digest(model, phase) for phase in dict.fromkeys((recipe.phase, "frozen"))]
    weights = source_weights(folder.train.files, data / "train" if (data / "train").is_dir() else data)
    weights = weights if recipe.balance else None
    selection = load_images(recipe.select, recipe.max_short_side, quiet=quiet) if recipe.select else None

    def cache_for(seed: int) -> dict[str, torch.Tensor]:
        keys = [
            cache_key(recipe, folder.manifest_sha256, d, size, len(folder.train), seed, device.type) for d in digests
        ]
        return load_or_build_cache(model, folder.train, recipe, size, keys, quiet, seed, weights)

    cache_seed = round_seed(recipe, 0)
    cache = cache_for(cache_seed)
    count = len(cache["ab"])
    if not recipe.init:
        model.set_prior(model.prior_counts(cache["ab"].float().to(device)))
    optimizer = (
        torch.optim.AdamW(_parameter_groups(model, recipe), weight_decay=recipe.weight_decay)
        if recipe.weight_decay > 0
        else torch.optim.Adam(_parameter_groups(model, recipe))
    )
    checkpoint = checkpoint or output.with_name(output.name + ".ckpt")
    carried = _carried_totals(recipe.init)
    state: dict[str, Any] = {"epoch": 0, "samples": 0, "steps": 0, "seconds": 0.0, "log": [], "pretrained": pretrained}
    if resume and checkpoint.is_file():
        state = load_checkpoint(checkpoint, model, optimizer, None)
        message(f"resumed from {checkpoint} at epoch {state['epoch']}", quiet)
    average = WeightAverage(model, recipe.ema) if recipe.ema else None
    if average is not None and state["epoch"] > 0:
        average.restore(checkpoint_tensors(checkpoint))
    amp = training_autocast(device, recipe.precision)
    card: dict[str, Any] | None = None
    model.train()
    base_rates = [recipe.lr, recipe.encoder_lr][: len(optimizer.param_groups)]
    while state["epoch"] < recipe.epochs:
        if round_seed(recipe, state["epoch"]) != cache_seed:
            cache_seed = round_seed(recipe, state["epoch"])
            cache = None  # free the last round's features before building the next
            cache = cache_for(cache_seed)
            model.train()
        started = time.monotonic()
        for group, rate in zip(optimizer.param_groups, base_rates):
            group["lr"] = cosine_rate(rate, state["epoch"], recipe.epochs)
        batches = epoch_batches(count, recipe, state["epoch"], 1)
        running, trained = 0.0, 0
        with progress(f"epoch {state['epoch'] + 1} ({recipe.phase})", total=count, quiet=quiet) as bar:
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
                with amp:
                    if recipe.phase == "finetune":
                        s16, s32 = model.upper(s8.float())
                    head, _ = model.decode(s4.float(), s8.float(), s16.float(), s32.float(), hints)
                    loss, _ = model.head_loss(head, ab.float())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if average is not None:
                    average.update(model)
                running += loss.item() * len(batch)
                trained += len(batch)
                state["steps"] += 1
                bar.advance(len(batch))
        state["samples"] += trained
        state["epoch"] += 1
        state["seconds"] += time.monotonic() - started
        entry = {
            "schema": LOG_SCHEMA,
            "epoch": state["epoch"],
            "phase": recipe.phase,
            "train_loss": running / max(trained, 1),
            "samples": state["samples"],
            "seconds": round(state["seconds"], 1),
            "lr": optimizer.param_groups[0]["lr"],
        }
        # validation, selection and the weights written use the average when there is one
        with average.applied(model) if average is not None else contextlib.nullcontext():
            if len(folder.val):
                entry.update(validate(model, folder.val, size, 0.0, recipe.batch_size))
            if selection is not None and len(selection):
                scores = validate(model, selection, size, 0.0, recipe.batch_size)
                entry.update({f"select_{k.removeprefix('val_')}": v for k, v in scores.items()})
            state["log"].append(entry)
            emit_log(entry, log_path, quiet)
            if on_epoch:
                on_epoch(entry)
            improved = selection is None or entry.get("select_psnr", 0.0) > state.get("best_select_psnr", -1.0)
            if improved and selection is not None:
                state["best_select_psnr"] = entry["select_psnr"]
                state["best_epoch"] = state["epoch"]
            if improved:
                card = _save(model, output, recipe, spec, folder, data, size, state, carried, count)
        save_checkpoint(checkpoint, model, optimizer, None, state, average.tensors() if average is not None else None)
        if recipe.time_limit_minutes and state["seconds"] >= recipe.time_limit_minutes * 60:
            message(f"time limit reached after epoch {state['epoch']}", quiet)
            break
    if card is None:
        with average.applied(model) if average is not None else contextlib.nullcontext():
            card = _save(model, output, recipe, spec, folder, data, size, state, carried, count)
    return {**card, "schema": "cfx.train/1", "output": str(output), "checkpoint": str(checkpoint), "log": state["log"]}


def _save(
    model: Any,
    output: Path,
    recipe: CachedRecipe,
    spec: Any,
    folder: Any,
    data: Path,
    size: int,
    state: dict[str, Any],
    carried: dict[str, float],
    cached: int,
) -> dict[str, Any]:
    """The colorizer card, with the cache's size and the totals over every run behind ``--init``."""
    card = colorizer_card(recipe, spec, folder, data, size, state)
    card["classes"] = []  # no scene-class head
    card["training"]["cached_crops"] = cached
    if recipe.select:
        card["training"]["selected_epoch"] = state.get("best_epoch", state["epoch"])
        card["training"]["selected_on"] = Path(recipe.select).name
    card["training"]["total_samples_seen"] = int(carried["samples"] + state["samples"])
    card["training"]["total_train_seconds"] = round(carried["seconds"] + state["seconds"], 1)
    return save_model(model, output, card, half=recipe.half)
