"""Reliability and security: hostile and odd inputs through the real commands.

One folder mixes good images with every kind of bad or odd file. ``cfx colorize``,
``cfx detect`` and ``cfx transfer`` must process every good file, give each bad one a
single-line JSON error record naming the reason, exit 1, print no traceback and leave
every input untouched. Then: paths from stdin never put outputs outside ``-o``; an
interrupted run leaves no partial files and resumes; an untrusted ``--weights`` file can
only be rejected, never executed; training killed mid-epoch resumes to the same result.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from tests.conftest import smooth_image

runner = CliRunner()

# Bad files and a word their error record must contain.
BAD = {
    "empty.png": "empty file (0 bytes)",
    "trunc.jpg": "truncated",
    "trunc.png": "truncated",
    "cut.tif": "not a recognised image file",  # a deflate TIFF cut in half (its tags are gone)
    "random.jpg": "not a recognised image file",
    "text.png": "not a recognised image file",
    "bomb.png": "decompression bomb",
    "secret.png": "permission denied",
}
# Good (if odd) files and the output name colorize/transfer give them.
GOOD = {
    "good.jpg": "good.jpg",
    "one.png": "one.png",
    "wide.png": "wide.png",
    "g16.png": "g16.png",
    "rgba.png": "rgba.png",
    "palette.png": "palette.png",
    "cmyk.jpg": "cmyk.jpg",
    "exif.jpg": "exif.jpg",
    "anim.gif": "anim.png",
    "dup.gif": "dup.png",  # dup.gif and dup.png both map to dup.png:
    "dup.png": "dup_2.png",  # the second is renamed, not overwritten
}


def invoke(*args: object, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width×height RGB pixels and holds none (a decompression bomb's header)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IEND", b"")
    )


def _half_of(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    data = buffer.getvalue()
    return data[: len(data) // 2]


def build_hostile_folder(root: Path) -> Path:
    """Good images, odd-but-valid images and bad files side by side (see BAD and GOOD)."""
    root.mkdir(parents=True)
    gray = lambda h, w, seed: Image.fromarray(smooth_image(h, w, seed)).convert("L")  # noqa: E731
    gray(40, 56, 1).save(root / "good.jpg", quality=95)
    (root / "empty.png").write_bytes(b"")
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    (root / "trunc.jpg").write_bytes(_half_of(noise, "JPEG"))
    (root / "trunc.png").write_bytes(_half_of(noise, "PNG"))
    (root / "cut.tif").write_bytes(_half_of(noise, "TIFF", compression="tiff_deflate"))
    (root / "random.jpg").write_bytes(np.random.default_rng(2).bytes(2048))
    (root / "text.png").write_text("hello, I am not a picture\n")
    (root / "bomb.png").write_bytes(_png_header_only(100_000, 100_000))
    Image.new("L", (1, 1), 128).save(root / "one.png")
    gray(40, 3000, 3).save(root / "wide.png")
    Image.fromarray(np.linspace(0, 65535, 24 * 32).reshape(24, 32).astype(np.uint16)).save(root / "g16.png")
    alpha = np.linspace(0, 255, 24 * 24).reshape(24, 24).astype(np.uint8)
    Image.fromarray(np.dstack([smooth_image(24, 24, 4), alpha]), "RGBA").save(root / "rgba.png")
    Image.fromarray(smooth_image(20, 30, 5)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(
        root / "palette.png"
    )
    Image.fromarray(smooth_image(20, 30, 6)).convert("CMYK").save(root / "cmyk.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    gray(20, 40, 7).save(root / "exif.jpg", exif=exif.tobytes())  # stored 40×20, shown 20×40
    first, second = gray(16, 16, 8), gray(16, 16, 9)
    first.save(root / "anim.gif", save_all=True, append_images=[second])
    gray(16, 16, 10).save(root / "dup.png")
    gray(16, 16, 11).save(root / "dup.gif")
    (root / "notes.txt").write_text("not an image: skipped quietly")
    Image.new("L", (8, 8)).save(root / "secret.png")
    (root / "secret.png").chmod(0)
    os.symlink(root, root / "loop")  # a symlink loop
    os.symlink(root / "nowhere.png", root / "dangling.png")  # and a dangling one
    return root


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root (symlinks not followed): files by content hash, mode and mtime."""
    state = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            st = path.lstat()
            if path.is_symlink():
                state[str(path.relative_to(root))] = ("link", os.readlink(path))
                continue
            if path.is_dir():  # a folder's own mtime changes when -o is created in it
                state[str(path.relative_to(root))] = ("dir", st.st_mode)
                continue
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except PermissionError:
                digest = "unreadable"
            state[str(path.relative_to(root))] = (digest, st.st_mode, st.st_mtime_ns, st.st_size)
    return state


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = build_hostile_folder(tmp_path / "hostile")
    secret = root / "secret.png"
    if os.access(secret, os.R_OK):  # root reads mode-000 files: simulate the refusal at open()
        real_open = Image.open

        def refusing_open(fp, *args, **kwargs):
            if isinstance(fp, (str, Path)) and Path(fp).name == "secret.png":
                raise PermissionError(13, "Permission denied", str(fp))
            return real_open(fp, *args, **kwargs)

        monkeypatch.setattr(Image, "open", refusing_open)
    yield root
    secret.chmod(0o644)


@pytest.fixture
def style_image(tmp_path: Path) -> Path:
    path = tmp_path / "style.png"
    Image.fromarray(smooth_image(32, 48, 12)).save(path)
    return path


def _check_error_records(result, rows: list[dict], hostile: Path) -> None:
    """Exit 1, one record per file, the bad ones errors naming their reason, no traceback."""
    assert result.exit_code == 1, result.stderr
    names = [Path(r["path"]).name for r in rows]
    assert sorted(names) == sorted(set(BAD) | set(GOOD)), "one record per image file, none for notes.txt or symlinks"
    errors = {Path(r["path"]).name: r["error"] for r in rows if "error" in r}
    assert set(errors) == set(BAD)
    for name, reason in errors.items():
        assert BAD[name] in reason, (name, reason)
        assert "\n" not in reason and not reason.startswith(str(hostile))
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    for name in BAD:  # one line on stderr naming each bad file
        assert len([line for line in result.stderr.splitlines() if "error:" in line and name in line]) == 1
    assert "notes.txt" not in result.stderr


def _check_outputs(rows: list[dict], out: Path) -> dict[str, dict]:
    """The good files' outputs, written completely under out, nothing for the bad ones."""
    done = {Path(r["path"]).name: r for r in rows if "error" not in r}
    assert {name: Path(r["output"]).name for name, r in done.items()} == GOOD
    assert sorted(p.name for p in out.iterdir()) == sorted(GOOD.values())  # no temp files, no partial results
    for row in done.values():
        with Image.open(row["output"]) as written:
            written.load()
            assert written.size == (row["width"], row["height"])
    assert (done["one.png"]["width"], done["one.png"]["height"]) == (1, 1)
    assert (done["wide.png"]["width"], done["wide.png"]["height"]) == (3000, 40)
    assert done["g16.png"]["bit_depth"] == 16
    assert (out / "g16.png").read_bytes()[24] == 16  # IHDR bit depth of the written PNG
    assert done["rgba.png"]["alpha"]
    with Image.open(out / "rgba.png") as rgba, Image.open(done["rgba.png"]["path"]) as source:
        assert rgba.mode == "RGBA" and np.array_equal(np.asarray(rgba)[..., 3], np.asarray(source)[..., 3])
    assert (done["exif.jpg"]["width"], done["exif.jpg"]["height"]) == (20, 40)  # orientation applied
    assert any("first of 2 frames" in w for w in done["anim.gif"]["warnings"])
    assert any("CMYK" in w for w in done["cmyk.jpg"]["warnings"])
    return done


# ------------------------------------------------------------------ the hostile folder


def test_colorize_hostile_folder(hostile: Path, tmp_path: Path, tiny_weights: Path) -> None:
    before = snapshot(hostile)
    out = tmp_path / "out"
    result = invoke("colorize", hostile, "-o", out, "--weights", tiny_weights, "--json")
    rows = records(result.stdout)
    _check_error_records(result, rows, hostile)
    _check_outputs(rows, out)
    assert "would overwrite the output of" in result.stderr and "dup_2.png" in result.stderr
    assert "first of 2 frames" in result.stderr
    assert snapshot(hostile) == before, "inputs modified"


@pytest.mark.parametrize("mode", ["resize", "patch"])
def test_detect_hostile_folder(hostile: Path, detector_weights: Path, mode: str) -> None:
    before = snapshot(hostile)
    result = invoke("detect", hostile, "--weights", detector_weights, "--mode", mode, "--json")
    rows = records(result.stdout)
    _check_error_records(result, rows, hostile)
    for row in rows:
        if "error" not in row:
            assert 0.0 <= row["score"] <= 1.0 and row["label"] in ("natural", "colorized", "grayscale")
    assert snapshot(hostile) == before


@pytest.mark.parametrize("method", ["reinhard", "global"])
def test_transfer_hostile_targets(
    hostile: Path, tmp_path: Path, tiny_weights: Path, style_image: Path, method: str
) -> None:
    before = snapshot(hostile)
    out = tmp_path / "out"
    extra = ["--weights", tiny_weights] if method == "global" else []
    result = invoke("transfer", hostile, "-o", out, "--style", style_image, "--method", method, "--json", *extra)
    rows = records(result.stdout)
    _check_error_records(result, rows, hostile)
    _check_outputs(rows, out)
    assert all(r["style"] == str(style_image) for r in rows if "error" not in r)
    assert snapshot(hostile) == before


@pytest.mark.parametrize("bad", ["bomb.png", "trunc.png", "text.png", "empty.png"])
def test_transfer_hostile_style_is_a_usage_error(hostile: Path, tmp_path: Path, bad: str) -> None:
    result = invoke(
        "transfer", hostile / "good.jpg", "-o", tmp_path / "out", "--style", hostile / bad, "--method", "reinhard"
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(hostile / bad) in lines[0] and BAD[bad] in lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_decompression_bomb_refused_from_the_header_alone(tmp_path: Path) -> None:
    from cfx.imageio import ImageError, load_image

    # 100000² RGB would need 30 GB as uint8 (120 GB as floats): only a refusal from the
    # header, before any pixel memory, can give this reason (an attempt gives MemoryError).
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(100_000, 100_000))
    with pytest.raises(ImageError, match="decompression bomb"):
        load_image(bomb)
    # a JPEG header declaring 60000×60000 is refused the same way
    header = io.BytesIO()
    Image.new("L", (8, 8)).save(header, "JPEG")
    data = bytearray(header.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)
    (tmp_path / "bomb.jpg").write_bytes(bytes(data))
    with pytest.raises(ImageError, match="decompression bomb"):
        load_image(tmp_path / "bomb.jpg")


def test_damaged_files_raise_no_stray_pillow_warnings(tmp_path: Path) -> None:
    """Pillow warns about damaged files ("Corrupt EXIF data"); those lines would reach stderr
    unattributed, beside the error record that already says what is wrong."""
    import warnings

    from cfx.imageio import ImageError, load_image

    noise = Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    (tmp_path / "cut.tif").write_bytes(_half_of(noise, "TIFF", compression="tiff_deflate"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageError, match="not a recognised image file"):
            load_image(tmp_path / "cut.tif")
    assert [str(w.message) for w in caught] == []


# ------------------------------------------------------------------ paths


def test_stdin_paths_never_write_outside_output(
    tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "deep" / "a"
    cwd.mkdir(parents=True)
    for rel in ("x.png", "abs/y.png", "abs/sub/w.png", "z.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(smooth_image(16, 16, len(rel))).convert("L").save(tmp_path / rel)
    monkeypatch.chdir(cwd)
    lines = [
        "../../x.png",  # relative, climbing out of the working directory
        str(tmp_path / "abs" / "y.png"),  # absolute
        str(tmp_path / "abs" / "sub") + "/../sub",  # a directory through '..'
        json.dumps(
            {"path": "../../z.png", "output": "../../../../../../../z.png"}
        ),  # 'output' wins: still an input path
        json.dumps({"path": str(tmp_path / "x.png") + "/../x.png"}),  # not a directory: an error record
    ]
    before = snapshot(tmp_path)
    result = invoke("colorize", "-", "-o", "o", "--weights", tiny_weights, "--json", input="\n".join(lines) + "\n")
    rows = records(result.stdout)
    out = (cwd / "o").resolve()
    written = [Path(r["output"]).resolve() for r in rows if "output" in r]
    assert len(written) == 3 and all(out in p.parents for p in written)
    assert sorted(str(p.relative_to(out)) for p in written) == ["w.png", "x.png", "y.png"]
    assert [r["path"] for r in rows if "error" in r] == [
        "../../../../../../../z.png",
        str(tmp_path / "x.png") + "/../x.png",
    ]
    assert result.exit_code == 1
    after = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("deep/a/o")}
    assert after == before, "something outside -o changed"


def test_output_inside_input_is_not_consumed(tmp_path: Path, tiny_weights: Path) -> None:
    source = tmp_path / "in"
    (source / "sub").mkdir(parents=True)
    Image.fromarray(smooth_image(16, 20, 1)).convert("L").save(source / "a.png")
    Image.fromarray(smooth_image(16, 20, 2)).convert("L").save(source / "sub" / "b.jpg")
    out = source / "out"
    for _ in range(2):  # the second run must not see the first run's outputs
        result = invoke("colorize", source, "-o", out, "--weights", tiny_weights, "--json")
        assert result.exit_code == 0
        assert sorted(Path(r["path"]).name for r in records(result.stdout)) == ["a.png", "b.jpg"]
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == ["a.png", "sub/b.jpg"]
    # -o the input folder itself: a usage error (exit 2), nothing written
    before = snapshot(source)
    same = invoke("colorize", source, "-o", source, "--weights", tiny_weights, "--json")
    assert same.exit_code == 2 and same.stdout == ""
    assert f"-o {source} is the input folder {source}; choose another output folder" in same.stderr
    assert snapshot(source) == before
    # an input folder inside -o is walked (cfx colorize work/scans -o work)
    inner = invoke("colorize", source / "sub", "-o", source, "--weights", tiny_weights, "--json")
    assert inner.exit_code == 0 and [Path(r["output"]) for r in records(inner.stdout)] == [source / "b.jpg"]


def test_an_output_never_replaces_an_input_read_later(
    tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "out").mkdir()
    Image.fromarray(smooth_image(16, 16, 1)).convert("L").save(tmp_path / "a" / "b.jpg")
    Image.fromarray(smooth_image(16, 16, 2)).convert("L").save(tmp_path / "out" / "b.jpg")  # an input inside -o
    before = (tmp_path / "out" / "b.jpg").read_bytes()
    monkeypatch.chdir(tmp_path)
    # absolute paths on stdin keep only their name (relative ones keep their folders: a/b.jpg -> out/a/b.jpg)
    result = invoke(
        "colorize",
        "-",
        "-o",
        "out",
        "--weights",
        tiny_weights,
        "--json",
        input=f"{tmp_path / 'a' / 'b.jpg'}\n{tmp_path / 'out' / 'b.jpg'}\n",
    )
    assert result.exit_code == 0
    assert [r["output"] for r in records(result.stdout)] == ["out/b_2.jpg", "out/b_3.jpg"]
    assert (tmp_path / "out" / "b.jpg").read_bytes() == before


# ------------------------------------------------------------------ interruption


# SIGINT/SIGTERM in the middle of a folder run: tests/test_interrupt.py


def test_training_killed_mid_epoch_resumes_to_the_same_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from safetensors.torch import load_file

    import cfx.train.colorizer as trainer
    from cfx.train.colorizer import ColorizerRecipe, train_colorizer

    monkeypatch.setattr(os, "cpu_count", lambda: 1)  # train_colorizer sizes its threads by it
    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (data / label).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (3, 3, 3), dtype=np.uint8)).resize(
                (40, 40), Image.Resampling.BICUBIC
            ).save(data / label / f"{i}.png")
    recipe = ColorizerRecipe(model="iizuka.tiny", epochs=2, batch_size=2, val_fraction=0.25, seed=0)
    straight = train_colorizer(data, tmp_path / "straight" / "w.safetensors", recipe, quiet=True)
    crops_per_epoch = straight["log"][0]["samples"]

    calls = {"n": 0}
    real_crop = trainer.random_crop

    def crop_then_interrupt(*args, **kwargs):  # Ctrl-C (SIGINT) arrives in the middle of epoch 2
        calls["n"] += 1
        if calls["n"] == crops_per_epoch + 3:
            raise KeyboardInterrupt
        return real_crop(*args, **kwargs)

    killed = tmp_path / "killed" / "w.safetensors"
    monkeypatch.setattr(trainer, "random_crop", crop_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        train_colorizer(data, killed, recipe, resume=True, quiet=True)
    monkeypatch.setattr(trainer, "random_crop", real_crop)
    assert not [p for p in killed.parent.iterdir() if p.name.startswith(".")], "temporary files left behind"
    resumed = train_colorizer(data, killed, recipe, resume=True, quiet=True)
    assert [e["epoch"] for e in resumed["log"]] == [1, 2]
    assert resumed["log"][-1]["train_loss"] == straight["log"][-1]["train_loss"]
    expected, actual = load_file(str(tmp_path / "straight" / "w.safetensors")), load_file(str(killed))
    assert set(actual) == set(expected) and all(torch.equal(actual[k], expected[k]) for k in expected)


# ------------------------------------------------------------------ untrusted weights


def _copy_weights(source: Path, target: Path) -> Path:
    target.write_bytes(source.read_bytes())
    target.with_suffix(".json").write_bytes(source.with_suffix(".json").read_bytes())
    return target


def _one_line_error(result, *words: str) -> str:
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def test_tampered_truncated_and_mismatched_weights_name_the_file(
    tmp_path: Path, tiny_weights: Path, detector_weights: Path
) -> None:
    image = tmp_path / "g.png"
    Image.fromarray(smooth_image(16, 16, 0)).convert("L").save(image)
    tampered = _copy_weights(tiny_weights, tmp_path / "tampered.safetensors")
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    _one_line_error(invoke("colorize", image, "-o", tmp_path / "o", "--weights", tampered), str(tampered), "sha256")
    truncated = _copy_weights(tiny_weights, tmp_path / "truncated.safetensors")
    truncated.write_bytes(truncated.read_bytes()[:100])
    _one_line_error(invoke("colorize", image, "-o", tmp_path / "o", "--weights", truncated), str(truncated), "sha256")
    # wrong architecture: a detector given to colorize, a colorizer given to detect, another colorizer family
    _one_line_error(
        invoke("colorize", image, "-o", tmp_path / "o", "--weights", detector_weights),
        str(detector_weights),
        "not a colorizer",
    )
    _one_line_error(invoke("detect", image, "--weights", tiny_weights), str(tiny_weights), "not a detector")
    _one_line_error(
        invoke("colorize", image, "-o", tmp_path / "o", "--model", "zhang.tiny", "--weights", tiny_weights),
        str(tiny_weights),
        "zhang.tiny",
    )
    assert not (tmp_path / "o").exists()


class _Payload:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


@pytest.mark.parametrize("kind", ["pickle", "torch.save"])
def test_untrusted_weights_cannot_execute_code(tmp_path: Path, tiny_weights: Path, kind: str) -> None:
    import torch

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.safetensors"
    if kind == "pickle":
        evil.write_bytes(pickle.dumps({"conv.weight": _Payload(marker)}))
    else:
        torch.save({"conv.weight": _Payload(marker)}, evil)
    card = json.loads(tiny_weights.with_suffix(".json").read_text())
    card["sha256"] = hashlib.sha256(evil.read_bytes()).hexdigest()  # a card that vouches for it
    evil.with_suffix(".json").write_text(json.dumps(card))
    image = tmp_path / "g.png"
    Image.new("L", (8, 8)).save(image)
    _one_line_error(
        invoke("colorize", image, "-o", tmp_path / "o", "--weights", evil), str(evil), "not a valid safetensors file"
    )
    assert not marker.exists(), "the weights file ran code"


def test_no_code_path_unpickles() -> None:
    """Weights and checkpoints are read with safetensors only: no pickle-based loader anywhere in cfx,
    but for the one-time import of the ImageNet checkpoints (cfx/models/pretrained.py), which reads
    a sha256-checked file with ``torch.load(weights_only=True)`` (no code is unpickled)."""
    package = Path(__file__).resolve().parent.parent / "cfx"
    loaders = re.compile(r"torch\.load\(|pickle\.loads?\(|torch\.jit\.load|joblib|dill|weights_only")
    offenders = [
        f"{p.relative_to(package)}:{n}"
        for p in package.rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if loaders.search(line)
    ]
    importer = [o for o in offenders if o.startswith("models/pretrained.py:")]
    assert offenders == importer
    lines = (package / "models" / "pretrained.py").read_text().splitlines()
    loads = [line for line in lines if "torch.load(" in line]
    assert len(loads) == 1 and "weights_only=True" in loads[0]
    source = (package / "models" / "pretrained.py").read_text()
    assert source.index("sha256") < source.index("torch.load(")
