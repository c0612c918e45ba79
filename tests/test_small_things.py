"""Small things that cost trust (issue 28): options a model does not use, warnings, name
suggestions, hardening that selects a useless model, long labels in tables, usage lines, help."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cfx.cli.main import app

runner = CliRunner()


def invoke(*args: object, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


def test_temperature_with_the_default_colorizer_is_a_usage_error(photo_dir: Path, tmp_path: Path) -> None:
    result = invoke("colorize", photo_dir / "gray.jpg", "-o", tmp_path / "o", "--temperature", "0.2")
    assert result.exit_code == 2
    assert "--temperature" in result.stderr and "unet.lite0" in result.stderr
    assert not (tmp_path / "o").exists()


def test_temperature_is_declared_in_the_registry() -> None:
    from cfx.registry import get_spec

    assert get_spec("zhang.compact").takes("temperature")
    assert not get_spec("unet.lite0").takes("temperature")
    assert not get_spec("iizuka.compact").takes("temperature")


def test_a_python_warning_is_one_cfx_warning_line_and_quiet_silences_it(
    photo_dir: Path, tmp_path: Path, tiny_weights: Path
) -> None:
    args = ("colorize", photo_dir / "gray.jpg", "--weights", tiny_weights, "--device", "cpu", "--precision", "fp16")
    result = invoke(*args, "-o", tmp_path / "a")
    assert result.exit_code == 0, result.stderr
    warning_lines = [line for line in result.stderr.splitlines() if "warning" in line.lower()]
    assert warning_lines == ["cfx: warning: fp16 requested on the CPU; running in fp32"]
    assert "UserWarning" not in result.stderr and ".py:" not in result.stderr
    quiet = invoke(*args, "-o", tmp_path / "b", "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_model_suggestions_match_prefixes_and_offer_only_shipped_names(photo_dir: Path, tmp_path: Path) -> None:
    unet = invoke("colorize", photo_dir / "gray.jpg", "-o", tmp_path / "o", "--model", "unet")
    assert unet.exit_code == 2
    assert "unknown model 'unet'; did you mean unet.lite0 or unet.lite0-guided?" in unet.stderr
    decnet = invoke("detect", photo_dir / "gray.jpg", "--model", "decnet")
    assert decnet.exit_code == 2
    assert "did you mean decnet.tanh-compact" in decnet.stderr
    assert "decnet.tanh," not in decnet.stderr and "decnet.tanh " not in decnet.stderr  # a preset without weights
    preset = invoke("detect", photo_dir / "gray.jpg", "--model", "decnet.tanh")  # a preset, never shipped
    assert preset.exit_code == 2 and "no shipped weights for 'decnet.tanh'" in preset.stderr
    assert "did you mean decnet.tanh-compact" in preset.stderr


def test_harden_detector_refuses_a_model_that_misses_every_natural_photo(tmp_path: Path) -> None:
    """At threshold 0 every natural photo is judged colorized, whatever the training does."""
    import torch

    from cfx.registry import create_model
    from cfx.weights import save_model
    from tests.test_harden_detector import paired_folders

    torch.manual_seed(0)
    parent = tmp_path / "d.safetensors"
    save_model(create_model("decnet.tiny"), parent, {"name": "decnet.tiny", "task": "detect", "threshold": 0.0})
    common = paired_folders(tmp_path, 6, 4, 32, 32)
    output = tmp_path / "h.safetensors"
    args = ("--round-epochs", "1", "--alphas", "0.2", "--lr", "0.01")
    result = invoke("harden", "detector", "--weights", parent, *common, "-o", output, *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("cfx: error: every candidate judges every natural validation photo colorized")
    assert len(result.stderr.splitlines()) == 1 and "not a usage error" not in result.stderr
    assert not output.exists() and not output.with_suffix(".json").exists()


def test_eval_tables_keep_their_columns_with_a_150_character_label() -> None:
    from cfx.cli.eval_command import format_summary
    from cfx.evaluate_detector import format_detectors, format_matrix

    long = "x" * 150
    metrics = {"hter": 0.1, "natural_miss_rate": 0.05, "colorized_miss_rate": 0.15, "roc_auc": 0.9, "eer": 0.1}
    detectors = [
        {"model": long, "trained_on": ["zhang"], "hardened": False, "per_colorizer": {"zhang": metrics, long: metrics}},
        {"model": "decnet.tanh-compact", "trained_on": [], "hardened": True, "per_colorizer": {"zhang": metrics}},
    ]
    table = format_detectors({"detectors": detectors}).splitlines()[:-1]  # the footnote is prose
    assert len({len(line) for line in table}) == 1, table
    assert len({line.index("%") for line in table[1:]}) == 1
    rows = [
        {"detector": long, "hter": {"zhang": 0.1}, "seen": {"zhang": True}, "blind_mean_hter": None},
        {"detector": "short", "hter": {"zhang": 0.2}, "seen": {"zhang": False}, "blind_mean_hter": 0.2},
    ]
    matrix = format_matrix({"columns": ["zhang"], "rows": rows}).splitlines()[:-1]
    assert len({len(line) for line in matrix}) == 1, matrix
    summary = [
        {"model": long, "images": 3, "psnr": 20.0, "ssim": 0.9, "auc": 0.8, "colourfulness_ratio": 1.0},
        {"model": "grayscale", "images": 3, "psnr": 19.0, "ssim": 0.8, "auc": 0.7, "colourfulness_ratio": 0.0},
    ]
    assert len({len(line) for line in format_summary(summary).splitlines()}) == 1


def test_usage_lines_read_inputs() -> None:
    for command in ("colorize", "detect", "transfer"):
        usage = invoke(command, "--help").stdout.splitlines()[0]
        assert usage.endswith(f"{command} [OPTIONS] INPUTS..."), usage


def test_model_help_names_the_default_model() -> None:
    from cfx.registry import DEFAULT_MODELS

    for command, default in (
        (["colorize"], DEFAULT_MODELS["colorize"]),
        (["detect"], DEFAULT_MODELS["detect"]),
        (["transfer"], DEFAULT_MODELS["transfer"]),
        (["eval", "colorizer"], DEFAULT_MODELS["colorize"]),
        (["eval", "detector"], DEFAULT_MODELS["detect"]),
        (["harden", "colorizer"], DEFAULT_MODELS["colorize"]),
    ):
        text = " ".join(invoke(*command, "--help").stdout.split())  # unwrapped
        option = text[text.index("-m, --model") :][:200]
        assert f"default: {default}" in option, (command, option)


def test_suggestions_are_models_of_the_command(photo_dir: Path, tmp_path: Path) -> None:
    detect = invoke("detect", photo_dir / "gray.jpg", "--model", "unet")
    assert detect.exit_code == 2 and "unet.lite0" not in detect.stderr  # a colorizer
    colorize = invoke("colorize", photo_dir / "gray.jpg", "-o", tmp_path / "o", "--model", "litenet")
    assert colorize.exit_code == 2 and "litenet.lite0" not in colorize.stderr  # a detector
