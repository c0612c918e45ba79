"""The CLI through typer's CliRunner: stdout parsed as JSON, exit codes, stdin."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app

runner = CliRunner()


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_help_lists_commands_and_exit_codes() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for word in ("colorize", "models", "train", "Exit codes"):
        assert word in result.stdout


def test_colorize_folder_json(photo_dir: Path, tmp_path: Path, tiny_weights: Path) -> None:
    out = tmp_path / "out"
    result = invoke("colorize", photo_dir, "-o", out, "--weights", tiny_weights, "--json", "--quiet")
    assert result.exit_code == 0, result.stderr
    rows = {Path(r["path"]).name: r for r in records(result.stdout)}
    assert set(rows) == {"gray.jpg", "colour.png", "alpha.png"}  # notes.txt skipped quietly
    for row in rows.values():
        assert row["schema"] == "cfx.colorize/1"
        assert row["model"] == "iizuka.tiny"
        written = Image.open(row["output"])
        assert written.size == Image.open(row["path"]).size == (row["width"], row["height"])
    assert rows["colour.png"]["output"] == str(out / "sub" / "colour.png")  # mirrored tree
    assert Image.open(rows["alpha.png"]["output"]).mode == "RGBA" and rows["alpha.png"]["alpha"]
    assert Image.open(rows["gray.jpg"]["output"]).mode == "RGB"
    assert "input has colour: its luminance is used" in rows["colour.png"]["warnings"]


def test_colorize_plain_output_is_paths(photo_dir: Path, tmp_path: Path, tiny_weights: Path) -> None:
    result = invoke("colorize", photo_dir / "gray.jpg", "-o", tmp_path / "o", "--weights", tiny_weights)
    assert result.exit_code == 0
    assert result.stdout.strip() == str(tmp_path / "o" / "gray.jpg")


def test_bad_file_is_one_error_record_and_exit_1(photo_dir: Path, tmp_path: Path, tiny_weights: Path) -> None:
    (photo_dir / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    (photo_dir / "empty.jpg").write_bytes(b"")
    result = invoke("colorize", photo_dir, "-o", tmp_path / "out", "--weights", tiny_weights, "--json")
    assert result.exit_code == 1
    rows = records(result.stdout)
    errors = {Path(r["path"]).name: r["error"] for r in rows if "error" in r}
    assert set(errors) == {"broken.png", "empty.jpg"}
    assert all("\n" not in e for e in errors.values())
    assert sum("output" in r for r in rows) == 3  # the good ones are still written
    assert "Traceback" not in result.stderr
    assert "broken.png" in result.stderr


def test_stdin_paths_and_json_lines(photo_dir: Path, tmp_path: Path, tiny_weights: Path) -> None:
    lines = f"{photo_dir / 'gray.jpg'}\n" + json.dumps({"path": str(photo_dir / "alpha.png")}) + "\n"
    result = invoke("colorize", "-", "-o", tmp_path / "out", "--weights", tiny_weights, "--json", input=lines)
    assert result.exit_code == 0
    assert [Path(r["output"]).name for r in records(result.stdout)] == ["gray.jpg", "alpha.png"]
    # The output of one command is the input of the next.
    again = invoke("colorize", "-", "-o", tmp_path / "again", "--weights", tiny_weights, "--json", input=result.stdout)
    assert again.exit_code == 0 and len(records(again.stdout)) == 2


def test_skip_existing(photo_dir: Path, tmp_path: Path, tiny_weights: Path) -> None:
    out = tmp_path / "out"
    first = invoke("colorize", photo_dir, "-o", out, "--weights", tiny_weights, "--json")
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.*")}
    second = invoke("colorize", photo_dir, "-o", out, "--weights", tiny_weights, "--json", "--skip-existing")
    assert first.exit_code == second.exit_code == 0
    assert all(r.get("skipped") for r in records(second.stdout))
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.*")} == before


def test_sixteen_bit_gray_stays_sixteen_bit(tmp_path: Path, tiny_weights: Path) -> None:
    ramp = (np.linspace(0, 65535, 32 * 40).reshape(32, 40)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "scan.png")
    result = invoke("colorize", tmp_path / "scan.png", "-o", tmp_path / "out", "--weights", tiny_weights, "--json")
    row = records(result.stdout)[0]
    assert row["bit_depth"] == 16
    header = (tmp_path / "out" / "scan.png").read_bytes()[16:26]
    assert header[8] == 16  # IHDR bit depth


def test_usage_errors_exit_2(tmp_path: Path, tiny_weights: Path) -> None:
    assert (
        invoke(
            "colorize", tmp_path / "missing.jpg", "-o", tmp_path / "o", "--weights", tmp_path / "nope.safetensors"
        ).exit_code
        == 2
    )
    assert invoke("colorize", "-o", tmp_path / "o").exit_code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert invoke("colorize", empty, "-o", tmp_path / "o", "--weights", tiny_weights).exit_code == 2
    assert invoke("colorize", empty, "-o", tmp_path / "o", "--model", "nosuch.model").exit_code == 2


def test_models_json_lists_registry() -> None:
    result = invoke("models", "--json", "--all")
    assert result.exit_code == 0
    rows = {r["name"]: r for r in records(result.stdout)}
    assert {"iizuka.full", "iizuka.compact", "iizuka.tiny"} <= set(rows)
    assert all(r["schema"] == "cfx.models/1" and r["params"] > 0 for r in rows.values())
    assert rows["iizuka.full"]["task"] == "colorize"


def test_train_colorizer_writes_weights_and_report(tmp_path: Path) -> None:
    from tests.conftest import smooth_image

    data = tmp_path / "data"
    for i in range(10):
        label = data / ("sky" if i % 2 else "grass")
        label.mkdir(parents=True, exist_ok=True)
        Image.fromarray(smooth_image(40, 48, i)).save(label / f"{i}.png")
    out = tmp_path / "m.safetensors"
    result = invoke(
        "train",
        "colorizer",
        "--data",
        data,
        "--model",
        "iizuka.tiny",
        "-o",
        out,
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--quiet",
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["schema"] == "cfx.train/1" and report["name"] == "iizuka.tiny"
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["sha256"] == report["sha256"] and card["training"]["epochs"] == 1
    assert len(report["log"]) == 1 and "train_loss" in report["log"][0]
    colored = invoke("colorize", data / "sky" / "1.png", "-o", tmp_path / "o", "--weights", out)
    assert colored.exit_code == 0


def test_eval_colorizer_report(tmp_path: Path, tiny_weights: Path) -> None:
    from tests.conftest import smooth_image

    data = tmp_path / "truth"
    data.mkdir()
    for i in range(3):
        Image.fromarray(smooth_image(24, 30, i)).save(data / f"{i}.png")
    result = invoke("eval", "colorizer", "--data", data, "--weights", tiny_weights, "--quiet")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["schema"] == "cfx.eval-colorizer/1"
    assert [s["model"] for s in report["summary"]] == ["grayscale", "iizuka.tiny"]
    assert len(report["rows"]) == 6
    gray, model = report["summary"]
    assert gray["colourfulness_ratio"] < 0.01
    psnrs = [r["psnr"] for r in report["rows"] if r["model"] == "iizuka.tiny"]
    assert model["psnr"] == pytest.approx(sum(psnrs) / 3)
    assert invoke("eval", "colorizer", "--data", tmp_path / "nothing").exit_code == 2


def test_temperature_only_for_classification_colorizers(photo_dir: Path, tmp_path: Path, tiny_weights: Path) -> None:
    result = invoke(
        "colorize", photo_dir / "gray.jpg", "-o", tmp_path / "o", "--weights", tiny_weights, "--temperature", "0.5"
    )
    assert result.exit_code == 2
    assert "temperature" in result.stderr


def test_temperature_changes_zhang_output(photo_dir: Path, tmp_path: Path) -> None:
    import torch

    from cfx.registry import create_model
    from cfx.weights import save_model

    torch.manual_seed(1)
    weights = tmp_path / "zhang.safetensors"
    save_model(create_model("zhang.tiny"), weights, {"name": "zhang.tiny", "arch": "zhang", "task": "colorize"})
    outputs = []
    for t in ("0.05", "1.0"):
        out = tmp_path / f"t{t}"
        assert (
            invoke(
                "colorize", photo_dir / "sub" / "colour.png", "-o", out, "--weights", weights, "--temperature", t
            ).exit_code
            == 0
        )
        outputs.append(np.asarray(Image.open(out / "colour.png"), dtype=np.int16))
    assert np.abs(outputs[0] - outputs[1]).max() > 0
