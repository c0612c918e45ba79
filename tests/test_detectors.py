"""Detector architectures: BaseNet/DecNet (Quan et al. 2019) and the discriminator (Mu and Lee, n.d.)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cfx.models.detectors import Discriminator, QuanNet
from cfx.registry import create_model, get_spec


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("act", ["none", "relu", "tanh"])
@pytest.mark.parametrize(("arch", "paper"), [("basenet", 6.88e6), ("decnet", 7.52e6)])
def test_full_presets_match_paper_parameter_counts(arch: str, paper: float, act: str) -> None:
    full = n_params(create_model(f"{arch}.{act}"))
    assert abs(full - paper) / paper < 0.01
    compact = n_params(create_model(f"{arch}.{act}-compact"))
    assert compact < full
    assert n_params(create_model(f"{arch}.tiny")) < compact


def test_decnet_has_one_by_one_branch_basenet_not() -> None:
    dec = create_model("decnet.tiny")
    base = create_model("basenet.tiny")
    assert isinstance(dec, QuanNet) and isinstance(base, QuanNet)
    assert base.branch1 is None
    assert dec.branch1 is not None
    convs = [m for m in dec.branch1.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 3  # conv2-4
    assert all(c.kernel_size == (1, 1) for c in convs)
    assert all(m.kernel_size == 3 and m.stride == 2 for m in dec.branch1.modules() if isinstance(m, nn.MaxPool2d))
    assert all(c.kernel_size == (3, 3) for c in dec.branch3.modules() if isinstance(c, nn.Conv2d))
    # The branch outputs are concatenated before conv5: conv5 sees twice the channels.
    conv5_dec = next(m for m in dec.tail if isinstance(m, nn.Conv2d))
    conv5_base = next(m for m in base.tail if isinstance(m, nn.Conv2d))
    assert conv5_dec.in_channels == 2 * conv5_base.in_channels


@pytest.mark.parametrize(("act", "kind"), [("none", nn.Identity), ("relu", nn.ReLU), ("tanh", nn.Tanh)])
@pytest.mark.parametrize("arch", ["basenet", "decnet"])
def test_conv1_activation_per_preset(arch: str, act: str, kind: type) -> None:
    model = create_model(f"{arch}.{act}-compact")
    assert isinstance(model.conv1[0], nn.Conv2d) and isinstance(model.conv1[1], nn.BatchNorm2d)
    assert isinstance(model.conv1[-1], kind)
    assert get_spec(f"{arch}.{act}").config.first_activation == act


@pytest.mark.parametrize("name", ["basenet.tiny", "decnet.tiny"])
def test_conv8_is_one_by_one_at_256(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name).eval()
    assert model.input_size == 256
    seen: dict[str, torch.Size] = {}
    model.tail.register_forward_hook(lambda _m, _i, out: seen.__setitem__("conv8", out.shape))
    with torch.no_grad():
        logits = model(torch.rand(2, 3, 256, 256) * 2 - 1)
    assert seen["conv8"][-2:] == (1, 1)
    assert seen["conv8"][1] == model.config.widths[7]
    assert logits.shape == (2, 2)


def test_full_width_tail_gives_one_by_one_512() -> None:
    """The full preset's conv5-8 on the 31×31 map that conv4 makes of a 256×256 input."""
    model = create_model("basenet.tanh").eval()
    with torch.no_grad():
        out = model.tail(torch.zeros(1, 256, 31, 31))
    assert out.shape == (1, 512, 1, 1)


def test_other_input_sizes_are_averaged() -> None:
    torch.manual_seed(0)
    model = create_model("decnet.tiny").eval()
    with torch.no_grad():
        assert model.features(torch.zeros(1, 3, 320, 288)).shape == (1, 8)
        assert model(torch.zeros(1, 3, 320, 288)).shape == (1, 2)


def test_discriminator_logits_and_probability() -> None:
    torch.manual_seed(0)
    model = create_model("discriminator.tiny").eval()
    assert isinstance(model, Discriminator)
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        logits = model(x)
        p = model.probability(x)
    assert logits.shape == (3, 2)
    assert torch.equal(logits[:, 0], torch.zeros(3))
    assert torch.allclose(p, torch.sigmoid(logits[:, 1]), atol=1e-6)
    loss, _ = model.training_loss(x, torch.tensor([0, 1, 1]))
    expected = nn.functional.binary_cross_entropy_with_logits(logits[:, 1], torch.tensor([0.0, 1.0, 1.0]))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_discriminator_resizes_other_sizes() -> None:
    torch.manual_seed(0)
    model = create_model("discriminator.tiny").eval()
    seen: list[torch.Size] = []
    model.convs.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape))
    with torch.no_grad():
        small = model(torch.zeros(2, 3, 20, 24))
        large = model(torch.zeros(1, 3, 64, 48))
    assert small.shape == (2, 2) and large.shape == (1, 2)
    assert [s[-2:] for s in seen] == [(32, 32), (32, 32)]
    # A constant image is the same constant after resizing: same logits whatever its size.
    with torch.no_grad():
        assert torch.allclose(model(torch.full((1, 3, 32, 32), 0.3)), model(torch.full((1, 3, 50, 70), 0.3)), atol=1e-5)
