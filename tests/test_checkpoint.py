"""Tests for cfx.train.checkpoint and cfx.train.colorizer: safetensors checkpoints
restore everything, training writes weights + card + JSON log, and resuming is
bit-for-bit the same as training straight through."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cfx.registry import create_model
from cfx.train.checkpoint import load_checkpoint, save_checkpoint
from cfx.train.colorizer import ColorizerRecipe, train_colorizer
from cfx.train.colorizer_parts import LOG_SCHEMA
from cfx.train.loop import REPORT_SCHEMA
from cfx.weights import CARD_SCHEMA, card_path, load_model, sha256_file

NAME = "iizuka.tiny"
CLASSES = ("cool", "warm")
PER_CLASS = 6
VAL_FRACTION = 0.25  # puts cool/img_02.png in the validation split (split by path hash)


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch):
    """train_colorizer sets torch's threads to os.cpu_count(); the test machine's cores
    are shared, and oversubscribed OpenMP threads make tiny convolutions far slower."""
    threads = torch.get_num_threads()
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _smooth_image(rng: np.random.Generator, warm: bool) -> Image.Image:
    """48×48 RGB: a random 3×3 colour grid upsampled bicubically, tinted by class."""
    grid = rng.uniform(0, 255, size=(3, 3, 3))
    if warm:
        grid[..., 0] = 0.5 * grid[..., 0] + 127
        grid[..., 2] *= 0.5
    else:
        grid[..., 2] = 0.5 * grid[..., 2] + 127
        grid[..., 0] *= 0.5
    small = Image.fromarray(grid.astype(np.uint8), "RGB")
    return small.resize((48, 48), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for label in CLASSES:
        (root / label).mkdir()
        for i in range(PER_CLASS):
            _smooth_image(rng, warm=label == "warm").save(root / label / f"img_{i:02d}.png")
    return root


def _recipe(**changes) -> ColorizerRecipe:
    values = dict(model=NAME, epochs=2, batch_size=4, val_fraction=VAL_FRACTION, seed=0)
    values.update(changes)
    return ColorizerRecipe(**values)


def _state(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


# ---------------------------------------------------------------- checkpoint round trip


def _step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> torch.Tensor:
    x = torch.rand(2, 1, 32, 32, generator=generator)
    noise = torch.randn(2, 2, 16, 16)  # from the global RNG
    ab, logits = model(x)
    loss = ((ab - 0.5 - 0.1 * noise) ** 2).mean() + logits.square().mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()


@pytest.mark.parametrize("optimizer_name", ["adam", "adadelta"])
def test_checkpoint_restores_model_optimizer_and_rngs(tmp_path: Path, optimizer_name: str) -> None:
    def fresh():
        torch.manual_seed(0)
        model = create_model(NAME, num_classes=2).train()
        if optimizer_name == "adam":
            opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.8, 0.95))
        else:
            opt = torch.optim.Adadelta(model.parameters(), lr=1.0)
        return model, opt, torch.Generator().manual_seed(1)

    model, opt, gen = fresh()
    for _ in range(2):
        _step(model, opt, gen)
    path = tmp_path / "run.ckpt"
    progress = {"epoch": 2, "samples": 4, "log": [{"epoch": 1, "train_loss": 0.5}]}
    save_checkpoint(path, model, opt, gen, progress)
    # Continue the original run for two more steps.
    expected_losses = [_step(model, opt, gen) for _ in range(2)]
    expected_state = {k: v.clone() for k, v in model.state_dict().items()}

    # A fresh process-like start: new model, optimizer, generator and scrambled global RNG.
    model2, opt2, gen2 = fresh()
    torch.manual_seed(12345)
    assert load_checkpoint(path, model2, opt2, gen2) == progress
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    if optimizer_name == "adam":
        assert tuple(opt2.param_groups[0]["betas"]) == (0.8, 0.95)
    losses = [_step(model2, opt2, gen2) for _ in range(2)]
    assert all(torch.equal(a, b) for a, b in zip(losses, expected_losses))
    for key, value in model2.state_dict().items():
        assert torch.equal(value, expected_state[key]), key


def test_checkpoint_is_safetensors_with_json_metadata(tmp_path: Path) -> None:
    from safetensors import safe_open

    torch.manual_seed(0)
    model = create_model(NAME)
    opt = torch.optim.Adam(model.parameters())
    gen = torch.Generator().manual_seed(0)
    ab, _ = model(torch.rand(2, 1, 32, 32))
    ab.mean().backward()
    opt.step()
    path = tmp_path / "sub" / "x.ckpt"
    save_checkpoint(path, model, opt, gen, {"epoch": 1})
    assert path.is_file() and list(path.parent.iterdir()) == [path]
    with safe_open(str(path), framework="pt") as handle:
        keys = set(handle.keys())
        metadata = handle.metadata()
    assert {f"model.{k}" for k in model.state_dict()} <= keys
    assert {"rng.torch", "rng.generator"} <= keys
    assert any(k.startswith("optim.0.exp_avg") for k in keys)
    assert json.loads(metadata["progress"]) == {"epoch": 1}
    assert json.loads(metadata["param_groups"])[0]["lr"] == 1e-3


# ---------------------------------------------------------------- training


@pytest.fixture(scope="module")
def straight_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two epochs in one go (shared by several tests: training is the slow part)."""
    out = tmp_path_factory.mktemp("straight")
    epochs_seen: list[dict] = []
    mp = pytest.MonkeyPatch()
    mp.setattr(os, "cpu_count", lambda: 1)
    threads = torch.get_num_threads()
    try:
        report = train_colorizer(
            data_dir,
            out / f"{NAME}.safetensors",
            _recipe(),
            log_path=out / "log.jsonl",
            quiet=True,
            on_epoch=epochs_seen.append,
        )
    finally:
        mp.undo()
        torch.set_num_threads(threads)
    return {
        "dir": out,
        "report": report,
        "weights": out / f"{NAME}.safetensors",
        "log": out / "log.jsonl",
        "epochs_seen": epochs_seen,
    }


def test_train_writes_weights_and_card(straight_run: dict, data_dir: Path) -> None:
    weights = straight_run["weights"]
    assert weights.is_file() and card_path(weights).is_file()
    card = json.loads(card_path(weights).read_text())
    assert card["schema"] == CARD_SCHEMA
    assert card["name"] == NAME and card["arch"] == "iizuka" and card["preset"] == "tiny" and card["task"] == "colorize"
    assert card["sha256"] == sha256_file(weights)
    assert card["classes"] == list(CLASSES)
    assert card["config"]["num_classes"] == 2
    for key in ("val_psnr", "gray_psnr", "val_auc", "gray_auc", "val_loss", "colourfulness_ratio"):
        assert key in card["metrics"], key
        assert np.isfinite(card["metrics"][key])
    assert card["metrics"]["val_psnr"] > 5 and card["metrics"]["gray_psnr"] > 5
    assert 0 <= card["metrics"]["val_auc"] <= 1
    training = card["training"]
    assert training["train_images"] == 2 * PER_CLASS - 1 and training["val_images"] == 1
    assert training["epochs"] == 2
    assert training["samples_seen"] == 2 * training["train_images"] > 0
    assert training["steps"] == 2 * 3  # ceil(11 / 4) batches per epoch
    assert training["crop_size"] == 32  # the tiny preset's global_size
    assert training["recipe"]["model"] == NAME and training["recipe"]["epochs"] == 2
    assert training["data"] == {"manifest_sha256": None, "folder": f"{data_dir.name}/"}  # no absolute folder
    assert str(data_dir.parent) not in card_path(weights).read_text()
    # The trained weights load and colorize.
    model, _ = load_model(NAME, weights)
    with torch.inference_mode():
        ab, logits = model(torch.rand(1, 1, 48, 64))
    assert ab.shape == (1, 2, 24, 32) and logits.shape == (1, 2)


def test_train_report(straight_run: dict) -> None:
    report = straight_run["report"]
    assert report["schema"] == REPORT_SCHEMA
    assert report["output"] == str(straight_run["weights"])
    assert report["checkpoint"] == str(straight_run["weights"]) + ".ckpt"
    assert Path(report["checkpoint"]).is_file()
    assert [entry["epoch"] for entry in report["log"]] == [1, 2]
    assert straight_run["epochs_seen"] == report["log"]


def test_train_log_one_line_per_epoch(straight_run: dict) -> None:
    lines = straight_run["log"].read_text().splitlines()
    assert len(lines) == 2
    entries = [json.loads(line) for line in lines]
    assert [e["schema"] for e in entries] == [LOG_SCHEMA, LOG_SCHEMA]
    assert LOG_SCHEMA == "cfx.train-log/1"
    assert [e["epoch"] for e in entries] == [1, 2]
    assert [e["samples"] for e in entries] == [11, 22]
    for entry in entries:
        for key in ("train_loss", "val_loss", "val_psnr", "val_auc", "gray_psnr", "seconds"):
            assert isinstance(entry[key], (int, float)) and np.isfinite(entry[key]), key


def test_resume_is_deterministic(straight_run: dict, data_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / f"{NAME}.safetensors"
    log = tmp_path / "log.jsonl"
    first = train_colorizer(data_dir, output, _recipe(epochs=1), log_path=log, quiet=True)
    assert first["training"]["epochs"] == 1
    resumed = train_colorizer(data_dir, output, _recipe(epochs=2), resume=True, log_path=log, quiet=True)
    assert resumed["training"]["epochs"] == 2
    assert resumed["training"]["samples_seen"] == straight_run["report"]["training"]["samples_seen"]
    assert resumed["training"]["steps"] == straight_run["report"]["training"]["steps"]

    expected = _state(straight_run["weights"])
    actual = _state(output)
    assert set(actual) == set(expected)
    for key in expected:
        assert torch.equal(actual[key], expected[key]), key
    # (The files' sha256 may still differ: safetensors writes the metadata keys in
    # random order; see test_weights.py::test_save_model_is_byte_deterministic.)
    # The log file continues across the resume: epochs 1 and 2, one line each.
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["epoch"] for e in entries] == [1, 2]
    straight = [json.loads(line) for line in straight_run["log"].read_text().splitlines()]
    assert [e["train_loss"] for e in entries] == [e["train_loss"] for e in straight]
    assert [e["val_psnr"] for e in entries] == [e["val_psnr"] for e in straight]


def test_resume_without_checkpoint_starts_fresh_and_same_seed_repeats(
    straight_run: dict, data_dir: Path, tmp_path: Path
) -> None:
    # resume=True with no checkpoint yet is a fresh start; same seed, same weights.
    output = tmp_path / "again.safetensors"
    report = train_colorizer(data_dir, output, _recipe(), resume=True, quiet=True)
    assert report["training"]["epochs"] == 2
    expected = _state(straight_run["weights"])
    actual = _state(output)
    assert all(torch.equal(actual[k], expected[k]) for k in expected)


def test_different_seed_gives_different_weights(straight_run: dict, data_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "seed1.safetensors"
    train_colorizer(data_dir, output, _recipe(epochs=1, seed=1), quiet=True)
    expected = _state(straight_run["weights"])
    actual = _state(output)
    assert any(not torch.equal(actual[k], expected[k]) for k in expected if actual[k].is_floating_point())


def test_train_survives_a_last_batch_of_one(data_dir: Path, tmp_path: Path) -> None:
    # 11 train images in batches of 5 → 5, 5, 1: iizuka.tiny's global branch reaches 1×1,
    # where batch norm cannot train on one sample; the lone sample is left out this epoch.
    report = train_colorizer(data_dir, tmp_path / "b5.safetensors", _recipe(epochs=1, batch_size=5), quiet=True)
    assert report["training"]["train_images"] == 11
    assert report["training"]["steps"] == 2
    assert report["training"]["samples_seen"] == 10


def test_train_loss_is_the_mean_over_trained_samples(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cfx.models.iizuka import IizukaColorizer

    seen: list[tuple[float, int]] = []
    real = IizukaColorizer.training_loss

    def recording(model, lightness, ab, labels, alpha):  # noqa: ANN001, ANN202
        loss, predicted = real(model, lightness, ab, labels, alpha)
        if model.training:
            seen.append((loss.item(), lightness.shape[0]))
        return loss, predicted

    monkeypatch.setattr(IizukaColorizer, "training_loss", recording)
    entries: list[dict] = []
    train_colorizer(
        data_dir, tmp_path / "b5.safetensors", _recipe(epochs=1, batch_size=5), quiet=True, on_epoch=entries.append
    )
    assert [n for _, n in seen] == [5, 5]
    expected = sum(loss * n for loss, n in seen) / sum(n for _, n in seen)
    assert entries[0]["train_loss"] == pytest.approx(expected, rel=1e-6)


def test_train_rejects_empty_folder_and_bad_optimizer(tmp_path: Path, data_dir: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no training images"):
        train_colorizer(empty, tmp_path / "x.safetensors", _recipe(), quiet=True)
    with pytest.raises(ValueError, match="unknown optimizer"):
        train_colorizer(data_dir, tmp_path / "y.safetensors", _recipe(optimizer="sgd"), quiet=True)
    with pytest.raises(FileNotFoundError):
        train_colorizer(tmp_path / "missing", tmp_path / "z.safetensors", _recipe(), quiet=True)
