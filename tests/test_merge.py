"""The full-resolution merge and lightness (cfx.colorize) pinned to the implementation
they replaced: a copy of the earlier float code is kept here, and every example photo,
merged with a gamut-spanning chroma field, must come out within one level (of 255, and of
65535 for 16 bits) of what it wrote."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cfx.bench import reference_lightness, reference_merge
from cfx.color import gray_to_lightness
from cfx.colorize import image_lightness, merge_full_resolution
from cfx.imageio import LoadedImage, load_image

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PHOTOS = sorted(p for p in EXAMPLES.glob("*_photos/*") if p.suffix.lower() in (".jpg", ".png"))

# The earlier implementation, kept verbatim in the benchmark (its "before" column).
old_image_lightness = reference_lightness
old_merge_full_resolution = reference_merge


def old_quantize(rgb: np.ndarray, scale: int, dtype: type) -> np.ndarray:
    f = np.nan_to_num(rgb.astype(np.float32), nan=0.0)
    return np.rint(np.clip(f, 0.0, 1.0) * scale).astype(dtype)


# ---------------------------------------------------------------- chroma fields


def chroma_field(height: int, width: int, seed: int) -> torch.Tensor:
    """a*b* (2×h×w) at a render size, spanning and overshooting the sRGB gamut (|a*|, |b*| up to 110)."""
    g = torch.Generator().manual_seed(seed)
    h, w = max(8, height * 384 // max(height, width)), max(8, width * 384 // max(height, width))
    coarse = (torch.rand(1, 2, 6, 6, generator=g) * 2 - 1) * 110
    return F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)[0].clamp(-110, 110)


@pytest.fixture(scope="module", params=PHOTOS, ids=lambda p: p.name)
def photo(request) -> LoadedImage:
    return load_image(request.param)


def test_there_are_example_photos() -> None:
    assert len(PHOTOS) >= 60


def test_lightness_matches_the_earlier_float_code(photo: LoadedImage) -> None:
    new, old = image_lightness(photo), old_image_lightness(photo)
    assert new.shape == old.shape and new.dtype == torch.float32
    assert float((new - old).abs().max()) < 2e-3


@pytest.mark.parametrize("seed", [0, 1])
def test_merge_within_one_level_of_the_earlier_code(photo: LoadedImage, seed: int) -> None:
    lightness = old_image_lightness(photo)
    ab = chroma_field(*lightness.shape[1:], seed)
    old = old_merge_full_resolution(lightness, ab)
    for bits, scale, dtype in ((8, 255, np.uint8), (16, 65535, np.uint16)):
        new = merge_full_resolution(lightness, ab, bit_depth=bits)
        assert new.dtype == dtype and new.shape == old.shape
        diff = np.abs(new.astype(np.int64) - old_quantize(old, scale, dtype).astype(np.int64))
        assert diff.max() <= 1, (bits, diff.max())
        if bits == 8:
            assert (diff == 0).mean() > 0.99  # nearly every pixel identical
    floats = merge_full_resolution(lightness, ab)
    assert floats.dtype == np.float32 and np.abs(floats - old).max() < 1e-3


def test_merge_of_zero_chroma_is_gray() -> None:
    lightness = gray_to_lightness(torch.linspace(0, 1, 256).reshape(1, 1, 256).expand(1, 7, 256).contiguous())
    out = merge_full_resolution(lightness, torch.zeros(2, 3, 5), bit_depth=8)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    assert np.abs(out[0, :, 0].astype(int) - np.arange(256)).max() <= 1  # gray in, the same gray out


@pytest.mark.parametrize("shape", [(1, 1), (3, 1000), (1000, 3), (1037, 61)])
def test_merge_odd_shapes_within_one_level(shape: tuple[int, int]) -> None:
    g = torch.Generator().manual_seed(3)
    lightness = torch.rand(1, *shape, generator=g) * 100
    ab = (torch.rand(2, 5, 4, generator=g) * 2 - 1) * 110
    old = old_quantize(old_merge_full_resolution(lightness, ab), 255, np.uint8)
    new = merge_full_resolution(lightness, ab, bit_depth=8)
    assert np.abs(new.astype(int) - old.astype(int)).max() <= 1


def test_lightness_of_16_bit_and_colour_images() -> None:
    g = np.random.default_rng(0)
    gray16 = (g.integers(0, 65536, (9, 11)) / 65535.0).astype(np.float32)
    colour = (g.integers(0, 256, (9, 11, 3)) / 255.0).astype(np.float32)  # decoded 8-bit levels
    for rgb, mode, depth in ((np.repeat(gray16[..., None], 3, 2), "I;16", 16), (colour, "RGB", 8)):
        image = LoadedImage(Path("x.png"), rgb, None, depth, mode != "RGB", mode)
        assert float((image_lightness(image) - old_image_lightness(image)).abs().max()) < 2e-3


def test_lightness_of_strided_pixels() -> None:
    """Pixels of another layout (a C×H×W tensor seen as H×W×C, as the detector trainer's
    colorizers get them; a crop) go through the level tables too."""
    g = np.random.default_rng(2)
    planar = (g.integers(0, 256, (3, 9, 20)) / 255.0).astype(np.float32).transpose(1, 2, 0)
    gray = np.repeat((g.integers(0, 256, (9, 20)) / 255.0).astype(np.float32)[..., None], 3, 2)[:, 3:14]
    for rgb, mode in ((planar, "RGB"), (gray, "L")):
        image = LoadedImage(Path("x.png"), rgb, None, 8, mode == "L", mode)
        assert float((image_lightness(image) - old_image_lightness(image)).abs().max()) < 2e-3


def test_lightness_of_float_images_uses_the_formula() -> None:
    gray = np.random.default_rng(1).random((5, 7)).astype(np.float32)  # not on a grid of levels
    image = LoadedImage(Path("x.tif"), np.repeat(gray[..., None], 3, 2), None, 16, True, "F")
    assert float((image_lightness(image) - old_image_lightness(image)).abs().max()) < 1e-3


@pytest.mark.parametrize("bits", [8, 16])
def test_save_image_takes_levels(tmp_path: Path, bits: int) -> None:
    from cfx.imageio import save_image

    g = np.random.default_rng(2)
    scale = (1 << bits) - 1
    levels = g.integers(0, scale + 1, (6, 9, 3)).astype(np.uint8 if bits == 8 else np.uint16)
    alpha = g.random((6, 9)).astype(np.float32)
    for name, kwargs in (("plain.png", {}), ("alpha.png", {"alpha": alpha})):
        save_image(tmp_path / name, levels, bit_depth=bits, **kwargs)
        back = load_image(tmp_path / name)
        np.testing.assert_allclose(back.rgb, levels / scale, atol=1e-6)  # the levels written as they are
        if "alpha" in kwargs:
            np.testing.assert_allclose(back.alpha, np.rint(alpha * scale) / scale, atol=1e-6)
    save_image(tmp_path / "eight.png", levels, bit_depth=8)  # rescaled to 8 bits where needed
    expected = np.rint(levels / scale * 255) / 255
    np.testing.assert_allclose(load_image(tmp_path / "eight.png").rgb, expected, atol=1e-6)
