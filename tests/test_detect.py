"""Detection: model inputs, patches, the Detector, and `cfx detect` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from cfx.detect import Detector, detect_files, load_detector, model_input, patch_origins, patches
from cfx.runner import Failed
from tests.conftest import smooth_image

runner = CliRunner()
SCHEMA = "cfx.detect/1"
RECORD_KEYS = {"schema", "path", "label", "score", "threshold", "model", "weights_sha256", "mode"}


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    (root / "sub").mkdir(parents=True)
    Image.fromarray(smooth_image(40, 48, 1)).save(root / "a.png")
    Image.fromarray(smooth_image(36, 30, 2)).save(root / "b.jpg", quality=95)
    Image.fromarray(smooth_image(48, 64, 3)).save(root / "sub" / "c.png")
    return root


# ---------------------------------------------------------------- inputs and patches


def test_model_input_range_and_shape() -> None:
    rgb = torch.from_numpy(np.stack([smooth_image(40, 56, 0), smooth_image(40, 56, 1)])).permute(0, 3, 1, 2)
    x = model_input(rgb, 32)
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32
    assert x.min() >= -1.0 and x.max() <= 1.0
    assert x.max() - x.min() > 0.5  # not collapsed
    extremes = model_input(torch.tensor([0, 255], dtype=torch.uint8).repeat(1, 3, 8, 4), 8)
    assert extremes.min() == -1.0 and extremes.max() == 1.0
    same = model_input(rgb[:, :, :32, :32], 32)  # already the right size: only rescaled
    assert torch.allclose(same, rgb[:, :, :32, :32].float() / 127.5 - 1.0, atol=1e-6)


def test_model_input_uint8_and_float_agree() -> None:
    rgb = torch.from_numpy(smooth_image(44, 37, 5).copy()).permute(2, 0, 1)[None]
    assert torch.allclose(model_input(rgb, 24), model_input(rgb.float() / 255.0, 24), atol=1e-6)


@pytest.mark.parametrize(("length", "size", "count"), [(100, 32, 4), (33, 32, 2), (257, 256, 2), (90, 16, 7)])
def test_patch_origins_cover_the_ends(length: int, size: int, count: int) -> None:
    origins = patch_origins(length, size, count)
    assert len(origins) == count
    assert origins[0] == 0 and origins[-1] + size == length
    assert origins == sorted(origins) and all(0 <= o <= length - size for o in origins)
    covered = np.zeros(length, bool)
    for o in origins:
        covered[o : o + size] = True
    assert covered.all()


def test_patch_origins_single_and_short() -> None:
    assert patch_origins(100, 32, 1) == [34]  # one window: centred
    assert patch_origins(32, 32, 3) == [0]
    assert patch_origins(20, 32, 1) == [0]


def test_patches_native_resolution_crops() -> None:
    rgb = torch.from_numpy(smooth_image(40, 50, 4).copy()).permute(2, 0, 1).float() / 255.0
    crops = patches(rgb, 16, max_patches=16)
    rows, cols = patch_origins(40, 16, 3), patch_origins(50, 16, 4)
    assert crops.shape == (12, 3, 16, 16)
    assert crops.min() >= -1.0 and crops.max() <= 1.0
    for k in (0, 5, 11):
        top, left = rows[k // 4], cols[k % 4]
        assert torch.allclose(crops[k], rgb[:, top : top + 16, left : left + 16] * 2 - 1, atol=1e-6)
    assert torch.allclose(crops[-1], rgb[:, -16:, -16:] * 2 - 1, atol=1e-6)  # the far corner is covered


def test_patches_respect_max_patches() -> None:
    rgb = torch.rand(3, 100, 130)
    for limit in (1, 3, 5, 16):
        crops = patches(rgb, 16, max_patches=limit)
        assert 1 <= crops.shape[0] <= limit and crops.shape[1:] == (3, 16, 16)
    assert patches(rgb, 16, max_patches=1000).shape[0] == 7 * 9


def test_patches_upsize_small_images() -> None:
    rgb = torch.from_numpy(smooth_image(20, 30, 6).copy()).permute(2, 0, 1).float() / 255.0
    crops = patches(rgb, 32)
    assert crops.shape == (2, 3, 32, 32)  # short side scaled to 32: 32×48 → two crops
    assert crops.min() >= -1.0 and crops.max() <= 1.0
    assert patches(rgb[:, :16, :16], 32).shape == (1, 3, 32, 32)


# ---------------------------------------------------------------- the Detector


def test_score_array_matches_detect_files(detector_weights: Path, image_dir: Path) -> None:
    detector = load_detector(weights=detector_weights, device="cpu")
    assert detector.size == 256 and detector.threshold == 0.5 and detector.name == "decnet.tiny"
    files = sorted(image_dir.rglob("*.*"))
    results = list(detect_files(detector, files, batch_size=4, workers=1))
    assert len(results) == 3 and not any(isinstance(r, Failed) for r in results)
    for path, record in zip(files, results):
        rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
        direct = detector.score_array(rgb)
        assert 0.0 < direct < 1.0
        assert record["path"] == str(path)
        assert record["score"] == pytest.approx(direct, abs=2e-6)
        assert record["weights_sha256"] == json.loads(detector_weights.with_suffix(".json").read_text())["sha256"]
    assert len({round(r["score"], 4) for r in results}) > 1  # the images are told apart


def test_patch_mode_max_at_least_mean(detector_weights: Path) -> None:
    rgb = smooth_image(256, 400, 7).astype(np.float32) / 255.0  # two native 256×256 crops
    peak = load_detector(weights=detector_weights, device="cpu", mode="patch", aggregate="max")
    mean = load_detector(weights=detector_weights, device="cpu", mode="patch", aggregate="mean")
    prepared = peak.prepare_array(rgb)
    assert prepared.x.shape == (2, 3, 256, 256)
    per_patch = peak.scores(prepared.x)
    assert peak.score_array(rgb) == pytest.approx(float(per_patch.max()), abs=1e-6)
    assert mean.score_array(rgb) == pytest.approx(float(per_patch.mean()), abs=1e-6)
    assert peak.score_array(rgb) >= mean.score_array(rgb)


def test_detector_rejects_bad_options() -> None:
    model = torch.nn.Identity()
    with pytest.raises(ValueError):
        Detector(model, {}, torch.device("cpu"), mode="tiles")
    with pytest.raises(ValueError):
        Detector(model, {}, torch.device("cpu"), aggregate="median")
    with pytest.raises(ValueError):
        Detector(model, {}, torch.device("cpu"), threshold=1.5)


# ---------------------------------------------------------------- the CLI


def test_cli_json_records(detector_weights: Path, image_dir: Path) -> None:
    result = invoke("detect", image_dir, "--weights", detector_weights, "--json", "--quiet")
    assert result.exit_code == 0, result.stderr
    rows = records(result.stdout)
    assert sorted(Path(r["path"]).name for r in rows) == ["a.png", "b.jpg", "c.png"]
    sha = json.loads(detector_weights.with_suffix(".json").read_text())["sha256"]
    for row in rows:
        assert RECORD_KEYS <= set(row)
        assert row["schema"] == SCHEMA
        assert row["label"] in {"natural", "colorized"}
        assert 0.0 <= row["score"] <= 1.0
        assert row["label"] == ("colorized" if row["score"] >= row["threshold"] else "natural")
        assert row["threshold"] == 0.5 and row["model"] == "decnet.tiny" and row["mode"] == "resize"
        assert row["weights_sha256"] == sha
        assert "patches" not in row


def test_cli_plain_lines(detector_weights: Path, image_dir: Path) -> None:
    result = invoke("detect", image_dir, "--weights", detector_weights)
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3
    for line in lines:
        path, label, score = line.split("\t")
        assert Path(path).exists() and label in {"natural", "colorized"} and 0.0 <= float(score) <= 1.0
    assert "judged colorized" in result.stderr


def test_cli_threshold_and_fail_on_colorized(detector_weights: Path, image_dir: Path) -> None:
    everything = invoke(
        "detect", image_dir, "--weights", detector_weights, "--json", "--threshold", "0", "--fail-on-colorized"
    )
    assert everything.exit_code == 3
    rows = records(everything.stdout)
    assert len(rows) == 3 and all(r["label"] == "colorized" and r["threshold"] == 0.0 for r in rows)
    nothing = invoke(
        "detect", image_dir, "--weights", detector_weights, "--json", "--threshold", "1", "--fail-on-colorized"
    )
    assert nothing.exit_code == 0
    assert all(r["label"] == "natural" and r["score"] < 1.0 for r in records(nothing.stdout))
    assert invoke("detect", image_dir, "--weights", detector_weights, "--threshold", "1.5").exit_code == 2


def test_cli_broken_file_is_an_error_record(detector_weights: Path, image_dir: Path) -> None:
    (image_dir / "broken.png").write_text("this is not a PNG")
    result = invoke("detect", image_dir, "--weights", detector_weights, "--json")
    assert result.exit_code == 1
    rows = {Path(r["path"]).name: r for r in records(result.stdout)}
    assert set(rows) == {"a.png", "b.jpg", "c.png", "broken.png"}
    assert "error" in rows["broken.png"] and rows["broken.png"]["schema"] == SCHEMA
    assert all("score" in rows[name] and "error" not in rows[name] for name in ("a.png", "b.jpg", "c.png"))
    assert "Traceback" not in result.stderr


def test_cli_patch_mode(detector_weights: Path, image_dir: Path) -> None:
    result = invoke(
        "detect", image_dir / "a.png", "--weights", detector_weights, "--json", "--mode", "patch", "--aggregate", "mean"
    )
    assert result.exit_code == 0, result.stderr
    (row,) = records(result.stdout)
    assert (
        row["mode"] == "patch" and row["aggregate"] == "mean" and row["patches"] == 2
    )  # 40×48 upsized to 256×308: two crops
    assert invoke("detect", image_dir, "--weights", detector_weights, "--mode", "tiles").exit_code == 2


def test_cli_missing_weights_exit_2(image_dir: Path, tmp_path: Path) -> None:
    result = invoke("detect", image_dir, "--weights", tmp_path / "missing.safetensors", "--json")
    assert result.exit_code == 2
    assert "missing.safetensors" in result.stderr


def test_cli_stdin_json_lines_output_field(detector_weights: Path, image_dir: Path) -> None:
    lines = "".join(
        json.dumps({"schema": "cfx.colorize/1", "path": "elsewhere.jpg", "output": str(p)}) + "\n"
        for p in (image_dir / "a.png", image_dir / "sub" / "c.png")
    )
    result = invoke("detect", "-", "--weights", detector_weights, "--json", input=lines)
    assert result.exit_code == 0, result.stderr
    rows = records(result.stdout)
    assert [Path(r["path"]).name for r in rows] == ["a.png", "c.png"]
    direct = records(invoke("detect", image_dir / "a.png", "--weights", detector_weights, "--json").stdout)[0]
    assert rows[0]["score"] == direct["score"]


def test_cli_gray_input_is_labelled_grayscale_not_colorized(detector_weights: Path, tmp_path: Path) -> None:
    gray = tmp_path / "gray.png"
    Image.fromarray(smooth_image(40, 40, 7)).convert("L").save(gray)
    result = CliRunner().invoke(
        app,
        ["detect", str(gray), "--weights", str(detector_weights), "--json", "--threshold", "0", "--fail-on-colorized"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0  # a gray photo is never "colorized", whatever the threshold
    record = json.loads(result.stdout)
    assert record["label"] == "grayscale" and 0.0 <= record["score"] <= 1.0
