"""Training reads pixels as inference does: 16 bits kept, EXIF orientation applied,
warnings silenced by --quiet, and one rule for hidden files in every folder walk."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cfx.data.folder import center_crop, load_folder, load_images, random_crop, to_uint8, unit_rgb
from cfx.imageio import encode_png16, load_image
from tests.conftest import smooth_image


def _gray16(path: Path, height: int = 48, width: int = 64) -> np.ndarray:
    """A 16-bit gray PNG (Pillow mode I;16): a ramp over the whole range, mean 0.5."""
    ramp = np.linspace(0, 65535, width).round().astype(np.uint16)
    values = np.tile(ramp, (height, 1))
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I;16")
    return values


def test_a_16_bit_gray_png_trains_at_16_bits_not_clipped_to_white(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "train").mkdir(parents=True)
    (root / "val").mkdir()
    values = _gray16(root / "train" / "ramp.png")
    _gray16(root / "val" / "ramp.png")
    image = load_folder(root).train.images[0]
    assert image.dtype == torch.uint16 and tuple(image.shape) == (3, 48, 64)
    assert torch.equal(image[0], torch.from_numpy(values.astype(np.int32)).to(torch.uint16))
    crop = random_crop(image, 32, torch.Generator().manual_seed(0), min_scale=1.0)
    assert 0.45 < center_crop(image, 32).mean().item() < 0.55  # the ramp's mean: not clipped to white (1.0)
    assert 0.2 < crop.mean().item() < 0.8 and crop.max().item() <= 1.0


def test_a_16_bit_colour_png_keeps_its_low_bits(tmp_path: Path) -> None:
    pixels = (
        smooth_image(40, 48, 3).astype(np.uint16) * 257 + np.arange(48, dtype=np.uint16)[None, :, None] % 200
    ).astype(np.uint16)
    (tmp_path / "c16.png").write_bytes(encode_png16(pixels))
    image = load_images(tmp_path).images[0]
    assert image.dtype == torch.uint16
    assert np.array_equal(image.permute(1, 2, 0).numpy(), pixels)
    assert np.allclose(unit_rgb(image), load_image(tmp_path / "c16.png").rgb, atol=1e-7)
    assert to_uint8(image).dtype == torch.uint8


def test_16_bit_images_are_resized_at_16_bits(tmp_path: Path) -> None:
    _gray16(tmp_path / "big.png", 300, 400)
    image = load_images(tmp_path, max_short_side=60).images[0]
    assert image.dtype == torch.uint16 and tuple(image.shape) == (3, 60, 80)
    assert 0.45 < image.float().mean().item() / 65535 < 0.55
    assert (image.int() % 257 != 0).any()  # values between the 8-bit levels (v * 257): not rounded to 8 bits


def test_8_bit_images_are_the_bytes_the_decoder_gives_oriented(tmp_path: Path) -> None:
    pixels = smooth_image(40, 56, 4)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    Image.fromarray(pixels).save(tmp_path / "rotated.jpg", quality=95, exif=exif.tobytes())
    image = load_images(tmp_path).images[0]
    assert image.dtype == torch.uint8 and tuple(image.shape) == (3, 56, 40)
    expected = np.rint(load_image(tmp_path / "rotated.jpg").rgb * 255).astype(np.uint8)
    assert np.array_equal(image.permute(1, 2, 0).numpy(), expected)


def test_unreadable_images_are_skipped_with_a_warning_that_quiet_silences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Image.fromarray(smooth_image(40, 40, 1)).save(tmp_path / "good.png")
    buffer = io.BytesIO()
    Image.fromarray(smooth_image(40, 40, 2)).save(buffer, "PNG")
    (tmp_path / "truncated.png").write_bytes(buffer.getvalue()[:60])
    assert len(load_images(tmp_path, quiet=True)) == 1
    assert capsys.readouterr().err == ""
    assert len(load_images(tmp_path)) == 1
    err = capsys.readouterr().err
    assert err.startswith("cfx: warning: ") and "truncated.png" in err and "skipped" in err


def test_one_rule_for_hidden_files_in_every_folder_walk(tmp_path: Path) -> None:
    from cfx.evaluate import image_paths
    from cfx.inputs import InputItem, image_files, iter_inputs

    root = tmp_path / "photos"
    for name in ("a.png", ".hidden.png", "._fork.png", ".thumbnails/t.png", "sub/b.png", "sub/.c.png.tmp-12"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(smooth_image(40, 40, 0)).save(root / name, "PNG")
    expected = [root / "a.png", root / "sub" / "b.png"]
    assert image_files(root) == expected
    assert image_paths(root) == expected
    assert [item.path for item in iter_inputs([str(root)]) if isinstance(item, InputItem)] == expected
    assert load_images(root).files == expected


def test_cfx_train_colorizer_runs_on_16_bit_photos(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cfx.cli.main import app

    data = tmp_path / "data"
    for split, count in (("train", 4), ("val", 1)):
        (data / split).mkdir(parents=True)
        for i in range(count):
            pixels = smooth_image(40, 48, i + 10 * len(split)).astype(np.uint16) * 257
            (data / split / f"{i}.png").write_bytes(encode_png16(pixels))
    out = tmp_path / "w.safetensors"
    args = ["--data", data, "-m", "iizuka.tiny", "-o", out, "--epochs", "1", "--batch-size", "2", "--quiet"]
    result = CliRunner().invoke(app, ["train", "colorizer", *map(str, args)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert out.is_file()
