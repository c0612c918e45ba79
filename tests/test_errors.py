"""Errors: a user's mistake exits 2 on one line; anything else exits 1 on one line that names
the error and says how to see the traceback (CFX_DEBUG=1); one loader checks a model's task."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from cfx.errors import UsageError
from cfx.registry import UnknownModelError, WrongTaskError, get_spec
from cfx.weights import WeightsError

runner = CliRunner()


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.new("RGB", (16, 16), (120, 80, 40)).save(path)
    return path


def _one_line(result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_user_errors_are_usage_errors() -> None:
    for error in (UnknownModelError, WrongTaskError, WeightsError):
        assert issubclass(error, UsageError) and issubclass(error, ValueError)


def test_a_usage_error_exits_2(image: Path, tmp_path: Path, detector_weights: Path) -> None:
    line = _one_line(
        runner.invoke(app, ["colorize", str(image), "-o", str(tmp_path / "out"), "--weights", str(detector_weights)]), 2
    )
    assert line.startswith("cfx: error: ") and str(detector_weights) in line and "not a colorizer" in line


def test_any_other_error_exits_1_naming_it(image: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug, not a mistake of the user's")

    monkeypatch.delenv("CFX_DEBUG", raising=False)
    monkeypatch.setattr("cfx.detect.load_detector", broken)
    line = _one_line(runner.invoke(app, ["detect", str(image)]), 1)
    assert (
        line
        == "cfx: error: ZeroDivisionError: a bug, not a mistake of the user's (not a usage error; CFX_DEBUG=1 shows the traceback)"
    )
    monkeypatch.setenv("CFX_DEBUG", "1")
    result = runner.invoke(app, ["detect", str(image)])
    assert isinstance(result.exception, ZeroDivisionError)  # propagates, traceback and all


def test_the_task_is_checked_where_it_is_declared() -> None:
    assert get_spec("decnet.tiny", "detect").task == "detect"
    with pytest.raises(WrongTaskError, match="decnet.tiny is a detect model, not a colorizer"):
        get_spec("decnet.tiny", "colorize")


def test_load_names_the_file_of_the_other_task(tiny_weights: Path, detector_weights: Path) -> None:
    from cfx.loading import load

    loaded = load("detect", weights=detector_weights, device="cpu")
    assert loaded.spec.name == "decnet.tiny" and loaded.card["weights_path"] == str(detector_weights)
    assert not loaded.network.training
    with pytest.raises(WrongTaskError, match=f"{tiny_weights}: iizuka.tiny is a colorize model, not a detector"):
        load("detect", weights=tiny_weights, device="cpu")
    parent = load("colorize", weights=tiny_weights, device="cpu", inference=False)
    assert parent.autocast is None
