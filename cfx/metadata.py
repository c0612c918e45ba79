"""What an output keeps of its input's metadata, and the label that says cfx colorized it.

Archives keep captions, dates and resolution in EXIF, ICC profiles, dpi and PNG text;
a tool that rewrites an image copies them and says what it did in fields that
``exiftool`` and image viewers show. :func:`read_metadata` takes them from the input
when it is decoded; the writers (:func:`pillow_options`, and :func:`png_chunks` for
cfx's own 16-bit PNG encoder) put them in the output:

- EXIF: the descriptive tags of IFD0 (caption, date, make and model, artist,
  copyright, resolution), the Exif IFD (dates, exposure, ``UserComment``; not the maker
  note) and the GPS IFD. Not the orientation, which is applied on load, nor a TIFF's
  layout tags, nor the thumbnail of the gray original.
- ICC: the input's profile when it is an sRGB one; any other profile was applied on load
  (the pixels are sRGB from then on), so the output carries an sRGB profile instead.
- dpi, and a PNG's text chunks (PNG outputs only).

:func:`labelled` adds the provenance: EXIF ``Software`` = ``cfx <version>`` and the
label (:func:`colorized_label`: ``colorized by cfx <version>, model <name>, weights
sha256 <hex>``) in EXIF ``UserComment``, a PNG ``Comment`` text chunk, and for TIFF
outputs (whose Exif IFD Pillow does not write) an XMP packet. ``ImageDescription`` is
the input's. :func:`read_metadata` also finds such a label in an input
(:attr:`ImageMetadata.label`), which ``cfx detect`` reports and never trusts.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import zlib
from dataclasses import dataclass, field, replace
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image, TiffImagePlugin, TiffTags

from cfx import __version__

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
SOFTWARE, USER_COMMENT, MAKER_NOTE, XMP_TAG = 0x0131, 0x9286, 0x927C, 700
# IFD0 tags that describe the photo (not its layout): DocumentName, ImageDescription, Make,
# Model, XResolution, YResolution, ResolutionUnit, Software, DateTime, Artist,
# HostComputer, Copyright.
DESCRIPTIVE_IFD0 = (269, 270, 271, 272, 282, 283, 296, 305, 306, 315, 316, 33432)
LABEL_START = "colorized by "
_LABEL = re.compile(r"colorized by [^<>\"\x00\n]+", re.IGNORECASE)
_ASCII_COMMENT = b"ASCII\x00\x00\x00"  # UserComment's 8-byte character code
_UNICODE_COMMENT = b"UNICODE\x00"
_CHARACTER_CODES = (_ASCII_COMMENT, b"JIS\x00\x00\x00\x00\x00", bytes(8))


@dataclass
class ImageMetadata:
    """The metadata an output of this image carries (see the module docstring)."""

    ifd0: dict[int, Any] = field(default_factory=dict)  # descriptive IFD0 tags
    exif_ifd: dict[int, Any] = field(default_factory=dict)
    gps_ifd: dict[int, Any] = field(default_factory=dict)
    icc_profile: bytes | None = None  # the profile of an output's pixels (sRGB)
    dpi: tuple[float, float] | None = None
    text: dict[str, str] = field(default_factory=dict)  # PNG text chunks
    label: str | None = None  # a "colorized by …" label the image carries (what it says, not checked)


def colorized_label(model: str | None = None, sha256: str | None = None, method: str | None = None) -> str:
    """``colorized by cfx <version>[, transfer METHOD][, model NAME, weights sha256 HEX]``."""
    parts = [f"{LABEL_START}cfx {__version__}"]
    if method:
        parts.append(f"transfer {method}")
    if model:
        parts.append(f"model {model}, weights sha256 {sha256 or 'unknown'}")
    return ", ".join(parts)


_LABEL_PARTS = re.compile(
    r"colorized by cfx (?P<cfx>[^,]+)(?:, transfer (?P<method>[^,]+))?(?:, model (?P<model>[^,]+), weights sha256 (?P<weights_sha256>\S+))?"
)


def parse_label(label: str | None) -> dict[str, str]:
    """The fields of a :func:`colorized_label` (``cfx``, ``method``, ``model``,
    ``weights_sha256``; those it has), or {} for no label or another tool's."""
    match = _LABEL_PARTS.match(label.strip()) if label else None
    return {k: v for k, v in match.groupdict().items() if v} if match else {}


def read_metadata(im: Image.Image) -> ImageMetadata:
    """The metadata of an opened (and loaded) Pillow image; what cannot be read is left out."""
    meta = ImageMetadata()
    try:
        exif = im.getexif()
        meta.ifd0 = {tag: exif[tag] for tag in DESCRIPTIVE_IFD0 if tag in exif}
        meta.exif_ifd = {tag: value for tag, value in exif.get_ifd(EXIF_IFD).items() if tag != MAKER_NOTE}
        meta.gps_ifd = dict(exif.get_ifd(GPS_IFD))
    except Exception:  # noqa: BLE001 - damaged EXIF is left out, never a failed decode
        meta.ifd0, meta.exif_ifd, meta.gps_ifd = {}, {}, {}
    meta.icc_profile = _output_profile(im.info.get("icc_profile"))
    meta.dpi = _dpi(im.info.get("dpi"))
    if im.format == "PNG":
        meta.text = {
            k: v
            for k, v in getattr(im, "text", {}).items()
            if isinstance(v, str) and not k.startswith("Raw profile type")
        }
    xmp = im.info.get("xmp") or (im.tag_v2.get(XMP_TAG) if hasattr(im, "tag_v2") else None)
    sources = [_comment_text(meta.exif_ifd.get(USER_COMMENT)), *meta.text.values(), _as_text(xmp)]
    meta.label = next((m.group(0).strip() for s in sources if s for m in [_LABEL.search(s)] if m), None)
    return meta


def labelled(meta: ImageMetadata, label: str) -> ImageMetadata:
    """``meta`` with the provenance of an output that ``label`` describes (module docstring)."""
    exif_ifd = {
        **meta.exif_ifd,
        USER_COMMENT: _ASCII_COMMENT
        + _with_label(_comment_text(meta.exif_ifd.get(USER_COMMENT)), label).encode("ascii", "replace"),
    }
    text = {**meta.text, "Software": f"cfx {__version__}", "Comment": _with_label(meta.text.get("Comment"), label)}
    return replace(meta, ifd0={**meta.ifd0, SOFTWARE: f"cfx {__version__}"}, exif_ifd=exif_ifd, text=text, label=label)


def pillow_options(meta: ImageMetadata, fmt: str) -> dict[str, Any]:
    """Keyword arguments of Pillow's ``save`` that write ``meta`` in format ``fmt``."""
    options: dict[str, Any] = {}
    if meta.icc_profile and fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        options["icc_profile"] = meta.icc_profile
    if meta.dpi and fmt in ("JPEG", "PNG", "TIFF"):
        options["dpi"] = meta.dpi
    if fmt in ("JPEG", "PNG", "WEBP"):
        data = exif_bytes(meta)
        if data:
            options["exif"] = data
    if fmt == "PNG" and meta.text:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in meta.text.items():
            if _latin1(value):
                info.add_text(key, value)
            else:
                info.add_itxt(key, value)
        options["pnginfo"] = info
    if fmt == "TIFF":
        tags = TiffImagePlugin.ImageFileDirectory_v2()
        for tag, value in meta.ifd0.items():
            if tag not in (282, 283, 296):  # resolution: written from dpi
                tags[tag] = value
        label = _comment_text(meta.exif_ifd.get(USER_COMMENT))
        if label:
            tags[XMP_TAG] = _xmp(label)
            tags.tagtype[XMP_TAG] = TiffTags.BYTE
        options["tiffinfo"] = tags
    return options


def exif_bytes(meta: ImageMetadata) -> bytes | None:
    """``meta``'s EXIF as an APP1-style block (``Exif\\0\\0`` + TIFF structure), or None when empty."""
    if not (meta.ifd0 or meta.exif_ifd or meta.gps_ifd):
        return None
    exif = Image.Exif()
    for tag, value in meta.ifd0.items():
        exif[tag] = value
    if meta.exif_ifd:
        exif.get_ifd(EXIF_IFD).update(meta.exif_ifd)
    if meta.gps_ifd:
        exif.get_ifd(GPS_IFD).update(meta.gps_ifd)
    try:
        return exif.tobytes()
    except Exception:  # noqa: BLE001 - a tag Pillow cannot write again: keep the rest
        exif = Image.Exif()
        for tag, value in meta.ifd0.items():
            exif[tag] = value
        return exif.tobytes() if meta.ifd0 else None


def png_chunks(meta: ImageMetadata) -> list[bytes]:
    """``meta`` as PNG chunks (pHYs, iCCP, eXIf, tEXt/iTXt), for an encoder that writes its own."""
    chunks = []
    if meta.dpi:
        per_metre = [round(d / 0.0254) for d in meta.dpi]
        chunks.append(_chunk(b"pHYs", struct.pack(">IIB", per_metre[0], per_metre[1], 1)))
    if meta.icc_profile:
        chunks.append(_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(meta.icc_profile)))
    data = exif_bytes(meta)
    if data:
        chunks.append(_chunk(b"eXIf", data[6:] if data.startswith(b"Exif\x00\x00") else data))
    for key, value in meta.text.items():
        keyword = key.encode("latin-1", "replace")[:79]
        if _latin1(value):
            chunks.append(_chunk(b"tEXt", keyword + b"\x00" + value.encode("latin-1")))
        else:
            chunks.append(_chunk(b"iTXt", keyword + b"\x00\x00\x00\x00\x00" + value.encode("utf-8")))
    return chunks


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(kind)) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _with_label(old: str | None, label: str) -> str:
    """``label``, after what ``old`` said (a comment is kept; a former cfx label is replaced)."""
    kept = (old or "").split(LABEL_START)[0].rstrip("; \n") if old else ""
    return f"{kept}; {label}" if kept else label


def _comment_text(value: Any) -> str | None:
    """An EXIF UserComment (8-byte character code, then the text) as text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip("\x00 ") or None
    data = bytes(value)
    if data[:8] == _UNICODE_COMMENT:
        body = data[8:]
        text = body.decode("utf-16-be" if body[:1] == b"\x00" else "utf-16-le", "replace")
    elif data[:8] in _CHARACTER_CODES:
        text = data[8:].decode("latin-1")
    else:
        text = data.decode("latin-1")
    return text.strip("\x00 ") or None


def _as_text(value: Any) -> str | None:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, tuple):  # a TIFF BYTE tag read back as a tuple of ints
        return bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _dpi(value: Any) -> tuple[float, float] | None:
    """(x, y) dots per inch; PNG's dots per metre read back as 599.9988 become 600."""
    try:
        x, y = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if x <= 0 or y <= 0:
        return None
    return tuple(round(v) if abs(v - round(v)) < 0.01 else v for v in (x, y))  # type: ignore[return-value]


def _output_profile(icc: bytes | None) -> bytes | None:
    """The profile an output carries for an input with ``icc`` (module docstring)."""
    if not icc:
        return None
    try:
        from PIL import ImageCms

        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile
        if profile.xcolor_space.strip() == "RGB" and "srgb" in (profile.profile_description or "").lower():
            return icc
        return _srgb_profile()
    except Exception:  # noqa: BLE001 - no lcms, or a damaged profile: the output is plain sRGB
        return None


@functools.cache
def _srgb_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _xmp(label: str) -> bytes:
    """A minimal XMP packet: CreatorTool and the label as the (EXIF) UserComment."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmp:CreatorTool="cfx {__version__}">'
        f'<exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">{escape(label)}</rdf:li></rdf:Alt></exif:UserComment>'
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode("utf-8")
