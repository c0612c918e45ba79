"""Tests for cfx.registry: every preset builds and runs, lookups fail clearly,
configs round-trip through a model card's JSON, duplicates warn."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
import torch

from cfx import registry
from cfx.registry import (
    UnknownModelError,
    build_config,
    config_from_dict,
    create_model,
    get_spec,
    list_models,
    register,
)

ALL_NAMES = [spec.name for spec in list_models(include_tiny=True)]
COLORIZERS = [spec.name for spec in list_models(task="colorize", include_tiny=True)]
DETECTORS = [spec.name for spec in list_models(task="detect", include_tiny=True)]
BIG_PARAMS = 10_000_000


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_registry_has_presets_and_tiny_ones() -> None:
    assert "iizuka.tiny" in ALL_NAMES
    assert {"iizuka.full", "iizuka.compact"} <= set(ALL_NAMES)
    public = [spec.name for spec in list_models()]
    assert "iizuka.tiny" not in public
    assert set(public) < set(ALL_NAMES)
    assert ALL_NAMES == sorted(ALL_NAMES)
    # Every architecture has a tiny test preset.
    arches = {spec.arch for spec in list_models(include_tiny=True)}
    tiny_arches = {spec.arch for spec in list_models(include_tiny=True) if spec.tiny}
    assert arches == tiny_arches


def test_list_models_task_filter() -> None:
    colorizers = list_models(task="colorize", include_tiny=True)
    assert {s.name for s in colorizers} >= {"iizuka.tiny", "iizuka.full"}
    assert all(s.task == "colorize" for s in colorizers)
    assert list_models(task="no-such-task", include_tiny=True) == []


def test_spec_fields() -> None:
    spec = get_spec("iizuka.tiny")
    assert spec.name == "iizuka.tiny"
    assert spec.arch == "iizuka"
    assert spec.preset == "tiny"
    assert spec.task == "colorize"
    assert spec.tiny is True
    assert spec.defaults == {"render_size": 64}
    assert dataclasses.is_dataclass(spec.config)


def test_importing_registry_does_not_import_torch() -> None:
    code = "import sys, cfx.registry; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


@pytest.mark.parametrize("name", COLORIZERS)
def test_every_colorizer_builds_and_runs(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=3).eval()
    assert model.cfx_name == name
    assert model.config.num_classes == 3
    size = max(model.multiple, model.train_size // model.multiple * model.multiple)
    batch = 1 if _params(model) > BIG_PARAMS else 2
    lightness = torch.rand(batch, 1, size, size)
    with torch.inference_mode():
        ab = model.predict_ab(lightness)
        _, logits = model(lightness)
    assert ab.shape[:2] == (batch, 2) and min(ab.shape[2:]) >= 1
    assert torch.isfinite(ab).all()
    assert ab.abs().max() <= 110.0
    assert logits is not None and logits.shape == (batch, 3)
    assert torch.isfinite(logits).all()


HINTED = [name for name in COLORIZERS if get_spec(name).defaults.get("hints")]


def test_hint_conditioned_presets_are_registered() -> None:
    assert "unet.tiny-guided" in HINTED and "unet.lite0-guided" in HINTED
    assert get_spec("unet.tiny-guided").tiny and "unet.tiny-guided" in TINY_COLORIZERS


@pytest.mark.parametrize("name", [name for name in HINTED if get_spec(name).tiny])
def test_hint_conditioned_colorizer_reads_its_hints(name: str) -> None:
    """User points (Zhang et al. 2017) as three channels at the input's size change the
    output; zero channels give exactly the automatic output."""
    torch.manual_seed(0)
    model = create_model(name).eval()
    size = max(model.multiple, model.train_size // model.multiple * model.multiple)
    lightness = torch.rand(2, 1, size, size)
    hints = torch.zeros(2, 3, size, size)
    hints[0, :, 5:9, 5:9] = torch.tensor([0.5, -0.3, 1.0]).view(3, 1, 1)
    with torch.inference_mode():
        automatic = model.predict_ab(lightness)
        guided = model.predict_ab(lightness, hints=hints)
        zero = model.predict_ab(lightness, hints=torch.zeros_like(hints))
    assert guided.shape == automatic.shape and torch.isfinite(guided).all()
    assert torch.equal(zero, automatic) and torch.equal(guided[1], automatic[1])
    assert not torch.equal(guided[0], automatic[0])


@pytest.mark.parametrize("name", DETECTORS)
def test_every_detector_builds_and_runs(name: str) -> None:
    """RGB in [-1, 1] at the model's input size → two finite class scores; P(colorized) in [0, 1]."""
    torch.manual_seed(0)
    model = create_model(name).eval()
    assert model.cfx_name == name and get_spec(name).task == "detect"
    size = model.input_size
    batch = 1 if _params(model) > BIG_PARAMS else 2
    x = torch.rand(batch, 3, size, size) * 2 - 1
    with torch.inference_mode():
        logits = model(x)
        p = model.probability(x)
    assert logits.shape == (batch, 2) and torch.isfinite(logits).all()
    assert p.shape == (batch,) and ((p >= 0) & (p <= 1)).all()


TINY_COLORIZERS = [name for name in COLORIZERS if get_spec(name).tiny]  # unet.tiny-guided too
TINY_DETECTORS = [name for name in DETECTORS if name.endswith(".tiny") or get_spec(name).arch == "fcid"]


@pytest.mark.parametrize("name", TINY_COLORIZERS + TINY_DETECTORS)
def test_every_parameter_takes_part_in_every_step(name: str) -> None:
    """DistributedDataParallel runs without a search for unused parameters: each training
    step must give every parameter a gradient, even a batch with no class labels."""
    torch.manual_seed(0)
    if name in TINY_COLORIZERS:
        model = create_model(name, num_classes=2).train()
        size = max(model.multiple, model.train_size // model.multiple * model.multiple)
        lightness, ab = torch.rand(2, 1, size, size), torch.rand(2, 2, size, size) * 40 - 20
        loss, _ = model.training_loss(lightness, ab, torch.tensor([-1, -1]), 1.0 / 300.0)
    else:
        model = create_model(name).train()
        loss, _ = model.training_loss(
            torch.rand(2, 3, model.input_size, model.input_size) * 2 - 1, torch.tensor([0, 1])
        )
    loss.backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not unused, unused


def test_no_classes_gives_no_logits() -> None:
    model = create_model("iizuka.tiny").eval()
    assert model.config.num_classes == 0
    with torch.inference_mode():
        ab, logits = model(torch.rand(1, 1, 32, 32))
    assert logits is None
    assert ab.shape == (1, 2, 16, 16)


def test_tiny_non_square_input() -> None:
    model = create_model("iizuka.tiny", num_classes=2).eval()
    with torch.inference_mode():
        ab, logits = model(torch.rand(2, 1, 48, 72))
    assert ab.shape == (2, 2, 24, 36)
    assert logits.shape == (2, 2)
    assert not torch.isnan(ab).any() and ab.min() >= 0 and ab.max() <= 1
    # Tall as well as wide.
    with torch.inference_mode():
        ab, _ = model(torch.rand(1, 1, 72, 48))
    assert ab.shape == (1, 2, 36, 24)


def test_tiny_global_source_changes_only_global_branch() -> None:
    model = create_model("iizuka.tiny").eval()
    target = torch.rand(1, 1, 48, 64)
    with torch.inference_mode():
        own, _ = model(target)
        same, _ = model(target, global_source=target)
        other, _ = model(target, global_source=torch.rand(1, 1, 40, 40))
    assert other.shape == own.shape == (1, 2, 24, 32)
    # Passing the target as its own global source gives the same result.
    assert torch.allclose(own, same, atol=1e-5)


def test_tiny_is_differentiable_in_train_mode() -> None:
    model = create_model("iizuka.tiny", num_classes=2).train()
    ab, logits = model(torch.rand(2, 1, 32, 32))
    (ab.mean() + logits.sum()).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_bad_global_size_raises() -> None:
    with pytest.raises(ValueError, match="multiple of"):
        create_model("iizuka.tiny", global_size=36)


def test_unknown_name_raises_with_close_matches() -> None:
    with pytest.raises(UnknownModelError) as info:
        get_spec("nope.model")
    text = str(info.value)
    assert text.startswith("unknown model 'nope.model'") and "did you mean" not in text
    assert "cfx models --all" in text  # where every name is listed
    with pytest.raises(UnknownModelError) as info:
        get_spec("iizuka.compat")
    text = str(info.value)
    assert "did you mean iizuka.compact" in text
    assert "iizuka.tiny" not in text  # test presets are not advertised
    assert not text.startswith('"')  # a plain line, not KeyError's quoting
    assert isinstance(info.value, KeyError)
    with pytest.raises(UnknownModelError):
        create_model("iizuka.huge")


def test_build_config_overrides_and_drops_none() -> None:
    base = get_spec("iizuka.tiny").config
    assert build_config("iizuka.tiny") == base
    assert build_config("iizuka.tiny", {"num_classes": None}) == base
    changed = build_config("iizuka.tiny", {"num_classes": 5, "fusion": None})
    assert changed.num_classes == 5 and changed.fusion == base.fusion
    assert base.num_classes == 0  # the preset itself is untouched


@pytest.mark.parametrize("name", ALL_NAMES)
def test_config_from_dict_round_trips_asdict(name: str) -> None:
    config = get_spec(name).config
    values = dataclasses.asdict(config)
    assert config_from_dict(name, values) == config
    # Through JSON (tuples become lists) too.
    assert config_from_dict(name, json.loads(json.dumps(values))) == config


def test_config_from_dict_changes_values_and_ignores_unknown_keys() -> None:
    values = dataclasses.asdict(get_spec("iizuka.tiny").config)
    values.update(num_classes=4, low=[2, 4, 4, 4, 4, 8], not_a_field=123)
    config = config_from_dict("iizuka.tiny", values)
    assert config.num_classes == 4
    assert config.low == (2, 4, 4, 4, 4, 8)
    assert not hasattr(config, "not_a_field")


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A copy of the registry, so test registrations do not leak."""
    registry._load_all()
    copy = dict(registry._REGISTRY)
    monkeypatch.setattr(registry, "_REGISTRY", copy)
    return copy


def test_register_adds_a_model(scratch_registry: dict) -> None:
    @dataclasses.dataclass(frozen=True)
    class Cfg:
        width: int = 3

    @register("testarch.small", task="detect", config=Cfg(), tiny=True, input_size=16)
    def factory(config: Cfg) -> torch.nn.Module:
        return torch.nn.Linear(config.width, 1)

    spec = get_spec("testarch.small")
    assert spec.factory is factory and spec.task == "detect" and spec.defaults == {"input_size": 16}
    model = create_model("testarch.small", width=5)
    assert model.in_features == 5 and model.cfx_name == "testarch.small"
    assert "testarch.small" in [s.name for s in list_models(task="detect", include_tiny=True)]


def test_register_duplicate_name_warns(scratch_registry: dict) -> None:
    spec = get_spec("iizuka.tiny")

    def other(config):  # noqa: ANN001
        return torch.nn.Identity()

    with pytest.warns(UserWarning, match="registered twice"):
        register("iizuka.tiny", task="colorize", config=spec.config, tiny=True)(other)
    assert get_spec("iizuka.tiny").factory is other  # the later one wins


def test_register_requires_dotted_name(scratch_registry: dict) -> None:
    with pytest.raises(ValueError, match="arch.preset"):
        register("nodot", task="colorize", config=None)
