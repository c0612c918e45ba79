"""Guided colour (Zhang, Zhu, Isola, Geng, Lin, Yu & Efros 2017, "Real-Time User-Guided Image
Colorization with Learned Deep Priors"): the hint formats of `cfx colorize --hints` /
`--hint-image` / stdin and every mistake in them, the user's colour kept at hinted pixels,
zero hints giving the automatic path, and the CLI through CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app
from cfx.color import rgb_to_lab
from cfx.errors import UsageError
from cfx.hints import (
    DEFAULT_RADIUS,
    HintPoint,
    Hints,
    hints_for_inputs,
    parse_color,
    read_hint_image,
    read_hints_file,
)
from tests.conftest import smooth_image

runner = CliRunner()
FIREBRICK = "#b22222"
WIDTH, HEIGHT = 56, 40


def invoke(*args: object, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def lab_of(rgb8: np.ndarray) -> np.ndarray:
    """L*a*b* (…×3) of uint8 sRGB pixels (…×3)."""
    rgb = torch.from_numpy(rgb8.reshape(-1, 3).T.astype(np.float32) / 255.0)[:, :, None]
    return rgb_to_lab(rgb)[:, :, 0].T.numpy().reshape(rgb8.shape)


def items(*paths: Path, fields: dict | None = None) -> list[SimpleNamespace]:
    """Input items as `collect_inputs` makes them (``path`` and stdin ``fields``)."""
    return [SimpleNamespace(path=p, fields=dict(fields or {})) for p in paths]


@pytest.fixture
def gray(tmp_path: Path) -> Path:
    """A mid-gray 56×40 input (L* ≈ 54): a hint's colour is inside the sRGB gamut at that lightness."""
    path = tmp_path / "gray.png"
    Image.fromarray(np.full((HEIGHT, WIDTH), 128, np.uint8)).save(path)
    return path


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(smooth_image(HEIGHT, WIDTH, 3)).convert("L").save(path)
    return path


def write_json(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value))
    return path


def strokes(path: Path, size: tuple[int, int] = (WIDTH, HEIGHT), box=(5, 6, 15, 9), color=(30, 60, 200)) -> Path:
    """A transparent RGBA PNG with one opaque rectangle (left, top, right, bottom; exclusive)."""
    rgba = np.zeros((size[1], size[0], 4), np.uint8)
    left, top, right, bottom = box
    rgba[top:bottom, left:right] = (*color, 255)
    Image.fromarray(rgba, "RGBA").save(path)
    return path


# --------------------------------------------------------------------------- parsing


def test_parse_color_long_and_short_hex() -> None:
    a, b = parse_color(FIREBRICK, "here")
    assert a == pytest.approx(56.0, abs=1.0) and b == pytest.approx(37.0, abs=1.5)  # CIE L*a*b* of firebrick
    assert parse_color("#fff", "here") == pytest.approx((0.0, 0.0), abs=0.01)
    assert parse_color("b22222", "here") == pytest.approx((a, b))  # the '#' may be left out


def test_json_file_gives_points_with_default_radius(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "h.json",
        {"points": [{"x": 3, "y": 4, "color": FIREBRICK}, {"x": 5.5, "y": 0, "color": "#00f", "radius": 0}]},
    )
    hints = read_hints_file(path)
    assert isinstance(hints, Hints) and hints.source == str(path)
    first, second = hints.points
    assert (first.x, first.y, first.radius) == (3.0, 4.0, DEFAULT_RADIUS)
    assert first.ab == pytest.approx(parse_color(FIREBRICK, ""))
    assert (second.x, second.radius) == (5.5, 0.0)


def test_json_lines_hints_by_input_path(tmp_path: Path, gray: Path, photo: Path) -> None:
    path = tmp_path / "h.jsonl"
    lines = [{"path": str(gray), "points": [{"x": 1, "y": 2, "color": FIREBRICK}]}, {"path": str(photo), "points": []}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    read = read_hints_file(path)
    assert isinstance(read, dict) and set(read) == {str(gray), str(photo)}
    found = hints_for_inputs(items(gray, photo), hints_file=path)
    assert len(found[gray]) == 1 and len(found[photo]) == 0
    assert found[gray].source == f"{path} line 1"


def test_stroke_image_every_opaque_pixel_is_a_hint(tmp_path: Path, gray: Path) -> None:
    path = strokes(tmp_path / "s.png")
    hints = read_hint_image(path)
    assert hints.stroke_mask is not None and hints.stroke_mask.sum() == 10 * 3 and len(hints) == 30
    expected = lab_of(np.array([[30, 60, 200]], np.uint8))[0, 1:]
    assert hints.stroke_ab[7, 10] == pytest.approx(expected, abs=0.01)
    assert hints.stroke_ab[0, 0] == pytest.approx((0.0, 0.0))  # transparent: not a hint
    mask, ab = hints.full_resolution(HEIGHT, WIDTH)
    assert mask.sum() == 30 and ab[7, 10] == pytest.approx(expected, abs=0.01)
    assert hints_for_inputs(items(gray), hint_image=path)[gray] is not None


def test_stdin_hints_field(gray: Path) -> None:
    found = hints_for_inputs(items(gray, fields={"hints": {"points": [{"x": 0, "y": 0, "color": "#0a0"}]}}))
    assert len(found[gray]) == 1 and "stdin" in found[gray].source


def test_points_and_strokes_for_one_input_add_up(tmp_path: Path, gray: Path) -> None:
    file = write_json(tmp_path / "h.json", {"points": [{"x": 40, "y": 30, "color": FIREBRICK, "radius": 0}]})
    found = hints_for_inputs(items(gray), hints_file=file, hint_image=strokes(tmp_path / "s.png"))
    assert len(found[gray]) == 1 + 30


def test_model_channels_map_full_resolution_points_to_the_render_size() -> None:
    hints = Hints("h", [HintPoint(399.0, 299.0, (40.0, -20.0), 2.0), HintPoint(0.0, 0.0, (-11.0, 22.0), 0.0)])
    channels = hints.model_channels(300, 400, (48, 64))
    assert channels.shape == (3, 48, 64)
    assert channels[2, -1, -1] == 1 and channels[:2, -1, -1] == pytest.approx(torch.tensor([40.0, -20.0]) / 110)
    assert channels[2, 0, 0] == 1 and channels[:2, 0, 0] == pytest.approx(torch.tensor([-11.0, 22.0]) / 110)
    assert channels[2].sum() == 2  # a 2-pixel radius at 400 px is under one render pixel at 64
    assert (channels[:2] * (1 - channels[2])).abs().sum() == 0  # a*b* only where the mask is


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"x": WIDTH, "y": 0, "color": FIREBRICK}, f"point 0 ({WIDTH}, 0) is outside"),
        ({"x": 0, "y": -1, "color": FIREBRICK}, "is outside"),
        ({"x": 0, "y": 0, "color": "red"}, "color 'red' is not an sRGB hex colour"),
        ({"x": 0, "y": 0, "color": "#12345"}, "is not an sRGB hex colour"),
        ({"x": 0, "y": 0}, "color None is not an sRGB hex colour"),
        ({"x": "1", "y": 0, "color": FIREBRICK}, "'x' must be a number of pixels"),
        ({"x": 0, "y": 0, "color": FIREBRICK, "radius": -1}, "radius must be a non-negative number"),
    ],
)
def test_bad_points_are_usage_errors_naming_the_file(tmp_path: Path, gray: Path, point: dict, message: str) -> None:
    path = write_json(tmp_path / "h.json", {"points": [point]})
    with pytest.raises(UsageError, match=r"h\.json") as caught:
        hints_for_inputs(items(gray), hints_file=path)
    assert message in str(caught.value)


def test_malformed_files_are_usage_errors(tmp_path: Path, gray: Path) -> None:
    cases = {
        "broken.json": ("{", "invalid JSON"),
        "list.json": ("[]", 'expected an object with a "points" list'),
        "nopath.jsonl": ('{"points": []}\n', 'line 1: expected an object with a "path" string'),
        "empty.jsonl": ("\n", "no hints"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(UsageError, match=name) as caught:
            hints_for_inputs(items(gray), hints_file=tmp_path / name)
        assert message in str(caught.value)
    with pytest.raises(UsageError, match="cannot read hints"):
        hints_for_inputs(items(gray), hints_file=tmp_path / "missing.json")


def test_stroke_image_of_another_size(tmp_path: Path, gray: Path) -> None:
    path = strokes(tmp_path / "s.png", size=(WIDTH + 1, HEIGHT))
    with pytest.raises(
        UsageError, match=rf"s\.png: stroke image is {WIDTH + 1}×{HEIGHT}, .*gray\.png is {WIDTH}×{HEIGHT}"
    ):
        hints_for_inputs(items(gray), hint_image=path)


def test_stroke_image_without_transparency_or_strokes(tmp_path: Path, gray: Path) -> None:
    Image.fromarray(smooth_image(HEIGHT, WIDTH, 1)).save(tmp_path / "rgb.png")
    with pytest.raises(UsageError, match=r"rgb\.png: stroke image has no transparency"):
        hints_for_inputs(items(gray), hint_image=tmp_path / "rgb.png")
    Image.fromarray(np.zeros((HEIGHT, WIDTH, 4), np.uint8), "RGBA").save(tmp_path / "clear.png")
    with pytest.raises(UsageError, match=r"clear\.png: stroke image has no opaque pixel"):
        hints_for_inputs(items(gray), hint_image=tmp_path / "clear.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(UsageError, match=r"text\.png: cannot read the stroke image"):
        hints_for_inputs(items(gray), hint_image=tmp_path / "text.png")


def test_json_lines_line_naming_no_input(tmp_path: Path, gray: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps({"path": str(tmp_path / "other.png"), "points": []}) + "\n")
    with pytest.raises(UsageError, match=r"h\.jsonl line 1: .*other\.png is none of the inputs"):
        hints_for_inputs(items(gray), hints_file=path)


def test_one_input_hints_given_for_several_inputs(tmp_path: Path, gray: Path, photo: Path) -> None:
    path = write_json(tmp_path / "h.json", {"points": []})
    with pytest.raises(UsageError, match=r"h\.json: a \.json hints file is for one input, 2 given"):
        hints_for_inputs(items(gray, photo), hints_file=path)
    with pytest.raises(UsageError, match=r"s\.png: --hint-image is for one input, 2 given"):
        hints_for_inputs(items(gray, photo), hint_image=strokes(tmp_path / "s.png"))


def test_a_model_without_hints_refuses_them(gray: Path, tiny_weights: Path) -> None:
    from cfx.colorize import load_colorizer
    from cfx.imageio import load_image

    colorizer = load_colorizer(weights=tiny_weights, device="cpu")
    assert not colorizer.takes_hints
    with pytest.raises(UsageError, match="iizuka.tiny takes no hints"):
        colorizer.prepare(load_image(gray), Hints("h", [HintPoint(1, 1, (10.0, 10.0))]))
    colorizer.prepare(load_image(gray), Hints("h", []))  # no hints at all: nothing to refuse


# --------------------------------------------------------------------------- the colour kept


def _guided(weights: Path):
    from cfx.colorize import load_colorizer

    return load_colorizer(weights=weights, device="cpu")


def test_hinted_pixels_keep_the_users_colour(tmp_path: Path, gray: Path, guided_weights: Path) -> None:
    from cfx.imageio import load_image

    colorizer = _guided(guided_weights)
    assert colorizer.takes_hints and colorizer.name == "unet.tiny-guided"
    hints = Hints(
        "h", [HintPoint(10, 12, parse_color(FIREBRICK, ""), 2.0), HintPoint(50, 35, parse_color("#2050c0", ""), 0.0)]
    )
    image = load_image(gray)
    prepared = colorizer.prepare(image, hints)
    out = colorizer.finish(prepared, colorizer.predict([prepared])[0], 8)
    lab = lab_of(out)
    for point in hints.points:
        y, x = int(point.y), int(point.x)
        assert np.abs(lab[y, x, 1:] - np.array(point.ab)).max() <= 3.0, (lab[y, x], point.ab)
        assert lab[y, x, 0] == pytest.approx(float(prepared.lightness[0, y, x]), abs=1.0)  # the input's own L*
    mask, _ = hints.full_resolution(HEIGHT, WIDTH)
    assert mask.sum() == 13 + 1
    plain = colorizer.finish(prepared, colorizer.predict([colorizer.prepare(image)])[0], 8)
    assert not np.array_equal(out[~mask], plain[~mask])  # the hints reach the network, not only the pins


def test_zero_hints_give_the_automatic_path(photo: Path, gray: Path, guided_weights: Path) -> None:
    from cfx.imageio import load_image

    colorizer = _guided(guided_weights)
    image = load_image(photo)
    automatic = colorizer.colorize_array(image)
    empty = colorizer.prepare(image, Hints("h", []))
    assert empty.hints is None and empty.pins is None
    assert np.array_equal(colorizer.finish(empty, colorizer.predict([empty])[0]), automatic)
    # In a batch beside a hinted image, an image without hints gets zero channels: the same output.
    hinted = colorizer.prepare(load_image(gray), Hints("h", [HintPoint(3, 3, (30.0, 30.0))]))
    together = colorizer.predict([colorizer.prepare(image), hinted])[0]
    assert torch.allclose(together, colorizer.predict([colorizer.prepare(image)])[0], atol=1e-5)


# --------------------------------------------------------------------------- the CLI


def test_cli_hints_json_record_counts_hinted_pixels(tmp_path: Path, gray: Path, guided_weights: Path) -> None:
    hints = write_json(tmp_path / "h.json", {"points": [{"x": 10, "y": 12, "color": FIREBRICK}]})
    out = tmp_path / "out"
    result = invoke("colorize", gray, "-o", out, "--weights", guided_weights, "--hints", hints, "--json", "--quiet")
    assert result.exit_code == 0, result.stderr
    (record,) = records(result.stdout)
    assert record["schema"] == "cfx.colorize/1" and record["model"] == "unet.tiny-guided"
    assert record["hinted_pixels"] == 13  # the disc of radius 2
    lab = lab_of(np.asarray(Image.open(record["output"]).convert("RGB")))
    assert np.abs(lab[12, 10, 1:] - np.array(parse_color(FIREBRICK, ""))).max() <= 3.0
    plain = invoke("colorize", gray, "-o", tmp_path / "plain", "--weights", guided_weights, "--json", "--quiet")
    assert "hinted_pixels" not in records(plain.stdout)[0]


def test_cli_hint_image_and_json_lines(tmp_path: Path, gray: Path, photo: Path, guided_weights: Path) -> None:
    result = invoke(
        "colorize", gray, "-o", tmp_path / "a.png", "--weights", guided_weights,
        "--hint-image", strokes(tmp_path / "s.png"), "--json", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert records(result.stdout)[0]["hinted_pixels"] == 30
    lines = tmp_path / "h.jsonl"
    lines.write_text(
        json.dumps({"path": str(photo), "points": [{"x": 1, "y": 1, "color": "#0a0", "radius": 1}]}) + "\n"
    )
    result = invoke(
        "colorize",
        gray,
        photo,
        "-o",
        tmp_path / "out",
        "--weights",
        guided_weights,
        "--hints",
        lines,
        "--json",
        "--quiet",
    )
    assert result.exit_code == 0, result.stderr
    by_name = {Path(r["path"]).name: r for r in records(result.stdout)}
    assert by_name["photo.png"]["hinted_pixels"] == 5 and "hinted_pixels" not in by_name["gray.png"]


def test_cli_stdin_hints_field(tmp_path: Path, gray: Path, guided_weights: Path) -> None:
    line = json.dumps({"path": str(gray), "hints": {"points": [{"x": 2, "y": 3, "color": "#123456", "radius": 0}]}})
    result = invoke(
        "colorize", "-", "-o", tmp_path / "out", "--weights", guided_weights, "--json", "--quiet", input=line + "\n"
    )
    assert result.exit_code == 0, result.stderr
    assert records(result.stdout)[0]["hinted_pixels"] == 1


def test_cli_hint_mistakes_are_usage_errors(
    tmp_path: Path, gray: Path, photo: Path, tiny_weights: Path, guided_weights: Path
) -> None:
    outside = write_json(tmp_path / "outside.json", {"points": [{"x": 100, "y": 5, "color": FIREBRICK}]})
    bad_colour = write_json(tmp_path / "colour.json", {"points": [{"x": 1, "y": 5, "color": "#xyzxyz"}]})
    fine = write_json(tmp_path / "fine.json", {"points": [{"x": 1, "y": 5, "color": FIREBRICK}]})
    cases = [
        (
            [gray, "--hints", outside, "--weights", guided_weights],
            f"outside.json: point 0 (100, 5) is outside {gray} ({WIDTH}×{HEIGHT})",
        ),
        (
            [gray, "--hints", bad_colour, "--weights", guided_weights],
            "colour.json: point 0: color '#xyzxyz' is not an sRGB hex colour",
        ),
        (
            [gray, photo, "--hints", fine, "--weights", guided_weights],
            "fine.json: a .json hints file is for one input, 2 given",
        ),
        (
            [gray, "--hint-image", strokes(tmp_path / "s.png", size=(8, 8)), "--weights", guided_weights],
            "s.png: stroke image is 8×8",
        ),
        ([gray, "--hints", fine, "--weights", tiny_weights], "iizuka.tiny takes no hints"),
    ]
    for args, message in cases:
        result = invoke("colorize", *args, "-o", tmp_path / "out", "--quiet")
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, result.stderr
        assert not (tmp_path / "out").exists()  # nothing was written


# --------------------------------------------------------------------------- cfx eval colorizer --hints


@pytest.fixture
def truths(tmp_path: Path) -> Path:
    """Three smooth colour photos (ground truths)."""
    root = tmp_path / "truth"
    root.mkdir()
    for i in range(3):
        Image.fromarray(smooth_image(48, 64, 20 + i)).save(root / f"{i}.png")
    return root


def eval_report(truths: Path, *args: object) -> dict:
    result = invoke("eval", "colorizer", "--data", truths, *args, "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_eval_hints_rows_say_how_many_and_add_the_bilateral_baseline(
    truths: Path, guided_weights: Path, tiny_weights: Path
) -> None:
    args = ("--weights", guided_weights, "--weights", tiny_weights, "--hints", "20")
    report = eval_report(truths, *args)
    assert report["schema"] == "cfx.eval-colorizer/1"
    assert report["hints"] == {"points": 20, "seed": 0, "max_patch": 9}
    summary = {entry["model"]: entry for entry in report["summary"]}
    assert list(summary) == ["grayscale", "bilateral baseline", "unet.tiny-guided", "iizuka.tiny"]
    assert {name: entry["hints"] for name, entry in summary.items()} == {
        "grayscale": 0,
        "bilateral baseline": 20,
        "unet.tiny-guided": 20,
        "iizuka.tiny": 0,
    }
    assert summary["iizuka.tiny"]["note"] == "takes no hints: evaluated without them"
    assert "note" not in summary["unet.tiny-guided"]
    assert len(report["rows"]) == 3 * 4 and all("hints" in row for row in report["rows"])
    # 20 true colours spread over a smooth photo beat gray by far.
    assert summary["bilateral baseline"]["psnr"] > summary["grayscale"]["psnr"] + 3
    # Seeded: the same points in every run; another seed, other points.
    assert eval_report(truths, *args)["rows"] == report["rows"]
    other = {e["model"]: e for e in eval_report(truths, *args, "--seed", "1")["summary"]}
    assert other["bilateral baseline"]["psnr"] != summary["bilateral baseline"]["psnr"]
    assert other["iizuka.tiny"]["psnr"] == summary["iizuka.tiny"]["psnr"]


def test_eval_zero_hints_is_the_automatic_path(truths: Path, guided_weights: Path) -> None:
    plain = {e["model"]: e for e in eval_report(truths, "--weights", guided_weights)["summary"]}
    zero = {e["model"]: e for e in eval_report(truths, "--weights", guided_weights, "--hints", "0")["summary"]}
    assert "bilateral baseline" not in plain
    assert zero["unet.tiny-guided"]["psnr"] == plain["unet.tiny-guided"]["psnr"]
    assert zero["bilateral baseline"]["psnr"] == pytest.approx(zero["grayscale"]["psnr"], abs=1e-4)


def test_eval_hints_mistakes(truths: Path, guided_weights: Path, tmp_path: Path) -> None:
    result = invoke("eval", "colorizer", "--data", truths, "--weights", guided_weights, "--hints", "-1")
    assert result.exit_code == 2
    records_file = tmp_path / "r.jsonl"
    records_file.write_text("")
    result = invoke("eval", "colorizer", "--records", records_file, "--hints", "5")
    assert result.exit_code == 2 and "--hints" in result.stderr and "--records" in result.stderr


def test_eval_gives_the_simulated_points_to_the_model_as_cfx_colorize_does(truths: Path) -> None:
    """The evaluation's points: patches of 1-9 px of the true a*b* at random pixels, the same
    for every model, given as Hints (pinned at full resolution)."""
    from cfx.evaluate import HintPlan, simulated_hints
    from cfx.imageio import load_image

    path = truths / "0.png"
    image = load_image(path)
    given, baseline = simulated_hints(path, image, HintPlan(5))
    again, _ = simulated_hints(path, image, HintPlan(5))
    assert np.array_equal(given.stroke_mask, again.stroke_mask) and np.array_equal(given.stroke_ab, again.stroke_ab)
    assert 5 <= given.stroke_mask.sum() <= 5 * 81 and not given.points
    truth_ab = lab_of(np.asarray(Image.open(path).convert("RGB")))[..., 1:]
    hinted = given.stroke_mask
    assert np.abs(given.stroke_ab[hinted] - truth_ab[hinted]).mean() < 10  # patch means of the truth
    assert baseline().shape == (48, 64, 3)
    other, _ = simulated_hints(path, image, HintPlan(5, seed=3))
    assert not np.array_equal(other.stroke_mask, given.stroke_mask)


def test_cli_json_lines_hints_for_a_sharded_run(tmp_path: Path, gray: Path, photo: Path, guided_weights: Path) -> None:
    """One hints file for the whole run: each shard takes its own inputs' lines; a line naming
    a file that does not exist is still a mistake."""
    lines = tmp_path / "h.jsonl"
    point = {"x": 1, "y": 1, "color": "#0a0", "radius": 0}
    lines.write_text("".join(json.dumps({"path": str(p), "points": [point]}) + "\n" for p in (gray, photo)))
    hinted = []
    for k in (1, 2):
        args = ("colorize", gray, photo, "-o", tmp_path / "out", "--weights", guided_weights, "--hints", lines)
        result = invoke(*args, "--shard", f"{k}/2", "--json", "--quiet")
        assert result.exit_code == 0, result.stderr
        hinted += [r["hinted_pixels"] for r in records(result.stdout)]
    assert hinted == [1, 1]
    lines.write_text(json.dumps({"path": str(tmp_path / "missing.png"), "points": [point]}) + "\n")
    result = invoke(
        "colorize",
        gray,
        photo,
        "-o",
        tmp_path / "out2",
        "--weights",
        guided_weights,
        "--hints",
        lines,
        "--shard",
        "1/2",
    )
    assert result.exit_code == 2 and "missing.png is none of the inputs" in result.stderr


def test_spread_keeps_the_model_colour_far_from_the_points_and_the_hint_at_them() -> None:
    """The model's a*b* is the prior of the bilateral spread: a hinted cell takes the hint's colour,
    a cell across a lightness edge and far away keeps the model's."""
    import torch

    from cfx.color import AB_RANGE
    from cfx.hints import spread_hints

    model_ab = torch.zeros(2, 16, 16)
    model_ab[0] = 30.0  # the model paints a* = 30 everywhere
    lightness = torch.full((1, 64, 64), 0.3)
    lightness[:, :, 32:] = 0.9  # an edge: the right half is much lighter
    hints = torch.zeros(3, 64, 64)
    hints[0, 4:8, 4:8] = -40.0 / AB_RANGE
    hints[2, 4:8, 4:8] = 1.0
    out = spread_hints(model_ab, lightness, hints)
    assert out.shape == (2, 16, 16)
    assert abs(float(out[0, 1, 1]) + 40.0) < 1.0  # at the point: the hint
    assert abs(float(out[0, 15, 15]) - 30.0) < 1.0  # across the edge: the model's colour


def test_unet_chroma_scales_its_prediction() -> None:
    import dataclasses

    import torch

    from cfx.registry import create_model

    model = create_model("unet.tiny-guided").eval()
    x = torch.rand(1, 1, 64, 64)
    full = model.predict_ab(x)
    model.config = dataclasses.replace(model.config, chroma=0.5)
    assert torch.allclose(model.predict_ab(x), full * 0.5)
