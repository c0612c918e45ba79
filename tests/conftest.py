"""Shared fixtures: tiny weights made in the test session, small generated images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: the test machine's cores are shared, and oversubscribed
    OpenMP threads make tiny convolutions 10-50x slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained ``iizuka.tiny`` saved with its card (the CLI's --weights)."""
    import torch

    from cfx.registry import create_model
    from cfx.weights import save_model

    torch.manual_seed(0)
    model = create_model("iizuka.tiny")
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_model(model, path, {"name": "iizuka.tiny", "arch": "iizuka", "task": "colorize"})
    return path


@pytest.fixture(scope="session")
def guided_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``unet.tiny-guided`` (the hint-conditioned preset) trained for one epoch by ``cfx train
    colorizer`` on six generated images, with simulated hints, as the shipped guided model is."""
    from typer.testing import CliRunner

    from cfx.cli.main import app

    root = tmp_path_factory.mktemp("guided")
    for split, count in (("train", 4), ("val", 2)):
        (root / "data" / split / "x").mkdir(parents=True)
        for i in range(count):
            seed = i + (100 if split == "val" else 0)
            Image.fromarray(smooth_image(80, 96, seed)).save(root / "data" / split / "x" / f"{i}.png")
    path = root / "guided.safetensors"
    args = ["train", "colorizer", "--data", root / "data", "--model", "unet.tiny-guided", "-o", path]
    args += ["--epochs", "1", "--crops-per-image", "1", "--batch-size", "4", "--cache-dir", root / "cache", "--quiet"]
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="session")
def detector_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained ``decnet.tiny`` saved with its card, sharpened so that images get
    distinct scores (that stay < 1)."""
    import torch

    from cfx.registry import create_model
    from cfx.weights import save_model

    torch.manual_seed(0)
    model = create_model("decnet.tiny")
    with torch.no_grad():
        model.fc.bias.zero_()
        model.fc.weight.mul_(3)
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_var.mul_(0.2)
    path = tmp_path_factory.mktemp("detector") / "decnet.safetensors"
    save_model(model, path, {"name": "decnet.tiny", "arch": "decnet", "task": "detect", "threshold": 0.5})
    return path


def smooth_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random colour image (uint8 H×W×3), like a blurry photo."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(3, 4, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC))


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    """A folder with a gray JPEG, a colour PNG in a subfolder, an RGBA PNG and a text file."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    Image.fromarray(smooth_image(40, 56, 1)).convert("L").save(root / "gray.jpg", quality=95)
    Image.fromarray(smooth_image(33, 21, 2)).save(root / "sub" / "colour.png")
    rgba = np.dstack([smooth_image(24, 24, 3), np.full((24, 24), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(root / "alpha.png")
    (root / "notes.txt").write_text("not an image")
    return root


def eval_detector_html(tmp_path: Path, detector_weights: Path, count: int):
    """``count`` natural and ``count`` "fake" photos, scored by ``cfx eval detector --html``;
    (the CLI result, the HTML file)."""
    from typer.testing import CliRunner

    from cfx.cli.main import app

    natural, colorized = tmp_path / "natural", tmp_path / "fake"
    natural.mkdir()
    colorized.mkdir()
    for i in range(count):
        Image.fromarray(smooth_image(32, 40, i)).save(natural / f"{i}.png")
        Image.fromarray(smooth_image(32, 40, 10 + i)).save(colorized / f"{i}.png")
    report = tmp_path / "detector.html"
    args = ["eval", "detector", "--natural", natural, "--colorized", f"fake={colorized}", "--weights", detector_weights]
    args += ["--html", report, "--quiet", "--device", "cpu"]
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result, report
