"""What a new user meets in the first ten minutes: no silent data changes, no
misleading answers, usage errors exit 2, summaries count everything, `cfx models` is quick."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from tests.conftest import smooth_image

runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent


def invoke(*args: object, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def png16_rgb(path: Path, pixels: np.ndarray) -> Path:
    from cfx.imageio import encode_png16

    path.write_bytes(encode_png16(pixels))
    return path


def png16_filtered(path: Path, pixels: np.ndarray) -> Path:
    """A 16-bit RGB PNG whose rows use every PNG filter in turn (None, Sub, Up, Average,
    Paeth), as other encoders write them; a pure-Python encoder for small test images."""
    import struct
    import zlib

    height, width, _ = pixels.shape
    rows = [pixels[y].astype(">u2").tobytes() for y in range(height)]
    bpp = 6
    out = bytearray()
    for y, row in enumerate(rows):
        kind = y % 5
        up = rows[y - 1] if y else bytes(len(row))
        out.append(kind)
        for x, value in enumerate(row):
            left = row[x - bpp] if x >= bpp else 0
            above, corner = up[x], (up[x - bpp] if x >= bpp else 0)
            if kind == 4:
                p = left + above - corner
                pa, pb, pc = abs(p - left), abs(p - above), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else above if pb <= pc else corner
            else:
                predictor = (0, left, above, (left + above) // 2)[kind]
            out.append((value - predictor) % 256)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(out))) + chunk(b"IEND", b"")
    )
    return path


def tiff16_rgb(path: Path, pixels: np.ndarray) -> Path:
    """An uncompressed little-endian 16-bit RGB TIFF (Pillow cannot write one)."""
    import struct

    height, width, _ = pixels.shape
    data = pixels.astype("<u2").tobytes()
    bits_at = 8 + 2 + 10 * 12 + 4  # after the header and an IFD of 10 entries
    tags = [(256, 3, width), (257, 3, height), (258, 3, bits_at), (259, 3, 1), (262, 3, 2)]
    tags += [(273, 4, bits_at + 6), (277, 3, 3), (278, 3, height), (279, 4, len(data)), (284, 3, 1)]
    ifd = struct.pack("<H", len(tags))
    for tag, kind, value in tags:
        count = 3 if tag == 258 else 1
        ifd += struct.pack("<HHI", tag, kind, count)
        ifd += struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
    path.write_bytes(
        b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + struct.pack("<3H", 16, 16, 16) + data
    )
    return path


def ihdr(path: Path) -> tuple[int, int]:
    """(bit depth, colour type) from a PNG's header."""
    data = path.read_bytes()
    return data[24], data[25]


# -- 16-bit colour is kept ---------------------------------------------------------------


def test_sixteen_bit_rgb_png_decodes_at_sixteen_bits(tmp_path: Path) -> None:
    from cfx.imageio import load_image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 65536, size=(21, 34, 3), dtype=np.uint16)
    image = load_image(png16_rgb(tmp_path / "scan48.png", pixels))
    assert image.bit_depth == 16 and image.alpha is None and not image.is_gray
    np.testing.assert_allclose(image.rgb, pixels / 65535.0, atol=1e-6)  # every bit, not the top 8
    image = load_image(png16_filtered(tmp_path / "filtered.png", pixels))  # rows with every PNG filter
    np.testing.assert_allclose(image.rgb, pixels / 65535.0, atol=1e-6)
    rgba = np.dstack([pixels, np.full(pixels.shape[:2], 40000, np.uint16)])
    image = load_image(png16_rgb(tmp_path / "scan64.png", rgba))
    assert image.bit_depth == 16 and image.alpha is not None
    np.testing.assert_allclose(image.alpha, 40000 / 65535.0, atol=1e-6)


def test_sixteen_bit_rgb_tiff_says_it_is_read_at_eight_bits(tmp_path: Path) -> None:
    from cfx.imageio import load_image

    pixels = np.random.default_rng(1).integers(0, 65536, size=(10, 12, 3), dtype=np.uint16)
    image = load_image(tiff16_rgb(tmp_path / "scan48.tif", pixels))
    assert image.bit_depth == 8  # Pillow keeps the high bytes only ...
    np.testing.assert_allclose(image.rgb, (pixels >> 8) / 255.0, atol=1e-6)
    assert image.warnings == [
        "16-bit colour TIFF read at 8 bits (only 16-bit colour PNGs keep their depth)"
    ]  # ... and we say so


def test_colorize_keeps_sixteen_bit_rgb(tmp_path: Path, tiny_weights: Path) -> None:
    gray = (np.linspace(0, 65535, 32 * 40).reshape(32, 40)).astype(np.uint16)
    source = png16_rgb(tmp_path / "scan.png", np.dstack([gray, gray, gray]))  # a 48-bit scan of a gray photo
    result = invoke("colorize", source, "-o", tmp_path / "out", "--weights", tiny_weights, "--json")
    assert result.exit_code == 0, result.stderr
    [row] = records(result.stdout)
    assert row["bit_depth"] == 16
    assert ihdr(tmp_path / "out" / "scan.png") == (16, 2)  # 16-bit RGB


# -- stdin paths keep their folders ------------------------------------------------------


def test_relative_stdin_paths_keep_their_folders(
    tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for folder in ("archive/1901", "archive/1902"):
        Path(folder).mkdir(parents=True)
        Image.fromarray(smooth_image(24, 32, len(folder))).convert("L").save(f"{folder}/x.jpg")
    elsewhere = tmp_path / "loose"
    elsewhere.mkdir()
    for name in ("y.jpg", "z.jpg"):
        Image.fromarray(smooth_image(24, 32, len(name))).convert("L").save(elsewhere / name)
    lines = f"archive/1901/x.jpg\n./archive/1902/x.jpg\n{elsewhere / 'y.jpg'}\narchive/../loose/z.jpg\n"
    result = invoke("colorize", "-", "-o", "out", "--weights", tiny_weights, input=lines)
    assert result.exit_code == 0, result.stderr
    # relative paths keep their folders (no x_2.jpg); absolute and '..' paths keep only their name
    assert result.stdout.split() == ["out/archive/1901/x.jpg", "out/archive/1902/x.jpg", "out/y.jpg", "out/z.jpg"]


def test_colorize_folder_script_mirrors_the_tree(tmp_path: Path, tiny_weights: Path) -> None:
    source = tmp_path / "scans"
    for folder in ("a", "b"):
        (source / folder).mkdir(parents=True)
        Image.fromarray(smooth_image(24, 32, 1)).convert("L").save(source / folder / "x.jpg")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    script = REPO / "examples" / "colorize_folder.sh"
    out = tmp_path / "out"
    command = ["bash", str(script), str(source), str(out), "--weights", str(tiny_weights), "--device", "cpu"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg")) == ["a/x.jpg", "b/x.jpg"]
    assert all("output" in r for r in records((out / "colorize.jsonl").read_text()))


# -- -o NAME.ext writes that file ----------------------------------------------------------


def test_output_file_name_with_one_input(photo_dir: Path, tmp_path: Path, tiny_weights: Path) -> None:
    target = tmp_path / "colour.jpg"
    result = invoke("colorize", photo_dir / "gray.jpg", "-o", target, "--weights", tiny_weights)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(target)
    assert target.is_file() and Image.open(target).format == "JPEG" and Image.open(target).size == (56, 40)
    again = invoke("colorize", photo_dir / "gray.jpg", "-o", target, "--weights", tiny_weights, "--skip-existing")
    assert again.exit_code == 0 and "1 skipped" in again.stderr
    png = invoke("colorize", photo_dir / "alpha.png", "-o", tmp_path / "with-alpha.png", "--weights", tiny_weights)
    assert png.exit_code == 0 and Image.open(tmp_path / "with-alpha.png").mode == "RGBA"
    upper = invoke("colorize", photo_dir / "alpha.png", "-o", tmp_path / "FLAT.JPG", "--weights", tiny_weights)
    assert upper.exit_code == 0, upper.stderr  # alpha dropped for a JPEG, whatever the suffix's case
    assert Image.open(tmp_path / "FLAT.JPG").format == "JPEG"


def test_output_file_name_with_several_inputs_is_a_usage_error(
    photo_dir: Path, tmp_path: Path, tiny_weights: Path
) -> None:
    result = invoke("colorize", photo_dir, "-o", tmp_path / "colour.jpg", "--weights", tiny_weights)
    assert result.exit_code == 2
    assert "names one image file, but there are 3 inputs" in result.stderr
    assert not (tmp_path / "colour.jpg").exists()
    clash = invoke("colorize", photo_dir / "gray.jpg", "-o", photo_dir / "gray.jpg", "--weights", tiny_weights)
    assert clash.exit_code == 2 and "inputs are never overwritten" in clash.stderr


# -- unknown model names -------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["colorize", "{img}", "-o", "{out}", "--model", "zhang.compactt"],
        ["transfer", "{img}", "-o", "{out}", "--style", "{img}", "--model", "iizuka.compactt"],
        ["detect", "{img}", "--model", "decnet.tanh-compactt"],
        ["eval", "colorizer", "--data", "{dir}", "--model", "zhang.compactt"],
        ["eval", "colorizer", "--data", "{dir}", "--detector", "decnet.tanh-compactt"],
        ["eval", "detector", "--natural", "{dir}", "--colorizers", "zhang.compactt"],
        ["train", "colorizer", "--data", "{dir}", "--model", "zhang.compactt", "-o", "{out}/w.safetensors"],
        [
            "train",
            "detector",
            "--natural",
            "{dir}",
            "--colorizers",
            "zhang.compact",
            "--model",
            "decnet.tanh-compactt",
            "-o",
            "{out}/w.safetensors",
        ],
        ["harden", "colorizer", "--data", "{dir}", "--model", "zhang.compactt", "-o", "{out}/w.safetensors"],
    ],
    ids=lambda c: " ".join(c[:2]) if c[0] in ("eval", "train", "harden") else c[0],
)
def test_unknown_model_names_say_so_with_close_matches(command: list[str], photo_dir: Path, tmp_path: Path) -> None:
    values = {"img": str(photo_dir / "gray.jpg"), "dir": str(photo_dir), "out": str(tmp_path / "out")}
    result = invoke(*[part.format(**values) for part in command])
    assert result.exit_code == 2
    typo = next(part for part in command if part.endswith("tt"))
    assert f"unknown model {typo!r}; did you mean {typo[:-1]}" in result.stderr
    assert "train them" not in result.stderr


# -- usage errors exit 2 ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["colorize", "transfer", "detect"])
def test_missing_input_path_is_a_usage_error(command: str, photo_dir: Path, tmp_path: Path, tiny_weights: Path) -> None:
    extra = {
        "colorize": ["-o", tmp_path / "out"],
        "transfer": ["-o", tmp_path / "out", "--style", photo_dir / "sub" / "colour.png", "--method", "reinhard"],
        "detect": [],
    }[command]
    result = invoke(command, photo_dir / "gray.jpg", tmp_path / "no-such.jpg", *extra)
    assert result.exit_code == 2
    assert f"{tmp_path / 'no-such.jpg'}: no such file or folder" in result.stderr
    assert not (tmp_path / "out").exists()  # nothing was done


def test_output_equal_to_input_folder_is_a_usage_error(photo_dir: Path, tiny_weights: Path) -> None:
    result = invoke("colorize", photo_dir, "-o", photo_dir, "--weights", tiny_weights)
    assert result.exit_code == 2
    assert "is the input folder" in result.stderr
    # a missing path on stdin is a failed input, not a usage error
    piped = invoke(
        "colorize",
        "-",
        "-o",
        photo_dir.parent / "out",
        "--weights",
        tiny_weights,
        input=f"{photo_dir / 'gray.jpg'}\n{photo_dir / 'gone.jpg'}\n",
    )
    assert piped.exit_code == 1 and "1 done, 1 failed" in piped.stderr


# -- summaries count skipped and interrupted files -----------------------------------------


def test_summary_counts_skipped(photo_dir: Path, tmp_path: Path, tiny_weights: Path) -> None:
    out = tmp_path / "out"
    assert (
        invoke("colorize", photo_dir, "-o", out, "--weights", tiny_weights).stderr.splitlines()[-1]
        == "cfx colorize: 3 done"
    )
    (out / "gray.jpg").unlink()
    again = invoke("colorize", photo_dir, "-o", out, "--weights", tiny_weights, "--skip-existing")
    assert again.exit_code == 0
    assert again.stderr.splitlines()[-1] == "cfx colorize: 1 done, 2 skipped"


def test_interrupted_run_prints_a_summary(
    photo_dir: Path, tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cfx.colorize

    real = cfx.colorize.colorize_files

    def stopped_after_one(*args, **kwargs):  # what SIGINT does, through the runner, after one write
        for result in real(*args, **kwargs):
            yield result
            raise KeyboardInterrupt

    monkeypatch.setattr(cfx.colorize, "colorize_files", stopped_after_one)
    result = invoke("colorize", photo_dir, "-o", tmp_path / "out", "--weights", tiny_weights)
    assert result.exit_code == 130
    assert (
        result.stderr.splitlines()[-1]
        == "cfx colorize: interrupted: 1 done, 2 not done (rerun with --skip-existing to finish them)"
    )
    assert len(result.stdout.split()) == 1


# -- transfer names the style file -------------------------------------------------------


def test_gray_style_warning_names_the_style(photo_dir: Path, tmp_path: Path) -> None:
    style = tmp_path / "gray-style.png"
    Image.fromarray(smooth_image(30, 30, 5)).convert("L").save(style)
    result = invoke(
        "transfer", photo_dir / "gray.jpg", "--style", style, "--method", "reinhard", "-o", tmp_path / "out"
    )
    assert result.exit_code == 0, result.stderr
    assert f"style {style}: has no colour: the result stays gray" in result.stderr


# -- cfx models ----------------------------------------------------------------------------


def test_models_reads_cards_without_torch() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from cfx.cli.main import app; "
        "r = CliRunner().invoke(app, ['models', '--json']); print(r.exit_code, 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.stdout.split()[-2:] == ["0", "False"], done.stderr


def test_models_lists_every_shipped_file_by_a_name_that_selects_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from cfx.weights import resolve_weights

    monkeypatch.chdir(REPO)
    monkeypatch.delenv("CFX_WEIGHTS", raising=False)
    result = invoke("models", "--json")
    assert result.exit_code == 0
    rows = {r["name"]: r for r in records(result.stdout)}
    shipped = sorted(p.stem for p in (REPO / "weights").glob("*.safetensors"))
    assert sorted(rows) == shipped and "decnet.tanh-compact-broad" in rows
    for name, row in rows.items():
        assert row["weights"] == f"weights/{name}.safetensors"  # relative, not absolute
        assert row["params"] > 0 and row["task"] in ("colorize", "detect") and row["sha256"]
        preset, path = resolve_weights(name, None, default="iizuka.compact")  # what --model NAME loads
        assert path.resolve() == (REPO / row["weights"]).resolve() and preset == row["preset"]
    assert rows["decnet.tanh-compact-broad"]["preset"] == "decnet.tanh-compact"
    text = invoke("models")
    assert "weights/decnet.tanh-compact-broad.safetensors  (decnet.tanh-compact)" in text.stdout
    assert "docs/models.md" in text.stderr  # why the card metrics differ from the docs' tables


def test_shipped_broad_detector_selectable_by_name(photo_dir: Path) -> None:
    result = invoke(
        "detect", photo_dir / "sub" / "colour.png", "--model", "decnet.tanh-compact-broad", "--json", "--device", "cpu"
    )
    assert result.exit_code == 0, result.stderr
    [row] = records(result.stdout)
    card = json.loads((REPO / "weights" / "decnet.tanh-compact-broad.json").read_text())
    assert row["weights_sha256"] == card["sha256"] and row["threshold"] == pytest.approx(card["threshold"])
