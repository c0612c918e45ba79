"""Outputs keep their input's EXIF, ICC profile, dpi and text, and say that cfx colorized them;
--strip-metadata leaves it all out; cfx detect reports such a label and never trusts it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo
from typer.testing import CliRunner

from cfx import __version__
from cfx.cli.main import app
from cfx.metadata import EXIF_IFD, SOFTWARE, USER_COMMENT, colorized_label
from tests.conftest import smooth_image

runner = CliRunner()
DESCRIPTION, DATETIME, ORIENTATION, DATETIME_ORIGINAL = 270, 306, 274, 0x9003
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def archive_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[DESCRIPTION] = "Grandma 1931"
    exif[DATETIME] = "1931:05:01 00:00:00"
    exif[ORIENTATION] = 6  # rotated 90°: applied on load, not kept
    exif[SOFTWARE] = "EPSON Scan"
    exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = "1931:05:01 00:00:00"
    return exif


def gray(height: int = 40, width: int = 56) -> Image.Image:
    return Image.fromarray(smooth_image(height, width, 0)).convert("L")


def png_text() -> PngInfo:
    info = PngInfo()
    info.add_text("Title", "Grandma 1931")
    info.add_itxt("Description", "Großmutter, Sommer 1931")
    return info


def comment(exif: Image.Exif) -> str:
    return exif.get_ifd(EXIF_IFD)[USER_COMMENT][8:].decode("ascii")


def colorize(source: Path, out: Path, weights: Path, *extra: object) -> Path:
    result = invoke("colorize", source, "-o", out, "--weights", weights, "--json", "--quiet", *extra)
    assert result.exit_code == 0, result.stdout + result.stderr
    return Path(json.loads(result.stdout)["output"])


def sha256(weights: Path) -> str:
    return json.loads(weights.with_suffix(".json").read_text())["sha256"]


def test_jpeg_keeps_exif_dpi_and_icc_and_says_cfx_colorized_it(tmp_path: Path, tiny_weights: Path) -> None:
    source = tmp_path / "scan.jpg"
    gray().save(source, exif=archive_exif(), dpi=(600, 600), icc_profile=SRGB)
    output = colorize(source, tmp_path / "out", tiny_weights)
    with Image.open(output) as im:
        exif = im.getexif()
        assert im.size == (40, 56)  # orientation applied
        assert ORIENTATION not in exif
        assert exif[DESCRIPTION] == "Grandma 1931" and exif[DATETIME] == "1931:05:01 00:00:00"
        assert exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] == "1931:05:01 00:00:00"
        assert exif[SOFTWARE] == f"cfx {__version__}"
        label = f"colorized by cfx {__version__}, model iizuka.tiny, weights sha256 {sha256(tiny_weights)}"
        assert comment(exif) == label == colorized_label("iizuka.tiny", sha256(tiny_weights))
        assert im.info["dpi"] == (600, 600)
        assert im.info["icc_profile"] == SRGB  # an sRGB profile is what the pixels are: kept as it was


@pytest.mark.parametrize("bits", [8, 16])
def test_png_keeps_text_dpi_and_exif(tmp_path: Path, tiny_weights: Path, bits: int) -> None:
    source = tmp_path / "scan.png"
    image = gray() if bits == 8 else Image.fromarray(np.asarray(gray(), dtype=np.uint16) * 257)
    image.save(source, pnginfo=png_text(), dpi=(600, 600), exif=archive_exif())
    output = colorize(source, tmp_path / "out", tiny_weights)
    with Image.open(output) as im:
        im.load()
        assert im.text["Title"] == "Grandma 1931" and im.text["Description"] == "Großmutter, Sommer 1931"
        assert im.text["Software"] == f"cfx {__version__}"
        assert im.text["Comment"].startswith(f"colorized by cfx {__version__}, model iizuka.tiny, weights sha256 ")
        assert [round(d) for d in im.info["dpi"]] == [600, 600]
        exif = im.getexif()
        assert exif[DESCRIPTION] == "Grandma 1931" and ORIENTATION not in exif
        assert comment(exif).startswith("colorized by cfx")
    if bits == 16:
        assert Image.open(output).tile[0][3] in ("RGB;16B", ("RGB;16B", 0, 1))  # still 16 bits per channel


def test_tiff_input_and_tiff_output(tmp_path: Path, tiny_weights: Path) -> None:
    source = tmp_path / "scan.tif"
    gray().save(source, exif=archive_exif(), dpi=(600, 600))
    as_png = colorize(source, tmp_path / "out", tiny_weights)  # a TIFF may be 16-bit: its output is a PNG
    as_tiff = colorize(source, tmp_path / "colour.tif", tiny_weights)
    for output in (as_png, as_tiff):
        with Image.open(output) as im:
            exif = im.getexif()
            assert exif[DESCRIPTION] == "Grandma 1931" and exif[DATETIME] == "1931:05:01 00:00:00"
            assert exif[SOFTWARE] == f"cfx {__version__}" and ORIENTATION not in exif
            assert [round(d) for d in im.info["dpi"]] == [600, 600]
    with Image.open(as_tiff) as im:  # Pillow writes no Exif IFD in a TIFF: the label is in its XMP packet
        assert b"colorized by cfx" in bytes(im.tag_v2[700])
    records = invoke("detect", as_png, as_tiff, "--json", "--quiet").stdout.splitlines()
    assert all(json.loads(line)["label_says"].startswith("colorized by cfx") for line in records)


def test_strip_metadata_leaves_everything_out(tmp_path: Path, tiny_weights: Path) -> None:
    jpeg, png = tmp_path / "scan.jpg", tmp_path / "scan.png"
    gray().save(jpeg, exif=archive_exif(), dpi=(600, 600), icc_profile=SRGB)
    gray().save(png, pnginfo=png_text(), dpi=(600, 600), exif=archive_exif())
    for source in (jpeg, png):
        output = colorize(source, tmp_path / "out", tiny_weights, "--strip-metadata")
        with Image.open(output) as im:
            im.load()
            assert not im.getexif() and "icc_profile" not in im.info and "dpi" not in im.info
            assert not getattr(im, "text", {})


def test_an_other_profile_is_applied_and_the_output_says_srgb(tmp_path: Path, tiny_weights: Path) -> None:
    # An RGB profile that does not call itself sRGB (its description is UTF-16 in a v4 profile).
    other = SRGB.replace("sRGB built-in".encode("utf-16-be"), "Scanner RGB01".encode("utf-16-be"))
    assert other != SRGB
    source = tmp_path / "scan.jpg"
    Image.fromarray(smooth_image(32, 32, 1)).save(source, icc_profile=other)
    with Image.open(colorize(source, tmp_path / "out", tiny_weights)) as im:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"])).profile
        assert "sRGB" in profile.profile_description


def test_detect_reports_the_label_and_never_trusts_it(tmp_path: Path, detector_weights: Path) -> None:
    """A natural photo that claims to be colorized gets the same score as without the claim."""
    honest, claiming = tmp_path / "honest.png", tmp_path / "claiming.png"
    photo = Image.fromarray(smooth_image(48, 64, 2))
    photo.save(honest)
    info = PngInfo()
    info.add_text("Comment", "colorized by cfx 9.9, model unet.lite0, weights sha256 0000")
    photo.save(claiming, pnginfo=info)
    result = invoke("detect", honest, claiming, "--weights", detector_weights, "--json", "--quiet")
    assert result.exit_code == 0
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["label_says"] is None
    assert second["label_says"] == "colorized by cfx 9.9, model unet.lite0, weights sha256 0000"
    assert (first["score"], first["label"]) == (second["score"], second["label"])


def test_transfer_outputs_say_how_they_were_colorized(tmp_path: Path) -> None:
    source, style = tmp_path / "scan.jpg", tmp_path / "style.png"
    gray().save(source, exif=archive_exif(), dpi=(300, 300))
    Image.fromarray(smooth_image(32, 32, 3)).save(style)
    result = invoke("transfer", source, "--style", style, "--method", "reinhard", "-o", tmp_path / "out", "--quiet")
    assert result.exit_code == 0, result.stderr
    with Image.open(result.stdout.strip()) as im:
        exif = im.getexif()
        assert exif[DESCRIPTION] == "Grandma 1931" and im.info["dpi"] == (300, 300)
        assert comment(exif) == f"colorized by cfx {__version__}, transfer reinhard"


def test_a_label_parses_back_into_its_fields() -> None:
    from cfx.metadata import colorized_label, parse_label

    assert parse_label(colorized_label("unet.lite0", "ab12")) == {
        "cfx": colorized_label().removeprefix("colorized by cfx "),
        "model": "unet.lite0",
        "weights_sha256": "ab12",
    }
    assert parse_label(colorized_label(method="welsh"))["method"] == "welsh"
    assert parse_label("edited with another tool") == {} and parse_label(None) == {}


def test_colorized_by_counts_the_labels_of_a_folder(tmp_path) -> None:
    """A detector's card says which colorizers (by weights sha256) made its training images."""
    from PIL import Image

    from cfx.data.pairs import colorized_by
    from cfx.metadata import ImageMetadata, colorized_label, labelled, pillow_options

    files = []
    for i, label in enumerate([colorized_label("m", "aa"), colorized_label("m", "aa"), None]):
        path = tmp_path / f"{i}.jpg"
        options = pillow_options(labelled(ImageMetadata(), label), "JPEG") if label else {}
        Image.new("RGB", (8, 8), (200, 30, 30)).save(path, "JPEG", **options)
        files.append(path)
    assert colorized_by(files) == [
        {"model": "m", "weights_sha256": "aa", "images": 2},
        {"label": None, "images": 1},
    ]
