"""Colour transfer: Reinhard statistics, Welsh matching, global features (Iizuka, Simo-Serra and Ishikawa 2016,
§4.5), the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from cfx.color import rgb_to_lab
from cfx.colorize import Colorizer, load_colorizer
from cfx.imageio import LoadedImage
from cfx.transfer import GlobalTransfer, ReinhardTransfer, StyleCache, WelshTransfer, load_method
from tests.conftest import smooth_image

runner = CliRunner()


def loaded(rgb_u8: np.ndarray, name: str = "mem.png") -> LoadedImage:
    rgb = rgb_u8.astype(np.float32) / 255.0
    gray = bool(np.ptp(rgb_u8.astype(int), axis=2).max() <= 2)
    return LoadedImage(Path(name), rgb, None, 8, gray, "RGB")


def lab_of(rgb: np.ndarray) -> torch.Tensor:
    return rgb_to_lab(torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float())


def ab_stats(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ab = lab_of(rgb)[1:].reshape(2, -1).double()
    return ab.mean(dim=1).numpy(), ab.std(dim=1, unbiased=False).numpy()


def muted(height: int, width: int, seed: int, span: int = 128) -> np.ndarray:
    """A smooth colour image kept in the middle of the gamut (no clipping when recoloured)."""
    return (128 - span // 2 + smooth_image(height, width, seed).astype(np.int32) * span // 255).astype(np.uint8)


def gray_of(rgb_u8: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(Image.fromarray(rgb_u8).convert("L"))[..., None], 3, axis=2)


def invoke(*args: object, input: str | None = None):
    return runner.invoke(app, ["transfer", *map(str, args)], input=input, catch_exceptions=False)


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


# --- Reinhard ------------------------------------------------------------------------


def test_reinhard_matches_reference_ab_statistics() -> None:
    target, reference = loaded(muted(40, 56, 1, span=64)), loaded(muted(48, 40, 5))
    out = ReinhardTransfer().transfer(target, reference)
    mean, std = ab_stats(out)
    ref_mean, ref_std = ab_stats(reference.rgb)
    assert np.abs(mean - ref_mean).max() < 1.0, (mean, ref_mean)
    assert np.abs(std - ref_std).max() < 1.0, (std, ref_std)
    assert float((lab_of(out)[0] - lab_of(target.rgb)[0]).abs().mean()) < 0.05  # L* kept (bar gamut clipping)


def test_reinhard_on_gray_target_keeps_luminance_and_size() -> None:
    target = loaded(gray_of(muted(37, 53, 2)))
    reference = loaded(muted(20, 30, 3))
    method = ReinhardTransfer()
    prepared = method.prepare(target, method.prepare_style(reference))
    out = method.finish(prepared, None)
    assert out.shape == target.rgb.shape
    assert float((lab_of(out)[0] - lab_of(target.rgb)[0]).abs().max()) < 0.5
    mean, std = ab_stats(out)
    assert np.abs(mean - ab_stats(reference.rgb)[0]).max() < 1.0 and std.max() < 1.0  # the mean tint
    assert any("mean tint" in note for note in prepared.warnings)


# --- Welsh -----------------------------------------------------------------------------


def two_halves(
    dark: tuple[int, int, int], bright: tuple[int, int, int], height: int = 48, width: int = 64
) -> np.ndarray:
    image = np.empty((height, width, 3), np.uint8)
    image[:, : width // 2], image[:, width // 2 :] = dark, bright
    return image


def test_welsh_colours_follow_luminance() -> None:
    reference = two_halves((150, 50, 50), (120, 170, 250))  # dark red | bright blue
    target = loaded(gray_of(reference))
    out = WelshTransfer(seed=3).transfer(target, loaded(reference))
    lab = lab_of(out)
    left, right = lab[:, 4:-4, 4:26], lab[:, 4:-4, 38:-4]
    assert float(left[1].mean()) > 30 and float(left[2].mean()) > 10  # red: a* > 0, b* > 0
    assert float(right[2].mean()) < -30  # blue: b* < 0
    assert float(left[1].min()) > 30 and float(right[2].max()) < -30  # everywhere, not on average
    assert float((lab[0] - lab_of(target.rgb)[0]).abs().max()) < 0.5
    assert out.shape == target.rgb.shape


def test_welsh_works_at_a_bounded_size_and_is_seeded() -> None:
    target, reference = loaded(gray_of(muted(30, 600, 4))), loaded(muted(700, 20, 6))
    method = WelshTransfer(working_size=64)
    prepared = method.prepare(target, method.prepare_style(reference))
    ab = method.predict([prepared])[0]
    assert max(ab.shape[1:]) <= 64
    out = method.finish(prepared, ab)
    assert out.shape == target.rgb.shape
    np.testing.assert_array_equal(out, WelshTransfer(working_size=64).transfer(target, reference))


# --- Iizuka, Simo-Serra and Ishikawa 2016, §4.5 --------------------------------------------


@pytest.fixture(scope="module")
def tiny_colorizer(tmp_path_factory: pytest.TempPathFactory) -> Colorizer:
    """An untrained iizuka.tiny whose global branch responds to its input.

    With PyTorch's default initialisation the signal fades through the tiny global
    network and its output is the same for every image; He initialisation keeps it.
    """
    from cfx.registry import create_model
    from cfx.weights import save_model

    torch.manual_seed(0)
    model = create_model("iizuka.tiny")
    for module in model.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("styled") / "tiny.safetensors"
    save_model(model, path, {"name": "iizuka.tiny", "arch": "iizuka", "task": "colorize"})
    return load_colorizer(weights=path, device="cpu")


def test_global_style_changes_colours_and_self_style_is_plain_colorization(tiny_colorizer: Colorizer) -> None:
    method = GlobalTransfer(tiny_colorizer)
    target = loaded(gray_of(smooth_image(40, 48, 1)))
    styled = [method.transfer(target, loaded(gray_of(smooth_image(32, 32, seed)))) for seed in (7, 8)]
    assert np.abs(styled[0] - styled[1]).max() > 1e-3
    np.testing.assert_allclose(method.transfer(target, target), tiny_colorizer.colorize_array(target), atol=1e-5)


def test_global_needs_a_model_taking_global_source(tiny_colorizer: Colorizer) -> None:
    class Plain(torch.nn.Module):
        def forward(self, lightness: torch.Tensor) -> torch.Tensor:
            return lightness

    with pytest.raises(ValueError, match="global features"):
        GlobalTransfer(Colorizer(Plain(), {"name": "plain"}, torch.device("cpu"), 64))
    with pytest.raises(ValueError, match="unknown transfer method"):
        load_method("nope")


def test_each_style_is_prepared_once(tmp_path: Path) -> None:
    calls = []

    class Counting(ReinhardTransfer):
        def prepare_style(self, image: LoadedImage):
            calls.append(image.path)
            return super().prepare_style(image)

    style = tmp_path / "style.png"
    Image.fromarray(smooth_image(16, 16, 9)).save(style)
    cache = StyleCache(Counting())
    assert cache.get(style) is cache.get(str(style)) is cache.get(tmp_path / "." / "style.png")
    assert len(calls) == 1


# --- CLI -------------------------------------------------------------------------------


@pytest.fixture
def images(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    root.mkdir()
    Image.fromarray(smooth_image(30, 40, 1)).convert("L").save(root / "a.jpg", quality=95)
    Image.fromarray(smooth_image(24, 24, 2)).convert("L").save(root / "b.png")
    Image.fromarray(smooth_image(16, 16, 5)).convert("L").save(tmp_path / "c.png")
    Image.fromarray(smooth_image(20, 28, 3)).save(tmp_path / "style1.png")
    Image.fromarray(smooth_image(20, 28, 4)).save(tmp_path / "style2.jpg")
    return root


def test_cli_json_records(images: Path, tmp_path: Path, tiny_weights: Path) -> None:
    style = tmp_path / "style1.png"
    for method, extra in (("reinhard", []), ("welsh", []), ("global", ["--weights", tiny_weights])):
        out = tmp_path / method
        result = invoke(images, "--style", style, "-o", out, "--method", method, "--json", "--quiet", *extra)
        assert result.exit_code == 0, result.stderr
        rows = {Path(r["path"]).name: r for r in records(result.stdout)}
        assert set(rows) == {"a.jpg", "b.png"}
        for row in rows.values():
            assert row["schema"] == "cfx.transfer/1" and row["method"] == method and row["style"] == str(style)
            assert Image.open(row["output"]).size == Image.open(row["path"]).size == (row["width"], row["height"])
            assert ("weights_sha256" in row) == (method == "global")
        assert rows["a.jpg"]["output"] == str(out / "a.jpg")
    assert rows["a.jpg"]["model"] == "iizuka.tiny"


def test_cli_stdin_pairs_and_a_target_without_style(images: Path, tmp_path: Path) -> None:
    lines = [
        {"path": str(images / "a.jpg"), "style": str(tmp_path / "style1.png")},
        {"path": str(images / "b.png"), "style": str(tmp_path / "style2.jpg")},
        {"path": str(tmp_path / "c.png")},
        {"path": str(tmp_path / "style1.png"), "style": str(images / "broken.png")},
    ]
    (images / "broken.png").write_bytes(b"not an image")
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    result = invoke("-", "-o", tmp_path / "out", "--method", "reinhard", "--json", input=stdin)
    assert result.exit_code == 1
    rows = records(result.stdout)
    assert [Path(r["style"]).name for r in rows if "output" in r] == ["style1.png", "style2.jpg"]
    no_style, bad_style = [r for r in rows if "error" in r]
    assert "no style" in no_style["error"] and no_style["path"] == str(tmp_path / "c.png")
    assert bad_style["error"].startswith(f"style {images / 'broken.png'}: ") and bad_style["path"] == str(
        tmp_path / "style1.png"
    )
    # --style is the default for lines without their own.
    again = invoke(
        "-", "-o", tmp_path / "again", "--method", "welsh", "--style", tmp_path / "style2.jpg", "--json", input=stdin
    )
    assert again.exit_code == 1
    assert [Path(r["style"]).name for r in records(again.stdout) if "output" in r] == [
        "style1.png",
        "style2.jpg",
        "style2.jpg",
    ]


def test_cli_usage_errors_exit_2(images: Path, tmp_path: Path) -> None:
    missing = invoke(images, "-o", tmp_path / "out", "--method", "reinhard")
    assert missing.exit_code == 2 and "--style" in missing.stderr
    unknown = invoke(images, "-o", tmp_path / "out", "--style", tmp_path / "style1.png", "--method", "nope")
    assert unknown.exit_code == 2 and "nope" in unknown.stderr
    (tmp_path / "bad.png").write_bytes(b"not an image")
    bad_style = invoke(images, "-o", tmp_path / "out", "--style", tmp_path / "bad.png", "--method", "reinhard")
    assert bad_style.exit_code == 2 and "bad.png" in bad_style.stderr
    assert not (tmp_path / "out").exists()


def test_cli_bad_target_is_an_error_record_and_exit_1(images: Path, tmp_path: Path) -> None:
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    result = invoke(
        images, "-o", tmp_path / "out", "--style", tmp_path / "style1.png", "--method", "reinhard", "--json"
    )
    assert result.exit_code == 1
    rows = records(result.stdout)
    errors = [r for r in rows if "error" in r]
    assert [Path(r["path"]).name for r in errors] == ["broken.png"] and "\n" not in errors[0]["error"]
    assert sum("output" in r for r in rows) == 2
    assert "Traceback" not in result.stderr and "broken.png" in result.stderr


def test_cli_skip_existing_and_plain_output(images: Path, tmp_path: Path) -> None:
    args = (images / "a.jpg", "-o", tmp_path / "out", "--style", tmp_path / "style1.png", "--method", "reinhard")
    first = invoke(*args)
    assert first.exit_code == 0 and first.stdout.strip() == str(tmp_path / "out" / "a.jpg")
    again = invoke(*args, "--skip-existing", "--json")
    assert records(again.stdout)[0]["skipped"] is True
