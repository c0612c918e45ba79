"""The pretrained-encoder colorizer: EfficientNet-Lite (TensorFlow SAME padding, stage
plan), the one-time import of a reference checkpoint (on a small fake one), the U-Net's
heads and frozen layers, the two-phase cached trainer, and koala's pretrained embedding."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from cfx.color import rgb_to_lab
from cfx.models.efficientnet_lite import EfficientNetLite, LiteConfig, SameConv, lite_config, stage_plan
from cfx.models.pretrained import SOURCES, PretrainedError, cfx_key, convert_state, read_checkpoint
from cfx.registry import create_model
from tests.conftest import smooth_image

TINY_LITE = LiteConfig(width=0.25, depth=0.5, stem=8, head=16, num_classes=10)


def _reference_names(model: EfficientNetLite) -> dict[str, torch.Tensor]:
    """``model``'s tensors under the reference implementation's names (a fake wheel checkpoint)."""
    block_stage = [(s, b) for s, (repeats, *_r) in enumerate(stage_plan(model.config)) for b in range(repeats)]
    parts = {
        "expand.conv": "_expand_conv",
        "expand.bn": "_bn0",
        "depthwise.conv": "_depthwise_conv",
        "depthwise.bn": "_bn1",
        "project.conv": "_project_conv",
        "project.bn": "_bn2",
    }
    fixed = {
        "stem.conv.": "_conv_stem.",
        "stem.bn.": "_bn0.",
        "head.conv.": "_conv_head.",
        "head.bn.": "_bn1.",
        "classifier.": "_fc.",
    }
    out = {}
    for name, tensor in model.state_dict().items():
        if name.startswith("stages."):
            _, stage, block, part, kind, rest = name.split(".", 5)
            index = block_stage.index((int(stage), int(block)))
            out[f"_blocks.{index}.{parts[part + '.' + kind]}.{rest}"] = tensor.clone()
        else:
            prefix = next(p for p in fixed if name.startswith(p))
            out[fixed[prefix] + name[len(prefix) :]] = tensor.clone()
    return out


def test_lite_stage_plans_match_the_published_sizes() -> None:
    # Parameter counts of the three ImageNet classifiers (the wheels' checkpoints).
    counts = {"lite0": 4_652_008, "lite1": 5_416_680, "lite2": 6_092_072}
    for variant, expected in counts.items():
        model = EfficientNetLite(lite_config(variant))
        assert sum(p.numel() for p in model.parameters()) == expected
    plan = stage_plan(lite_config("lite2"))
    assert plan[0][4] == 32 and plan[-1][0] == 1  # fixed stem input and last-stage repeats


def test_same_conv_pads_like_tensorflow() -> None:
    conv = SameConv(1, 1, 3, 2, bias=False)
    torch.nn.init.ones_(conv.weight)
    x = torch.arange(16.0).view(1, 1, 4, 4)
    # TensorFlow SAME on an even side with stride 2: no padding before, one after.
    expected = F.conv2d(F.pad(x, [0, 1, 0, 1]), conv.weight, stride=2)
    assert torch.equal(conv(x), expected)
    assert conv(torch.zeros(1, 1, 7, 9)).shape[-2:] == (4, 5)


def test_features_have_strides_2_to_32() -> None:
    model = EfficientNetLite(TINY_LITE).eval()
    with torch.inference_mode():
        features = model.features(torch.rand(1, 3, 64, 96))
        assert model(torch.rand(2, 3, 64, 64)).shape == (2, 10)
    assert [f.shape[-2:] for f in features] == [(64 // s, 96 // s) for s in (2, 4, 8, 16, 32)]
    assert tuple(f.shape[1] for f in features) == model.channels


def test_import_of_a_fake_reference_checkpoint_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = EfficientNetLite(TINY_LITE)
    reference = _reference_names(source)
    path = tmp_path / "fake.pth"
    torch.save(reference, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    state = read_checkpoint(path, digest)
    target = EfficientNetLite(TINY_LITE)
    target.load_state_dict(convert_state(state, target), strict=True)
    for name, tensor in source.state_dict().items():
        assert torch.equal(tensor, target.state_dict()[name]), name
    # A headless encoder takes what it needs and drops the classifier.
    headless = EfficientNetLite(LiteConfig(**{**TINY_LITE.__dict__, "include_top": False}))
    assert set(convert_state(state, headless)) == set(headless.state_dict())
    with pytest.raises(PretrainedError, match="sha256"):
        read_checkpoint(path, "0" * 64)
    del reference["_conv_stem.weight"]
    with pytest.raises(PretrainedError, match="lacks"):
        convert_state(reference, EfficientNetLite(TINY_LITE))


def test_reference_names_map_to_cfx_names() -> None:
    block_stage = [(0, 0), (1, 0), (1, 1)]
    assert cfx_key("_blocks.2._depthwise_conv.weight", block_stage) == "stages.1.1.depthwise.conv.weight"
    assert cfx_key("_bn1.running_mean", block_stage) == "head.bn.running_mean"
    assert cfx_key("_blocks.9._bn0.weight", block_stage) is None
    assert set(SOURCES) == {"lite0", "lite1", "lite2"} and all(len(s[3]) == 64 for s in SOURCES.values())


def _batch(size: int, count: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    rgb = (
        torch.from_numpy(np.stack([smooth_image(size, size, seed) for seed in range(count)]))
        .permute(0, 3, 1, 2)
        .float()
        / 255.0
    )
    lab = rgb_to_lab(rgb * torch.tensor([1.0, 0.7, 0.35]).view(1, 3, 1, 1))
    return lab[:, :1] / 100.0, lab[:, 1:]


@pytest.mark.parametrize("loss", ["classification", "regression", "both"])
def test_unet_heads_learn_one_batch(loss: str) -> None:
    torch.manual_seed(0)
    model = create_model("unet.tiny", loss=loss).train()
    lightness, ab = _batch(64)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for _ in range(15):
        value, predicted = model.training_loss(lightness, ab, torch.full((4,), -1), 0.0)
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        losses.append(value.item())
    assert np.isfinite(losses).all() and min(losses[-3:]) < 0.9 * losses[0], losses
    assert predicted.shape == (4, 2, 16, 16)
    model.eval()
    with torch.inference_mode():
        ab = model.predict_ab(torch.rand(1, 1, 64, 96))
    assert ab.shape == (1, 2, 16, 24) and ab.abs().max() <= 110


def test_unet_lower_encoder_is_frozen() -> None:
    model = create_model("unet.tiny").train()
    frozen = [model.encoder.stem, *model.encoder.stages[:3]]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(not m.training for m in frozen)
    assert all(p.requires_grad for p in model.encoder.stages[3:].parameters())
    lightness = torch.rand(2, 1, 64, 64)
    s4, s8 = model.lower(lightness)
    assert model.encoder.stem.bn.running_mean.abs().sum() == 0  # no statistics moved
    model.eval()  # no feature dropout: decode of the parts is the whole forward pass
    head, _ = model.decode(s4, s8, *model.upper(s8))
    assert torch.allclose(head, model(lightness)[0])
    with pytest.raises(ValueError, match="loss"):
        create_model("unet.tiny", loss="l2")


def test_unet_weights_round_trip_through_the_runner(tmp_path: Path) -> None:
    from cfx.colorize import load_colorizer
    from cfx.imageio import load_image
    from cfx.weights import load_model, save_model

    torch.manual_seed(0)
    model = create_model("unet.tiny")
    model.set_prior(torch.arange(1.0, model.config.num_bins + 1))
    path = tmp_path / "u.safetensors"
    save_model(model, path, {"name": "unet.tiny", "arch": "unet", "task": "colorize"}, half=True)
    loaded, _ = load_model("unet.tiny", path)
    assert torch.allclose(loaded.ab_prior, model.ab_prior.float(), rtol=1e-3)
    image = tmp_path / "odd.png"
    Image.fromarray(smooth_image(37, 53, 5)).convert("L").save(image)
    out = load_colorizer(weights=path, device="cpu").colorize_array(load_image(image))
    assert out.shape == (37, 53, 3) and np.isfinite(out).all()


def _folder(root: Path, count: int) -> Path:
    for split, n in (("train", count), ("val", 2)):
        (root / split / "x").mkdir(parents=True)
        for i in range(n):
            Image.fromarray(smooth_image(80, 96, i + (100 if split == "val" else 0))).save(
                root / split / "x" / f"{i}.png"
            )
    return root


def test_cached_trainer_two_phases_sum_their_totals(tmp_path: Path) -> None:
    from cfx.train.cached_colorizer import CachedRecipe, train_cached_colorizer
    from cfx.weights import read_card

    data = _folder(tmp_path / "data", 4)
    cache = tmp_path / "cache"
    first = tmp_path / "frozen.safetensors"
    recipe = CachedRecipe(
        model="unet.tiny", epochs=2, batch_size=4, crops_per_image=2, cache_dir=str(cache), precision="fp32"
    )
    report = train_cached_colorizer(data, first, recipe, log_path=tmp_path / "log.jsonl", quiet=True)
    assert report["training"]["cached_crops"] == 8 and report["training"]["samples_seen"] == 16
    assert len(list(cache.glob("features-*.safetensors"))) == 1
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2] and all("val_psnr" in line for line in lines)
    frozen_encoder = {k: v.clone() for k, v in create_model("unet.tiny").encoder.state_dict().items()}
    # Phase 2 from the first phase's weights: the upper stages train, the lower stay.
    second = tmp_path / "finetune.safetensors"
    recipe2 = CachedRecipe(
        model="unet.tiny",
        phase="finetune",
        epochs=1,
        batch_size=4,
        crops_per_image=2,
        cache_dir=str(cache),
        init=str(first),
        precision="fp32",
    )
    train_cached_colorizer(data, second, recipe2, quiet=True)
    card = read_card(second)
    assert card["training"]["total_samples_seen"] == 16 + 8
    assert card["training"]["total_train_seconds"] >= card["training"]["train_seconds"]
    from cfx.weights import load_model

    before, _ = load_model("unet.tiny", first)
    after, _ = load_model("unet.tiny", second)
    assert torch.equal(
        before.encoder.stages[0][0].depthwise.conv.weight, after.encoder.stages[0][0].depthwise.conv.weight
    )
    assert not torch.equal(
        before.encoder.stages[5][0].depthwise.conv.weight, after.encoder.stages[5][0].depthwise.conv.weight
    )
    assert frozen_encoder  # the tiny preset has no pretrained source: a random encoder
    from cfx.errors import UsageError

    with pytest.raises(UsageError, match="phase"):
        CachedRecipe(phase="all")


def test_koala_lite0_embedding_is_the_frozen_pretrained_classifier() -> None:
    from cfx.models.koala import PretrainedEmbedding

    model = create_model("koala.lite0").train()
    assert isinstance(model.embedding, PretrainedEmbedding)
    assert not model.embedding.training and all(not p.requires_grad for p in model.embedding.parameters())
    assert sum(p.numel() for p in model.embedding.parameters()) == 4_652_008
    with pytest.raises(ValueError, match="1000"):
        create_model("koala.lite0", embedding_dim=10)


def test_cli_trains_unet_in_phases_and_colorizes_with_it(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cfx.cli.main import app

    runner = CliRunner()
    data = _folder(tmp_path / "data", 4)
    out = tmp_path / "u.safetensors"
    args = [
        "train",
        "colorizer",
        "--data",
        str(data),
        "--model",
        "unet.tiny",
        "-o",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--crops-per-image",
        "1",
        "--loss",
        "classification",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--quiet",
    ]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["schema"] == "cfx.train/1" and report["config"]["loss"] == "classification"
    assert report["training"]["recipe"]["phase"] == "frozen" and report["training"]["cached_crops"] == 4
    result = runner.invoke(
        app,
        [*args[:7], str(tmp_path / "v.safetensors"), *args[8:], "--phase", "finetune", "--init", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["training"]["total_samples_seen"] == 8
    result = runner.invoke(app, [*args, "--phase", "everything"])
    assert result.exit_code == 2 and "phase" in result.output
    colour = runner.invoke(
        app, ["colorize", str(data / "val"), "-o", str(tmp_path / "col"), "--weights", str(out), "--quiet"]
    )
    assert colour.exit_code == 0 and len(colour.stdout.splitlines()) == 2


def test_unet_decodings_of_the_two_heads() -> None:
    torch.manual_seed(0)
    lightness = torch.rand(1, 1, 64, 64)
    model = create_model("unet.tiny", loss="both").eval()
    with torch.inference_mode():
        head, _ = model(lightness)
        outputs = {}
        for decode in ("annealed", "regression", "blend"):
            model.config = create_model("unet.tiny", loss="both", decode=decode).config
            outputs[decode] = model.predict_ab(lightness)
    assert torch.allclose(outputs["regression"], torch.tanh(head[:, -2:]) * 110.0)
    assert torch.allclose(outputs["blend"], (outputs["annealed"] + outputs["regression"]) / 2, atol=1e-5)
    # One head: its own decoding, whatever ``decode`` says.
    regression = create_model("unet.tiny", loss="regression", decode="annealed").eval()
    with torch.inference_mode():
        assert torch.allclose(regression.predict_ab(lightness), torch.tanh(regression(lightness)[0]) * 110.0)
    with pytest.raises(ValueError, match="decoding"):
        create_model("unet.tiny", decode="median")


def test_cosine_rate_and_feature_flips() -> None:
    from cfx.train.cached_colorizer import cosine_rate, flip_rows

    assert cosine_rate(1e-3, 0, 10) == pytest.approx(1e-3)
    assert cosine_rate(1e-3, 5, 10) == pytest.approx(5e-4)
    assert cosine_rate(1e-3, 9, 10) < 3e-5
    x = torch.arange(24.0).view(2, 1, 3, 4)
    flipped = flip_rows(x, torch.tensor([True, False]))
    assert torch.equal(flipped[0], x[0].flip(-1)) and torch.equal(flipped[1], x[1])
    assert torch.equal(x, torch.arange(24.0).view(2, 1, 3, 4))  # the cache is not changed


def test_colorizer_trainer_starts_a_pretrained_part_from_its_imagenet_weights(tmp_path: Path, monkeypatch) -> None:
    """`cfx train colorizer` on a model with pretrained weights (koala.lite0's embedding) loads
    them when training from scratch and records their provenance; other cards get none."""
    from cfx.models.koala import KoalaColorizer
    from cfx.train.colorizer import ColorizerRecipe, train_colorizer

    calls = []
    origin = {"package": "fake", "license": "Apache-2.0"}
    monkeypatch.setattr(KoalaColorizer, "load_pretrained", lambda self: calls.append(1) or origin)
    data = _folder(tmp_path / "data", 4)
    recipe = ColorizerRecipe(model="koala.tiny", epochs=1, batch_size=4, precision="fp32")
    card = train_colorizer(data, tmp_path / "k.safetensors", recipe, quiet=True)
    assert calls == [1] and card["pretrained"] == origin
    plain = train_colorizer(
        data, tmp_path / "z.safetensors", ColorizerRecipe(model="zhang.tiny", epochs=1, batch_size=4), quiet=True
    )
    assert "pretrained" not in plain
