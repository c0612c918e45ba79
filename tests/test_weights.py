"""Tests for cfx.weights: safetensors + model card round trip, verification of
corrupted/truncated/mismatched files, resolving --model/--weights, CFX_WEIGHTS."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from cfx.registry import create_model
from cfx.weights import (
    CARD_SCHEMA,
    WeightsError,
    card_path,
    find_weights,
    load_model,
    read_card,
    resolve_weights,
    save_model,
    sha256_file,
    weights_dirs,
)

NAME = "iizuka.tiny"


def _trained_like_tiny(num_classes: int = 0) -> torch.nn.Module:
    """A tiny model with non-default weights and batch-norm statistics."""
    torch.manual_seed(0)
    model = create_model(NAME, num_classes=num_classes)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.train()
    with torch.no_grad():
        model(torch.rand(2, 1, 32, 32))  # moves the running mean/var off 0/1
    return model.eval()


@pytest.fixture
def saved(tmp_path: Path) -> tuple[torch.nn.Module, Path, dict]:
    model = _trained_like_tiny()
    path = tmp_path / f"{NAME}.safetensors"
    card = save_model(model, path, {"name": NAME, "task": "colorize", "metrics": {"val_psnr": 23.5}})
    return model, path, card


def _outputs(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model.eval()(x)[0]


# ---------------------------------------------------------------- round trip


def test_save_load_round_trip_identical_outputs(saved) -> None:
    model, path, _ = saved
    loaded, card = load_model(NAME, path)
    assert loaded.cfx_name == NAME
    assert not loaded.training
    x = torch.rand(2, 1, 48, 40, generator=torch.Generator().manual_seed(1))
    assert torch.equal(_outputs(model, x), _outputs(loaded, x))
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    assert card["metrics"] == {"val_psnr": 23.5}


def test_card_contents(saved) -> None:
    model, path, card = saved
    assert path.is_file() and card_path(path).is_file()
    assert card_path(path) == path.with_suffix(".json")
    on_disk = json.loads(card_path(path).read_text())
    assert on_disk == json.loads(json.dumps(card))  # the returned card holds tuples, the file lists
    assert card["schema"] == CARD_SCHEMA
    assert card["name"] == NAME
    assert card["sha256"] == sha256_file(path)
    assert len(card["sha256"]) == 64
    assert card["bytes"] == path.stat().st_size
    assert card["params"] == sum(p.numel() for p in model.parameters())
    assert card["config"] == dataclasses.asdict(model.config)
    assert on_disk["config"] == json.loads(json.dumps(dataclasses.asdict(model.config)))
    assert card["dtype"] == "float32"
    assert read_card(path) == on_disk
    # No temp files left behind by the atomic writes.
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, card_path(path).name])


def test_weights_are_safetensors_not_pickle(saved) -> None:
    from safetensors.torch import load_file

    _, path, _ = saved
    assert not path.read_bytes().startswith(b"\x80")  # pickle protocol marker
    tensors = load_file(str(path))
    assert set(tensors) == set(_trained_like_tiny().state_dict())


def test_round_trip_with_classes(tmp_path: Path) -> None:
    model = _trained_like_tiny(num_classes=3)
    path = tmp_path / "m.safetensors"
    save_model(model, path, {"name": NAME})
    loaded, card = load_model(NAME, path)
    assert card["config"]["num_classes"] == 3
    assert loaded.config.num_classes == 3
    x = torch.rand(1, 1, 32, 32)
    with torch.inference_mode():
        assert torch.equal(model(x)[1], loaded(x)[1])


def test_half_storage(tmp_path: Path) -> None:
    model = _trained_like_tiny()
    path = tmp_path / "half.safetensors"
    card = save_model(model, path, {"name": NAME}, half=True)
    assert card["dtype"] == "float16"
    full = save_model(model, tmp_path / "full.safetensors", {"name": NAME})
    assert card["bytes"] < full["bytes"]
    loaded, _ = load_model(NAME, path)
    for key, value in loaded.state_dict().items():
        assert value.dtype == model.state_dict()[key].dtype, key  # back to fp32 in memory
    x = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(_outputs(model, x), _outputs(loaded, x), atol=5e-3)


def test_save_model_is_byte_deterministic(tmp_path: Path) -> None:
    model = _trained_like_tiny()
    digests = {save_model(model, tmp_path / f"{i}.safetensors", {"name": NAME})["sha256"] for i in range(8)}
    assert len(digests) == 1


def test_max_bytes_refuses_large_file(tmp_path: Path) -> None:
    path = tmp_path / "big.safetensors"
    with pytest.raises(WeightsError, match="exceeds the limit"):
        save_model(_trained_like_tiny(), path, {"name": NAME}, max_bytes=1000)
    assert not path.exists() and not card_path(path).exists()


# ---------------------------------------------------------------- corrupted or mismatched


def _load_fails_naming(path: Path, match: str | None = None) -> str:
    """Loading ``path`` raises a WeightsError (matching ``match``) whose message names the file."""
    with pytest.raises(WeightsError, match=match) as info:
        load_model(NAME, path)
    assert str(path) in str(info.value)
    return str(info.value)


def test_tampered_file_raises_naming_file(saved) -> None:
    _, path, _ = saved
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip a byte inside the tensors
    path.write_bytes(bytes(data))
    assert "sha256" in _load_fails_naming(path)


def test_truncated_file_raises(saved) -> None:
    _, path, _ = saved
    path.write_bytes(path.read_bytes()[:100])
    _load_fails_naming(path)


def test_truncated_file_with_matching_card_is_not_valid_safetensors(saved) -> None:
    _, path, card = saved
    path.write_bytes(path.read_bytes()[:100])
    card["sha256"] = sha256_file(path)
    card_path(path).write_text(json.dumps(card))
    _load_fails_naming(path, "not a valid safetensors file")


def test_missing_card_raises(saved) -> None:
    _, path, _ = saved
    card_path(path).unlink()
    _load_fails_naming(path, "model card .* is missing")


def test_unreadable_and_nameless_cards(saved) -> None:
    _, path, _ = saved
    card_path(path).write_text("{not json")
    with pytest.raises(WeightsError, match="unreadable model card"):
        load_model(NAME, path)
    card_path(path).write_text(json.dumps({"sha256": "0" * 64}))
    with pytest.raises(WeightsError, match="no 'name'"):
        load_model(NAME, path)
    card_path(path).write_text(json.dumps([1, 2]))
    with pytest.raises(WeightsError):
        read_card(path)


def test_card_for_another_arch_raises(saved) -> None:
    _, path, card = saved
    card["name"] = "zhang.tiny"
    card_path(path).write_text(json.dumps(card))
    _load_fails_naming(path, "weights are for 'zhang.tiny', not 'iizuka.tiny'")


def test_card_preset_wins_within_an_arch(saved) -> None:
    # The card's config and preset describe the tensors; a sibling preset name is accepted.
    model, path, _ = saved
    loaded, _ = load_model("iizuka.compact", path)
    assert loaded.cfx_name == NAME
    x = torch.rand(1, 1, 32, 32)
    assert torch.equal(_outputs(model, x), _outputs(loaded, x))


def test_card_config_that_does_not_fit_raises(saved) -> None:
    _, path, card = saved
    card["config"]["num_classes"] = 4  # the file has no classifier tensors
    card_path(path).write_text(json.dumps(card))
    _load_fails_naming(path, "do not fit iizuka.tiny")


def test_tensors_of_another_model_raise(tmp_path: Path) -> None:
    path = tmp_path / "odd.safetensors"
    odd = torch.nn.Linear(2, 2)
    card = save_model(odd, path, {"name": NAME})
    assert card["config"] == {}  # no config dataclass: preset defaults are used
    with pytest.raises(WeightsError, match="do not fit"):
        load_model(NAME, path)


# ---------------------------------------------------------------- resolve / find


def test_resolve_weights_takes_name_from_card(saved) -> None:
    _, path, _ = saved
    assert resolve_weights(None, path, default="iizuka.full") == (NAME, path)
    assert resolve_weights(None, str(path), default="iizuka.full") == (NAME, path)
    # --model wins over the card.
    assert resolve_weights("iizuka.compact", path, default="iizuka.full") == ("iizuka.compact", path)


def test_resolve_weights_only_reads_the_card(saved) -> None:
    # Resolving does not read or verify the tensors (load_model does): a corrupted
    # file still resolves; only the card's name is used.
    _, path, _ = saved
    path.write_bytes(b"garbage")
    assert resolve_weights(None, path, default="iizuka.full") == (NAME, path)
    with pytest.raises(WeightsError):
        load_model(NAME, path)


def test_resolve_weights_with_model_does_not_need_card(saved) -> None:
    _, path, _ = saved
    card_path(path).unlink()
    assert resolve_weights(NAME, path, default="iizuka.full") == (NAME, path)
    with pytest.raises(WeightsError, match="missing"):
        resolve_weights(None, path, default="iizuka.full")


def test_resolve_weights_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(WeightsError, match="no such weights file") as info:
        resolve_weights(None, missing, default=NAME)
    assert str(missing) in str(info.value)


def test_find_weights_honours_cfx_weights(saved, monkeypatch: pytest.MonkeyPatch) -> None:
    _, path, _ = saved
    monkeypatch.setenv("CFX_WEIGHTS", str(path.parent))
    assert weights_dirs()[0] == path.parent
    assert find_weights(NAME) == path
    assert find_weights("iizuka.nonexistent") is None
    # --model alone (or the default) resolves to the shipped file found there.
    assert resolve_weights(NAME, None, default="iizuka.full") == (NAME, path)
    assert resolve_weights(None, None, default=NAME) == (NAME, path)
    model, _ = load_model(*resolve_weights(None, None, default=NAME))
    assert model.cfx_name == NAME


def test_without_cfx_weights_the_tmp_dir_is_not_searched(saved, monkeypatch: pytest.MonkeyPatch) -> None:
    _, path, _ = saved
    monkeypatch.delenv("CFX_WEIGHTS", raising=False)
    assert path.parent not in weights_dirs()
    assert all(d.name in ("_weights", "weights") for d in weights_dirs())
    assert find_weights(NAME) != path


def test_resolve_weights_no_shipped_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFX_WEIGHTS", str(tmp_path))
    with pytest.raises(WeightsError, match="no shipped weights for 'iizuka.full'") as info:
        resolve_weights(None, None, default="iizuka.full")  # a preset, never shipped
    assert str(tmp_path) in str(info.value)
    from cfx.registry import UnknownModelError

    with pytest.raises(UnknownModelError, match="unknown model 'iizuka.nonexistent'"):  # neither a preset nor a file
        resolve_weights(None, None, default="iizuka.nonexistent")
