"""`cfx eval colorizer|detector --records`: score what sharded `cfx colorize` / `cfx detect`
runs wrote (JSON Lines), without running a model again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cfx.cli.main import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PHOTOS = ["cv-baboon-1a1dd18d.jpg", "gc-dog-5e9d9544.jpg", "gc-duck-fa4572f2.jpg", "gc-dam3-f0e75c31.jpg"]


def invoke(*args: object, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory, tiny_weights: Path, detector_weights: Path) -> Path:
    """Real photos shrunk to 64 px wide (PNG, so outputs are lossless): four colour ones in
    photos/colour, one old grayscale one in photos/old; colorized by iizuka.tiny in two
    shards and unsharded (col/), then detected by decnet.tiny in two shards and unsharded."""
    root = tmp_path_factory.mktemp("records")
    (root / "photos" / "colour").mkdir(parents=True)
    (root / "photos" / "old").mkdir()
    for name in PHOTOS:
        image = Image.open(EXAMPLES / "colour_photos" / name).convert("RGB")
        image.resize((64, round(64 * image.height / image.width))).save(
            root / "photos" / "colour" / f"{Path(name).stem}.png"
        )
    old = Image.open(EXAMPLES / "old_photos" / "dust-bowl-home.jpg").convert("L")
    old.resize((64, round(64 * old.height / old.width))).save(root / "photos" / "old" / "dust-bowl-home.png")
    colorize = ["colorize", root / "photos", "-o", root / "col", "--weights", tiny_weights, "--json", "--quiet"]
    for suffix, extra in (("1", ["--shard", "1/2"]), ("2", ["--shard", "2/2"]), ("all", [])):
        result = invoke(*colorize, *extra)
        assert result.exit_code == 0, result.stderr
        (root / f"colorize-{suffix}.jsonl").write_text(result.stdout)
    detect = ["detect", root / "photos" / "colour", root / "col", "--weights", detector_weights, "--json", "--quiet"]
    for suffix, extra in (("1", ["--shard", "1/2"]), ("2", ["--shard", "2/2"]), ("all", [])):
        result = invoke(*detect, *extra)
        assert result.exit_code == 0, result.stderr
        (root / f"detect-{suffix}.jsonl").write_text(result.stdout)
    return root


def test_colorizer_shards_give_the_unsharded_report(work: Path, tiny_weights: Path) -> None:
    shards = invoke("eval", "colorizer", "--records", work / "colorize-1.jsonl", "--records", work / "colorize-2.jsonl")
    assert shards.exit_code == 0, shards.stderr
    whole = invoke("eval", "colorizer", "--records", work / "colorize-all.jsonl", "--quiet")
    assert whole.exit_code == 0, whole.stderr
    sharded, unsharded = json.loads(shards.stdout), json.loads(whole.stdout)
    assert sharded["schema"] == "cfx.eval-colorizer/1"
    assert sharded["records"] == [str(work / "colorize-1.jsonl"), str(work / "colorize-2.jsonl")]
    assert [s["model"] for s in sharded["summary"]] == ["grayscale", "iizuka.tiny"]
    assert [s["images"] for s in sharded["summary"]] == [len(PHOTOS)] * 2  # the grayscale input is skipped
    assert sharded["summary"] == unsharded["summary"] and sharded["rows"] == unsharded["rows"]
    assert sharded["failed"] == [] and [Path(s["path"]).name for s in sharded["skipped"]] == ["dust-bowl-home.png"]
    assert "1 grayscale input(s) skipped" in shards.stderr and "dust-bowl-home.png" in shards.stderr
    assert "iizuka.tiny" in shards.stderr and "PSNR" in shards.stderr  # the same table as a model run
    # The same scoring as running the colorizer (the written PNGs differ only by 8-bit rounding).
    ran = json.loads(
        invoke("eval", "colorizer", "--data", work / "photos" / "colour", "--weights", tiny_weights, "--quiet").stdout
    )
    for mine, theirs in zip(sharded["summary"], ran["summary"]):
        assert mine["model"] == theirs["model"] and mine["weights_sha256"] == theirs["weights_sha256"]
        assert mine["psnr"] == pytest.approx(theirs["psnr"], abs=0.1)
        assert mine["auc"] == pytest.approx(theirs["auc"], abs=0.005)


def test_colorizer_records_from_stdin(work: Path) -> None:
    piped = invoke("eval", "colorizer", "--records", "-", "--quiet", input=(work / "colorize-all.jsonl").read_text())
    whole = invoke("eval", "colorizer", "--records", work / "colorize-all.jsonl", "--quiet")
    assert piped.exit_code == 0, piped.stderr
    assert json.loads(piped.stdout)["summary"] == json.loads(whole.stdout)["summary"]


def test_colorizer_failures_are_listed_and_exit_1(work: Path, tmp_path: Path) -> None:
    good = records((work / "colorize-all.jsonl").read_text())
    first = next(r for r in good if "colour" in r["path"])
    small = tmp_path / "small.png"
    Image.open(first["output"]).resize((20, 10)).save(small)
    odd = tmp_path / "odd.jsonl"
    lines = [
        {"schema": "cfx.colorize/1", "path": str(tmp_path / "broken.jpg"), "error": "truncated or corrupt image data"},
        {**first, "output": str(small), "model": "other.tiny", "weights_sha256": "0" * 64},
    ]
    odd.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = invoke("eval", "colorizer", "--records", work / "colorize-all.jsonl", "--records", odd)
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert [s["images"] for s in report["summary"]] == [len(PHOTOS)] * 2  # the rest is still scored
    failed = {f["record"]: f for f in report["failed"]}
    assert set(failed) == {f"{odd}:1", f"{odd}:2"}
    assert failed[f"{odd}:1"]["error"] == "truncated or corrupt image data"
    mismatch = failed[f"{odd}:2"]["error"]
    assert str(small) in mismatch and first["path"] in mismatch and "20×10" in mismatch  # names both files
    assert f"({odd}:2)" in result.stderr and "Traceback" not in result.stderr


def test_detector_shards_give_the_unsharded_report(work: Path, detector_weights: Path) -> None:
    folders = ["--natural", work / "photos" / "colour", "--colorized", f"tiny={work / 'col'}"]
    shards = invoke(
        "eval", "detector", "--records", work / "detect-1.jsonl", work / "detect-2.jsonl", *folders
    )  # as from --records detect-*.jsonl
    assert shards.exit_code == 0, shards.stderr
    whole = invoke("eval", "detector", "--records", work / "detect-all.jsonl", *folders, "--quiet")
    sharded, unsharded = json.loads(shards.stdout), json.loads(whole.stdout)
    assert sharded["schema"] == "cfx.eval-detector/1"
    assert sharded["detectors"] == unsharded["detectors"] and sharded["rows"] == unsharded["rows"]
    (entry,) = sharded["detectors"]
    assert entry["model"] == "decnet.tiny" and entry["threshold"] == 0.5 and entry["mode"] == "resize"
    assert entry["overall"]["natural"] == len(PHOTOS) and entry["overall"]["colorized"] == len(PHOTOS) + 1
    assert "decnet.tiny" in shards.stderr and "HTER" in shards.stderr
    # The same metrics as running the detector (the records' scores are rounded to 6 decimals).
    ran = json.loads(invoke("eval", "detector", *folders, "--weights", detector_weights, "--quiet").stdout)
    theirs = ran["detectors"][0]
    assert entry["id"] == theirs["id"] and entry["weights_sha256"] == theirs["weights_sha256"]
    for key, value in theirs["per_colorizer"]["tiny"].items():
        assert entry["per_colorizer"]["tiny"][key] == pytest.approx(value, abs=1e-5), key


def test_detector_unlabelled_records_are_warned_about(work: Path, tmp_path: Path) -> None:
    outside = records((work / "detect-all.jsonl").read_text())[0] | {"path": str(tmp_path / "elsewhere.png")}
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps(outside) + "\n")
    result = invoke(
        "eval",
        "detector",
        "--records",
        work / "detect-all.jsonl",
        "--records",
        extra,
        "--natural",
        work / "photos" / "colour",
        "--colorized",
        f"tiny={work / 'col'}",
    )
    assert result.exit_code == 0, result.stderr
    assert [u["path"] for u in json.loads(result.stdout)["unlabelled"]] == [outside["path"]]
    assert "1 record(s) outside --natural" in result.stderr and "elsewhere.png" in result.stderr


def test_detector_two_thresholds_is_a_usage_error(work: Path, tmp_path: Path) -> None:
    other = records((work / "detect-1.jsonl").read_text())
    changed = tmp_path / "changed.jsonl"
    changed.write_text("".join(json.dumps({**r, "threshold": 0.4}) + "\n" for r in other))
    result = invoke(
        "eval",
        "detector",
        "--records",
        changed,
        "--records",
        work / "detect-2.jsonl",
        "--natural",
        work / "photos" / "colour",
        "--colorized",
        f"tiny={work / 'col'}",
    )
    assert result.exit_code == 2
    assert "two thresholds" in result.stderr and str(changed) in result.stderr


def test_overlapping_shards_are_a_usage_error_naming_both_places(work: Path) -> None:
    result = invoke(
        "eval", "colorizer", "--records", work / "colorize-1.jsonl", "--records", work / "colorize-all.jsonl"
    )
    assert result.exit_code == 2
    assert "appears twice" in result.stderr
    assert f"{work / 'colorize-1.jsonl'}:1" in result.stderr and f"{work / 'colorize-all.jsonl'}:" in result.stderr
    detect = invoke(
        "eval",
        "detector",
        "--records",
        work / "detect-all.jsonl",
        "--records",
        work / "detect-2.jsonl",
        "--natural",
        work / "photos" / "colour",
        "--colorized",
        f"tiny={work / 'col'}",
    )
    assert detect.exit_code == 2 and f"{work / 'detect-2.jsonl'}:1" in detect.stderr


def test_bad_record_files_are_usage_errors(work: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text((work / "colorize-1.jsonl").read_text().splitlines()[0] + "\n{not json\n")
    result = invoke("eval", "colorizer", "--records", broken)
    assert result.exit_code == 2 and f"{broken}:2: not JSON" in result.stderr
    result = invoke("eval", "colorizer", "--records", work / "detect-1.jsonl")  # another command's records
    assert result.exit_code == 2 and f"{work / 'detect-1.jsonl'}:1: schema 'cfx.detect/1'" in result.stderr
    missing = tmp_path / "missing.jsonl"
    result = invoke("eval", "colorizer", "--records", missing)
    assert result.exit_code == 2 and f"{missing}: no such file" in result.stderr
    result = invoke(
        "eval", "detector", "--records", missing, "--natural", work / "photos", "--colorized", f"tiny={work / 'col'}"
    )
    assert result.exit_code == 2 and str(missing) in result.stderr
    result = invoke("eval", "colorizer", "--records", work / "colorize-1.jsonl", work / "colorize-1.jsonl")
    assert result.exit_code == 2 and "given twice" in result.stderr
    assert "Traceback" not in result.stderr


def test_records_do_not_mix_with_models(work: Path, tiny_weights: Path) -> None:
    colorize = invoke("eval", "colorizer", "--records", work / "colorize-1.jsonl", "--weights", tiny_weights)
    assert colorize.exit_code == 2 and "--records" in colorize.stderr
    both = invoke("eval", "colorizer", "--records", work / "colorize-1.jsonl", "--data", work / "photos")
    assert both.exit_code == 2
    assert invoke("eval", "colorizer").exit_code == 2
    stray = invoke(
        "eval", "colorizer", "--data", work / "photos", work / "colorize-1.jsonl"
    )  # record files only after --records
    assert stray.exit_code == 2 and "--records" in stray.stderr
    folders = ["--natural", work / "photos" / "colour", "--colorized", f"tiny={work / 'col'}"]
    for extra in (["--model", "decnet.tanh-compact"], ["--colorizers", "iizuka.compact"]):
        detect = invoke("eval", "detector", "--records", work / "detect-1.jsonl", *folders, *extra)
        assert detect.exit_code == 2 and "--records" in detect.stderr
