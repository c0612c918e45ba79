"""Tests for cfx.imageio: every mode decodes, bad files are one-line errors,
outputs (including 16-bit colour PNG) are written atomically."""

from __future__ import annotations

import io
import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cfx import imageio
from cfx.imageio import (
    ImageError,
    atomic_write_bytes,
    load_image,
    output_suffix,
    save_image,
)


def _gradient_rgb(h: int = 12, w: int = 16) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 10, y * 12, (x + y) * 5], axis=2).astype(np.uint8)


def _save(im: Image.Image, path: Path, **kw) -> Path:
    im.save(path, **kw)
    return path


# ---------------------------------------------------------------- modes


def test_rgb_png_round_trip(tmp_path: Path) -> None:
    arr = _gradient_rgb()
    img = load_image(_save(Image.fromarray(arr), tmp_path / "c.png"))
    assert img.rgb.dtype == np.float32 and img.rgb.shape == (12, 16, 3)
    np.testing.assert_allclose(img.rgb, arr / 255.0, atol=1e-6)
    assert img.alpha is None and img.bit_depth == 8 and img.mode == "RGB"
    assert not img.is_gray and img.warnings == []


def test_gray_l_and_bilevel(tmp_path: Path) -> None:
    gray = np.arange(0, 240, dtype=np.uint8).reshape(12, 20)
    img = load_image(_save(Image.fromarray(gray, "L"), tmp_path / "g.png"))
    assert img.is_gray and img.rgb.shape == (12, 20, 3) and img.mode == "L"
    np.testing.assert_allclose(img.rgb[..., 1], gray / 255.0, atol=1e-6)
    assert np.array_equal(img.rgb[..., 0], img.rgb[..., 2])

    bilevel = Image.fromarray(gray > 100).convert("1")
    img1 = load_image(_save(bilevel, tmp_path / "b.png"))
    assert img1.mode == "1" and img1.is_gray
    assert set(np.unique(img1.rgb)) <= {0.0, 1.0}


def test_rgb_with_equal_channels_is_gray(tmp_path: Path) -> None:
    g = np.arange(100, dtype=np.uint8).reshape(10, 10)
    arr = np.stack([g, g + 1, g + 2], axis=2)  # within 2/255
    assert load_image(_save(Image.fromarray(arr), tmp_path / "g.png")).is_gray
    arr[0, 0] = (0, 50, 0)
    assert not load_image(_save(Image.fromarray(arr), tmp_path / "c.png")).is_gray


def test_la_and_rgba_keep_alpha(tmp_path: Path) -> None:
    la = np.zeros((6, 8, 2), dtype=np.uint8)
    la[..., 0], la[..., 1] = 128, np.arange(8, dtype=np.uint8) * 30
    img = load_image(_save(Image.fromarray(la, "LA"), tmp_path / "la.png"))
    assert img.is_gray and img.alpha is not None and img.alpha.shape == (6, 8)
    np.testing.assert_allclose(img.alpha[0], np.arange(8) * 30 / 255.0, atol=1e-6)

    rgba = np.dstack([_gradient_rgb(6, 8), np.full((6, 8), 77, np.uint8)])
    img = load_image(_save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png"))
    assert img.alpha is not None and img.alpha.dtype == np.float32
    np.testing.assert_allclose(img.alpha, 77 / 255.0, atol=1e-6)
    np.testing.assert_allclose(img.rgb, rgba[..., :3] / 255.0, atol=1e-6)


def test_palette_with_and_without_transparency(tmp_path: Path) -> None:
    pal = Image.new("P", (4, 3))
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.putpixel((1, 1), 1)
    img = load_image(_save(pal, tmp_path / "p.png"))
    assert img.mode == "P" and img.alpha is None and not img.is_gray
    assert tuple(img.rgb[0, 0]) == (1.0, 0.0, 0.0) and tuple(img.rgb[1, 1]) == (0.0, 0.0, 1.0)

    img_t = load_image(_save(pal, tmp_path / "pt.png", transparency=0))
    assert img_t.alpha is not None
    assert img_t.alpha[0, 0] == 0.0 and img_t.alpha[1, 1] == 1.0


def test_cmyk_jpeg_converted_with_warning(tmp_path: Path) -> None:
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # red
    img = load_image(_save(cmyk, tmp_path / "k.jpg", quality=95))
    assert img.mode == "CMYK" and img.rgb.shape == (8, 8, 3)
    assert any(w.startswith("CMYK converted to RGB") for w in img.warnings)
    r, g, b = img.rgb[4, 4]
    assert r > 0.8 and g < 0.2 and b < 0.2


def test_16bit_gray_keeps_precision(tmp_path: Path) -> None:
    a = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)
    for name in ("g16.png", "g16.tif"):
        img = load_image(_save(Image.fromarray(a), tmp_path / name))
        assert img.bit_depth == 16 and img.is_gray and img.mode.startswith("I")
        np.testing.assert_allclose(img.rgb[..., 0], a / 65535.0, atol=1e-6)
        # more than 256 distinct levels survive
        assert len(np.unique(img.rgb[..., 0])) > 256


def test_int32_and_float_modes_scaled(tmp_path: Path) -> None:
    i32 = np.array([[-1000, 0], [500, 3000]], dtype=np.int32)
    img = load_image(_save(Image.fromarray(i32, "I"), tmp_path / "i.tif"))
    assert img.bit_depth == 16 and img.rgb.min() == 0.0 and img.rgb.max() == 1.0
    assert any("rescaled" in w for w in img.warnings)

    f = np.array([[0.0, 0.25], [0.5, 1.0]], dtype=np.float32)
    img = load_image(_save(Image.fromarray(f, "F"), tmp_path / "f.tif"))
    np.testing.assert_allclose(img.rgb[..., 0], f, atol=1e-7)
    assert img.warnings == []


def test_exif_orientation_applied(tmp_path: Path) -> None:
    im = Image.new("RGB", (40, 20), (255, 0, 0))
    im.paste((0, 0, 255), (0, 0, 10, 20))  # left quarter blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    path = _save(im, tmp_path / "rot.jpg", exif=exif.tobytes(), quality=95)
    img = load_image(path)
    assert img.rgb.shape == (40, 20, 3)  # H and W swapped
    top = img.rgb[2, 10]
    assert top[2] > 0.8 and top[0] < 0.2  # blue band moved to the top


def test_animated_gif_first_frame_and_warning(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    img = load_image(path)
    assert "animated image: using the first of 3 frames" in img.warnings
    assert img.rgb[5, 5, 0] > 0.9 and img.rgb[5, 5, 1] < 0.1


# ---------------------------------------------------------------- bad files


def _assert_error(path: Path, *words: str) -> ImageError:
    with pytest.raises(ImageError) as info:
        load_image(path)
    err = info.value
    text = str(err)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert err.path == path
    for word in words:
        assert word in err.reason
    return err


def test_missing_empty_random_text(tmp_path: Path) -> None:
    _assert_error(tmp_path / "nope.png", "no such file")
    (tmp_path / "empty.jpg").write_bytes(b"")
    _assert_error(tmp_path / "empty.jpg", "empty")
    (tmp_path / "rand.png").write_bytes(np.random.default_rng(0).bytes(4096))
    _assert_error(tmp_path / "rand.png", "not a recognised image")
    (tmp_path / "text.png").write_text("hello, I am not a picture\n")
    _assert_error(tmp_path / "text.png", "not a recognised image")
    _assert_error(tmp_path, "directory")


@pytest.mark.parametrize("fmt,name", [("PNG", "t.png"), ("JPEG", "t.jpg")])
def test_truncated_files_are_errors(tmp_path: Path, fmt: str, name: str) -> None:
    noise = np.random.default_rng(1).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, fmt)
    data = buf.getvalue()
    path = tmp_path / name
    path.write_bytes(data[: len(data) // 2])
    _assert_error(path, "truncated")


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_decompression_bomb_refused_from_header(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(100_000, 100_000))
    err = _assert_error(path)
    assert "too large" in err.reason
    # our own limit applies too
    small = tmp_path / "small.png"
    Image.new("RGB", (100, 100)).save(small)
    with pytest.raises(ImageError, match="too large"):
        load_image(small, max_pixels=5000)


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.png"
    Image.new("L", (4, 4)).save(path)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read mode-000 files (root)")
        _assert_error(path, "permission denied")
    finally:
        path.chmod(0o644)


def test_image_error_pickles() -> None:
    err = pickle.loads(pickle.dumps(ImageError(Path("x.png"), "bad\nthing")))
    assert str(err) == "x.png: bad thing" and err.reason == "bad thing"


# ---------------------------------------------------------------- saving


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp", ".webp", ".jpg"])
def test_save_8bit_round_trip(tmp_path: Path, suffix: str) -> None:
    rgb = _gradient_rgb(20, 24) / 255.0
    path = tmp_path / f"out{suffix}"
    save_image(path, rgb)
    back = load_image(path)
    tol = 1e-6 if suffix in (".png", ".tif", ".bmp") else 0.12
    np.testing.assert_allclose(back.rgb, rgb, atol=tol)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_save_alpha_png_and_jpeg_refuses_alpha(tmp_path: Path) -> None:
    rgb = np.full((5, 6, 3), 0.5, np.float32)
    alpha = np.linspace(0, 1, 30, dtype=np.float32).reshape(5, 6)
    save_image(tmp_path / "a.png", rgb, alpha)
    back = load_image(tmp_path / "a.png")
    np.testing.assert_allclose(back.alpha, alpha, atol=0.5 / 255 + 1e-6)
    with pytest.raises(ValueError):
        save_image(tmp_path / "a.jpg", rgb, alpha)


def _read_png16(data: bytes) -> tuple[dict, np.ndarray]:
    """Parse our own 16-bit PNG (filter 0 rows only) back into an array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, idat = 8, {}, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, payload = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF
        chunks[kind] = payload
        idat += payload if kind == b"IDAT" else b""
        pos += 12 + length
    w, h, depth, ctype = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    ch = 3 if ctype == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * ch * 2)
    assert (raw[:, 0] == 0).all()
    pixels = raw[:, 1:].copy().view(">u2").reshape(h, w, ch)
    return {"w": w, "h": h, "depth": depth, "ctype": ctype, "kinds": list(chunks)}, pixels


def test_save_16bit_png_rgb_and_rgba(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    rgb = rng.random((7, 9, 3), dtype=np.float32)
    rgb[0, 0] = (1.0, 0.0, 1000 / 65535)
    save_image(tmp_path / "c16.png", rgb, bit_depth=16)
    info, px = _read_png16((tmp_path / "c16.png").read_bytes())
    assert (info["w"], info["h"], info["depth"], info["ctype"]) == (9, 7, 16, 2)
    assert tuple(px[0, 0]) == (65535, 0, 1000)
    np.testing.assert_allclose(px / 65535.0, rgb, atol=0.5 / 65535 + 1e-7)
    # Pillow can open it (as 8-bit) with the right size
    with Image.open(tmp_path / "c16.png") as im:
        assert im.size == (9, 7)

    alpha = np.full((7, 9), 0.25, np.float32)
    save_image(tmp_path / "a16.png", rgb, alpha, bit_depth=16)
    info, px = _read_png16((tmp_path / "a16.png").read_bytes())
    assert info["ctype"] == 6 and px.shape == (7, 9, 4)
    assert (px[..., 3] == round(0.25 * 65535)).all()
    with pytest.raises(ValueError):
        save_image(tmp_path / "c16.jpg", rgb, bit_depth=16)


def test_output_suffix_rules() -> None:
    assert output_suffix(".JPG", 8, False) == ".jpg"
    assert output_suffix(".jpeg", 8, False) == ".jpeg"
    assert output_suffix(".jpg", 16, False) == ".png"
    assert output_suffix(".tif", 16, True) == ".png"
    assert output_suffix(".jpg", 8, True) == ".png"
    assert output_suffix(".bmp", 8, True) == ".png"
    assert output_suffix(".webp", 8, True) == ".webp"
    assert output_suffix(".tiff", 8, True) == ".tiff"
    assert output_suffix(".gif", 8, False) == ".png"
    assert output_suffix(".xyz", 8, False) == ".png"
    assert output_suffix("", 8, False) == ".png"


# ---------------------------------------------------------------- atomic writes


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "x.png"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["x.png"]


def test_atomic_write_failure_removes_temp(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "x.png"
    target.write_bytes(b"old")

    def boom(src: str, dst: str) -> None:
        assert Path(src).name.startswith(".x.png.tmp-")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(imageio.os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    with pytest.raises(ImageError, match="cannot write"):
        save_image(target, np.zeros((2, 2, 3)))
    assert os.listdir(tmp_path) == ["x.png"] and target.read_bytes() == b"old"


def test_atomic_write_bad_data_removes_temp(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        atomic_write_bytes(tmp_path / "y.png", 12345)  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []


def test_jpeg_roundtrip_is_what_save_image_writes(tmp_path: Path) -> None:
    from cfx.imageio import is_jpeg, jpeg_roundtrip, quantize_rgb8

    rgb = np.random.default_rng(3).random((24, 40, 3)).astype(np.float32)
    save_image(tmp_path / "x.jpg", rgb)
    save_image(tmp_path / "x.png", rgb)
    with Image.open(tmp_path / "x.jpg") as written:
        assert np.array_equal(jpeg_roundtrip(rgb), np.asarray(written.convert("RGB")))
    with Image.open(tmp_path / "x.png") as written:
        assert np.array_equal(quantize_rgb8(rgb), np.asarray(written.convert("RGB")))
    assert is_jpeg("a.JPEG") and is_jpeg(Path("b.jpg")) and not is_jpeg("c.png")
