"""Decode and encode images for every cfx command, never with a traceback.

``load_image`` turns any file Pillow can read into a float32 sRGB array in
[0, 1] (plus an optional alpha plane), applying EXIF orientation, converting
palette / CMYK / 16-bit / float modes, taking the first frame of animations and
refusing decompression bombs before any pixel memory is allocated.  Every
failure is an :class:`ImageError` whose ``str()`` is one line,
``"<path>: <reason>"``.

The pixel limit (:data:`cfx.limits.MAX_PIXELS`, or ``max_pixels``) is checked from the
header; Pillow's own decompression-bomb limit is raised to it, so cfx's limit, not
Pillow's lower one (179 MP), decides.

The input's metadata (EXIF, ICC profile, dpi, PNG text) is read with its pixels
(``LoadedImage.metadata``) and written with an output by ``save_image(...,
metadata=)``; :mod:`cfx.metadata` says what is kept and how provenance is recorded.

``save_image`` encodes to memory first and writes atomically (hidden temp file
in the target directory, fsync, rename), so an interrupted run never leaves a
half-written image.  16-bit colour output goes through a minimal PNG encoder,
because Pillow cannot write 16-bit-per-channel RGB(A) PNGs.

Only numpy and Pillow are used here (no torch). Pillow reads 16-bit colour PNGs (48-bit
scans) at 8 bits; :func:`_decode_png16` recovers the other 8.
"""

from __future__ import annotations

import io
import os
import secrets
import stat
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cfx.limits import MAX_PIXELS
from cfx.metadata import ImageMetadata, pillow_options, png_chunks, read_metadata

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageError",
    "LoadedImage",
    "atomic_write_bytes",
    "load_image",
    "output_suffix",
    "save_image",
]

IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif"})

# PIL modes that decode to R = G = B exactly (their single channel copied three times).
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
_GRAY_TOLERANCE_8BIT = 2  # RGB counts as gray if channels differ by <= 2/255
_MAX_REASON_CHARS = 200

_SAVE_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".gif": "GIF",
}
_NO_ALPHA_SUFFIXES = frozenset({".jpg", ".jpeg", ".bmp"})


class ImageError(Exception):
    """A file that cannot be read or written as an image.

    ``str(e)`` is a single line ``"<path>: <reason>"``.  The exception pickles
    cleanly (its args are ``(path, reason)``), so it can cross process
    boundaries such as DataLoader workers.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        reason = " ".join(str(reason).split()) or "unknown error"
        if len(reason) > _MAX_REASON_CHARS:
            reason = reason[: _MAX_REASON_CHARS - 3] + "..."
        super().__init__(Path(path), reason)
        self.path = Path(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class LoadedImage:
    """A decoded image: float32 sRGB pixels in [0, 1] and what we learnt."""

    path: Path
    rgb: np.ndarray  # float32 H x W x 3 in [0, 1]; gray sources have R=G=B
    alpha: np.ndarray | None  # float32 H x W in [0, 1], or None
    bit_depth: int  # 8 or 16
    is_gray: bool
    mode: str  # the PIL mode of the source (first frame)
    warnings: list[str] = field(default_factory=list)
    metadata: ImageMetadata = field(default_factory=ImageMetadata)  # what an output of it keeps

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the decoded image."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


# --------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------


def load_image(path: Path | str, max_pixels: int = MAX_PIXELS) -> LoadedImage:
    """Decode ``path`` fully; raise :class:`ImageError` on any problem.

    The declared size is checked against ``max_pixels`` from the header,
    before pixel data is decoded.  Truncated files are errors (Pillow's
    ``LOAD_TRUNCATED_IMAGES`` is never enabled here).
    """
    p = Path(path)
    _check_regular_nonempty(p)
    _let_pillow_open(max_pixels)
    try:
        with warnings.catch_warnings():
            # Our own max_pixels check (below) is the authority on size; the
            # hard DecompressionBombError from Pillow is still an error.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # Pillow's own warnings about damaged files ("Corrupt EXIF data",
            # "Truncated File Read") would reach stderr as two unattributed
            # lines; a damaged file that cannot be decoded is an ImageError.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
            with Image.open(p) as im:
                _check_declared_size(p, im.size, max_pixels)
                loaded = _decode_opened(p, im)
                loaded.metadata = read_metadata(im)
                return loaded
    except ImageError:
        raise
    except Exception as exc:  # noqa: BLE001 - contract: never a traceback
        raise ImageError(p, _reason_for(exc)) from exc


def _let_pillow_open(max_pixels: int) -> None:
    """Raise Pillow's decompression-bomb limit (it refuses at twice it) to ``max_pixels``, never lower it."""
    if Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels


def _check_regular_nonempty(p: Path) -> None:
    """Reject missing, non-regular and zero-byte files without opening them."""
    try:
        st = p.stat()
    except OSError as exc:
        raise ImageError(p, _reason_for(exc)) from exc
    if stat.S_ISDIR(st.st_mode):
        raise ImageError(p, "is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(p, "not a regular file")
    if st.st_size == 0:
        raise ImageError(p, "empty file (0 bytes)")


def _check_declared_size(p: Path, size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageError(p, f"invalid image size {width}x{height}")
    if width * height > max_pixels:
        raise ImageError(
            p,
            f"image too large: {width}x{height} = {width * height} pixels exceeds "
            f"the limit of {max_pixels} (possible decompression bomb; --max-pixels raises the limit)",
        )


def _reason_for(exc: BaseException) -> str:
    """A short, human reason for an exception raised while reading/writing."""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if isinstance(exc, UnidentifiedImageError):
        return "not a recognised image file"
    if isinstance(exc, Image.DecompressionBombError):
        first = str(exc).split(",")[0].strip()
        return f"image too large: {first} (possible decompression bomb)"
    if isinstance(exc, MemoryError):
        return "not enough memory to decode the image"
    message = str(exc).strip()
    if "truncated" in message:
        return f"truncated or corrupt image data ({message})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    detail = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return f"cannot decode image ({detail})"


def _decode_opened(p: Path, im: Image.Image) -> LoadedImage:
    notes: list[str] = []
    frames = int(getattr(im, "n_frames", 1) or 1)
    if frames > 1:
        im.seek(0)
        notes.append(f"animated image: using the first of {frames} frames")
    source_mode = im.mode
    if _is_16bit_colour(im):
        if im.format == "PNG":
            return _decode_png16(p, im, source_mode, notes)
        notes.append(f"16-bit colour {im.format} read at 8 bits (only 16-bit colour PNGs keep their depth)")
    im.load()  # force a full decode: truncated data raises here
    im = _apply_orientation(im, notes)
    im = _to_sRGB(im, notes)
    rgb, alpha, bit_depth, is_gray = _to_arrays(im, notes)
    return LoadedImage(p, rgb, alpha, bit_depth, is_gray, source_mode, notes)


def _is_16bit_colour(im: Image.Image) -> bool:
    """16 bits per colour channel (RGB or RGBA), which Pillow decodes at 8."""
    if im.mode not in ("RGB", "RGBA") or not im.tile:
        return False
    rawmode = im.tile[0][3]
    if isinstance(rawmode, tuple):  # TIFF: (rawmode, ...)
        rawmode = rawmode[0] if rawmode else None
    return isinstance(rawmode, str) and ";16" in rawmode


def _decode_png16(p: Path, im: Image.Image, source_mode: str, notes: list[str]) -> LoadedImage:
    """Decode a 16-bit colour PNG at full depth (EXIF orientation applied).

    Pillow unfilters the PNG rows itself but keeps only one byte of each 16-bit sample:
    the big-endian unpacker (``RGB;16B``, its default) the high byte, the little-endian
    one (``RGB;16L``) the second byte, which in a PNG's big-endian data is the low byte.
    Decoding twice, once with each, gives every bit.
    """
    im.load()  # force a full decode: truncated data raises here
    high = _oriented_array(im, notes)
    with Image.open(p) as again:
        again.tile = [_with_rawmode(tile, tile[3][: -len("16B")] + "16L") for tile in again.tile]
        again.load()
        low = _oriented_array(again, [])
    planes = np.empty(high.shape, dtype=np.float32)
    for top in range(0, high.shape[0], 256):  # in strips: no full-size integer temporaries
        rows = slice(top, top + 256)
        planes[rows] = (high[rows].astype(np.uint16) << 8) | low[rows]
        planes[rows] *= np.float32(1.0 / 65535.0)
    if im.info.get("icc_profile"):
        notes.append("embedded ICC profile not applied to 16-bit data; assuming sRGB")
    rgb = np.ascontiguousarray(planes[..., :3])
    alpha = np.ascontiguousarray(planes[..., 3]) if planes.shape[2] == 4 else None
    return LoadedImage(p, rgb, alpha, 16, _rgb_is_gray(high[..., :3]), source_mode, notes)


def _oriented_array(im: Image.Image, notes: list[str]) -> np.ndarray:
    return np.asarray(_apply_orientation(im, notes))


def _with_rawmode(tile: Any, rawmode: str) -> Any:
    """``tile`` (Pillow's ``(codec, extents, offset, args)``) with another rawmode."""
    return tile._replace(args=rawmode) if hasattr(tile, "_replace") else (tile[0], tile[1], tile[2], rawmode)


def _apply_orientation(im: Image.Image, notes: list[str]) -> Image.Image:
    try:
        rotated = ImageOps.exif_transpose(im)
    except Exception as exc:  # noqa: BLE001 - bad EXIF must not kill a decode
        notes.append(f"EXIF orientation ignored ({type(exc).__name__})")
        return im
    return rotated if rotated is not None else im


def _to_sRGB(im: Image.Image, notes: list[str]) -> Image.Image:
    """Convert CMYK / colour images with an embedded ICC profile to sRGB."""
    icc = im.info.get("icc_profile")
    if im.mode == "CMYK":
        converted = _icc_to_srgb(im, icc, "RGB") if icc else None
        notes.append("CMYK converted to RGB" + ("" if converted else " (no ICC profile used)"))
        return converted if converted is not None else im.convert("RGB")
    if icc and im.mode in ("RGB", "RGBA"):
        converted = _icc_to_srgb(im, icc, im.mode)
        if converted is None:
            notes.append("embedded ICC profile could not be applied; assuming sRGB")
        return converted if converted is not None else im
    return im


def _icc_to_srgb(im: Image.Image, icc: bytes, out_mode: str) -> Image.Image | None:
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        if out_mode == "RGBA" and im.mode == "RGBA":
            rgb = ImageCms.profileToProfile(im.convert("RGB"), src, dst, outputMode="RGB")
            rgb.putalpha(im.getchannel("A"))
            return rgb
        return ImageCms.profileToProfile(im, src, dst, outputMode=out_mode)
    except Exception:  # noqa: BLE001 - fall back to a plain conversion
        return None


def _to_arrays(im: Image.Image, notes: list[str]) -> tuple[np.ndarray, np.ndarray | None, int, bool]:
    """(rgb, alpha, bit_depth, is_gray) for the (loaded, oriented) image."""
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        gray = np.asarray(im).astype(np.float32) / 65535.0
        return _gray3(gray), None, 16, True
    if mode == "I":
        return _gray3(_scale_int32(np.asarray(im), notes)), None, 16, True
    if mode == "F":
        return _gray3(_scale_float(np.asarray(im), notes)), None, 16, True
    if mode in ("1", "L"):
        return _gray3(_u8(np.asarray(im.convert("L")))), None, 8, True
    if mode in ("LA", "La"):
        la = np.asarray(im.convert("LA"))
        return _gray3(_u8(la[..., 0])), _u8(la[..., 1]), 8, True
    if _has_alpha(im):
        rgba = np.asarray(im.convert("RGBA"))
        return _u8(rgba[..., :3]), _u8(rgba[..., 3]), 8, _rgb_is_gray(rgba[..., :3])
    rgb = np.asarray(im if mode == "RGB" else im.convert("RGB"))
    return _u8(rgb), None, 8, _rgb_is_gray(rgb)


def _has_alpha(im: Image.Image) -> bool:
    if im.mode in ("RGBA", "RGBa", "PA", "LA", "La"):
        return True
    return im.mode in ("P", "RGB", "L") and "transparency" in im.info


def _u8(a: np.ndarray) -> np.ndarray:
    out = a.astype(np.float32)
    out *= np.float32(1.0 / 255.0)
    return out


def _gray3(gray: np.ndarray) -> np.ndarray:
    """H×W×3 whose three channels are the one plane ``gray`` (a view: a third of the memory).

    The view is writeable only so that torch can wrap it without a warning; writing to
    one channel writes all three (no cfx code writes into a decoded image).
    """
    gray = np.ascontiguousarray(gray, dtype=np.float32)
    return np.lib.stride_tricks.as_strided(gray, gray.shape + (3,), gray.strides + (0,), writeable=True)


def _rgb_is_gray(rgb_u8: np.ndarray) -> bool:
    """Whether no pixel's channels differ by more than the tolerance.

    A sparse grid of pixels is checked first: a colour photo almost always shows its
    colour there, and the full check (channel-wise maxima, not a reduction over the
    short last axis, which numpy does slowly) only runs for images that look gray.
    """
    for grid in (rgb_u8[::16, ::16], rgb_u8):
        r, g, b = (grid[..., k] for k in range(3))
        spread = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)  # uint8: no overflow
        if spread.size and int(spread.max()) > _GRAY_TOLERANCE_8BIT:
            return False
    return True


def _scale_int32(a: np.ndarray, notes: list[str]) -> np.ndarray:
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    if lo >= 0 and hi <= 65535:
        return a.astype(np.float32) / 65535.0
    notes.append(f"32-bit integer image rescaled from [{lo}, {hi}] to [0, 1]")
    return _minmax(a.astype(np.float64))


def _scale_float(a: np.ndarray, notes: list[str]) -> np.ndarray:
    a = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if lo >= 0.0 and hi <= 1.0:
        return a
    notes.append(f"floating-point image rescaled from [{lo:g}, {hi:g}] to [0, 1]")
    return _minmax(a.astype(np.float64))


def _minmax(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.zeros(a.shape, dtype=np.float32)
    return ((a - lo) / (hi - lo)).astype(np.float32)


# --------------------------------------------------------------------------
# encoding
# --------------------------------------------------------------------------


def output_suffix(input_suffix: str, bit_depth: int, has_alpha: bool) -> str:
    """The suffix an output should get so nothing (depth, alpha) is lost.

    16-bit → ``.png``; alpha with a JPEG/BMP input → ``.png``; GIF and unknown
    suffixes → ``.png``; otherwise the lower-cased input suffix.
    """
    suffix = input_suffix.lower()
    if suffix and not suffix.startswith("."):
        suffix = "." + suffix
    if bit_depth > 8:
        return ".png"
    if has_alpha and suffix in _NO_ALPHA_SUFFIXES:
        return ".png"
    if suffix == ".gif" or suffix not in IMAGE_SUFFIXES:
        return ".png"
    return suffix


def save_image(
    path: Path | str,
    rgb: np.ndarray,
    alpha: np.ndarray | None = None,
    bit_depth: int = 8,
    quality: int = 95,
    metadata: ImageMetadata | None = None,
) -> None:
    """Encode ``rgb`` (H×W×3 floats in [0, 1], or uint8 / uint16 levels) to ``path``, atomically.

    The format comes from the suffix.  ``bit_depth=16`` needs ``.png`` and
    writes a real 16-bit-per-channel RGB/RGBA PNG.  Asking a JPEG/BMP to carry
    alpha is a ``ValueError`` (use :func:`output_suffix`).  ``metadata``: EXIF, ICC
    profile, dpi and text written where the format has room (:mod:`cfx.metadata`).
    Write failures are :class:`ImageError`.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    fmt = _SAVE_FORMATS.get(suffix)
    if fmt is None:
        raise ValueError(f"{p}: unsupported output suffix {p.suffix!r}")
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, not {bit_depth}")
    rgb, alpha = _check_planes(rgb, alpha)
    if alpha is not None and suffix in _NO_ALPHA_SUFFIXES:
        raise ValueError(f"{p}: {fmt} cannot store alpha; choose the suffix with output_suffix()")
    if bit_depth == 16:
        if fmt != "PNG":
            raise ValueError(f"{p}: 16-bit output needs a .png suffix")
        data = encode_png16(_quantize(rgb, alpha, 65535, np.uint16), png_chunks(metadata) if metadata else ())
    else:
        options = pillow_options(metadata, fmt) if metadata else {}
        data = _encode_pillow(_quantize(rgb, alpha, 255, np.uint8), fmt, quality, options)
    try:
        atomic_write_bytes(p, data)
    except OSError as exc:
        raise ImageError(p, f"cannot write: {_reason_for(exc)}") from exc


def _check_planes(rgb: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"rgb must be a non-empty H x W x 3 array, got shape {rgb.shape}")
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.shape != rgb.shape[:2]:
            raise ValueError(f"alpha shape {alpha.shape} does not match rgb {rgb.shape[:2]}")
    return rgb, alpha


def _quantize(rgb: np.ndarray, alpha: np.ndarray | None, scale: int, dtype: type, rows: int = 256) -> np.ndarray:
    """Stack rgb (+alpha) and round floats in [0, 1] to integers 0..scale.

    ``rgb`` may also hold integer levels (uint8 or uint16, as the colorizers' merge
    writes them): at the wanted depth they are used as they are, else rescaled.
    Works in strips of ``rows`` rows, so a large image needs only its integer
    output and one float strip at a time.
    """
    if rgb.dtype == dtype and alpha is None:
        return rgb
    levels = np.issubdtype(rgb.dtype, np.integer)
    height, width = rgb.shape[:2]
    channels = 3 if alpha is None else 4
    out = np.empty((height, width, channels), dtype=dtype)
    for top in range(0, height, rows):
        strip = slice(top, top + rows)
        f = np.empty((min(rows, height - top), width, channels), dtype=np.float32)
        f[..., :3] = rgb[strip]
        if levels:
            f[..., :3] *= np.float32(1.0 / np.iinfo(rgb.dtype).max)
        if alpha is not None:
            f[..., 3] = alpha[strip]
        np.nan_to_num(f, copy=False, nan=0.0)
        np.clip(f, 0.0, 1.0, out=f)
        f *= scale
        np.rint(f, out=f)
        out[strip] = f
    return out


def _encode_pillow(pixels: np.ndarray, fmt: str, quality: int, options: dict[str, Any] | None = None) -> bytes:
    mode = "RGBA" if pixels.shape[2] == 4 else "RGB"
    im = Image.fromarray(pixels, mode)
    buf = io.BytesIO()
    encoding = {"quality": int(quality)} if fmt in ("JPEG", "WEBP") else {}
    try:
        im.save(buf, fmt, **encoding, **(options or {}))
    except (TypeError, ValueError, KeyError, struct.error):
        if not options:
            raise
        buf = io.BytesIO()  # metadata Pillow cannot write again must not cost the image
        im.save(buf, fmt, **encoding)
    return buf.getvalue()


def is_jpeg(path: Path | str) -> bool:
    """Whether ``path``'s suffix makes :func:`save_image` write a JPEG."""
    return _SAVE_FORMATS.get(Path(path).suffix.lower()) == "JPEG"


def quantize_rgb8(rgb: np.ndarray) -> np.ndarray:
    """H×W×3 floats in [0, 1] → the uint8 pixels :func:`save_image` writes for them."""
    return _quantize(*_check_planes(rgb, None), 255, np.uint8)


def jpeg_roundtrip(rgb: np.ndarray, quality: int = 95) -> np.ndarray:
    """H×W×3 floats in [0, 1] → uint8 pixels of the JPEG :func:`save_image` would write, decoded again."""
    data = _encode_pillow(quantize_rgb8(rgb), "JPEG", quality)
    with Image.open(io.BytesIO(data)) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.uint8).copy()


def encode_png16(pixels: np.ndarray, chunks: Sequence[bytes] = ()) -> bytes:
    """A 16-bit RGB (H×W×3) or RGBA (H×W×4) uint16 array as PNG bytes.

    Minimal encoder: IHDR (depth 16, colour type 2/6), sRGB (unless ``chunks``, whole
    chunks written before the image data, carry an iCCP profile), IDAT (filter 0 per
    row, big-endian samples, zlib), IEND.
    """
    height, width, channels = pixels.shape
    if channels not in (3, 4):
        raise ValueError("encode_png16 needs 3 or 4 channels")
    color_type = 2 if channels == 3 else 6
    ihdr = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    row_bytes = width * channels * 2
    compressor = zlib.compressobj(6)
    parts: list[bytes] = []
    step = max(1, (1 << 22) // row_bytes)  # ~4 MiB of rows at a time: no big-endian copy of the whole image
    for start in range(0, height, step):
        block = np.ascontiguousarray(pixels[start : start + step], dtype=">u2").view(np.uint8).reshape(-1, row_bytes)
        framed = np.zeros((block.shape[0], row_bytes + 1), dtype=np.uint8)
        framed[:, 1:] = block  # column 0 = filter type 0 (None)
        parts.append(compressor.compress(framed.tobytes()))
    parts.append(compressor.flush())
    # One IDAT chunk per compressed block (PNG concatenates them): the image's bytes are
    # copied once, into the file's, not joined again for each wrapping.
    idat = [piece for part in parts if part for piece in _png_chunk_pieces(b"IDAT", part)]
    profiled = any(chunk[4:8] == b"iCCP" for chunk in chunks)  # PNG: iCCP or sRGB, not both
    head = [b"\x89PNG\r\n\x1a\n", _png_chunk(b"IHDR", ihdr), *([] if profiled else [_png_chunk(b"sRGB", b"\x00")])]
    return b"".join([*head, *chunks, *idat, _png_chunk(b"IEND", b"")])


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return b"".join(_png_chunk_pieces(kind, payload))


def _png_chunk_pieces(kind: bytes, payload: bytes) -> tuple[bytes, bytes, bytes]:
    """A PNG chunk as (length and type, payload, CRC), without copying the payload."""
    crc = zlib.crc32(payload, zlib.crc32(kind)) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind, payload, struct.pack(">I", crc)


# --------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a hidden temp file in the same directory.

    The temp file (``.<name>.tmp-<hex>``) is fsynced and renamed over
    ``path`` with ``os.replace``; on any failure it is removed and the error
    re-raised, so ``path`` is either untouched or complete.
    """
    path = Path(path)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    _fsync_dir(path.parent)


def _create_temp(path: Path) -> tuple[int, str]:
    """Create ``.<name>.tmp-<hex>`` beside ``path`` (mode 0666 & ~umask)."""
    name = path.name[:200]
    for _ in range(100):
        tmp = str(path.parent / f".{name}.tmp-{secrets.token_hex(4)}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


def _unlink_quietly(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; best effort (not every platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
