"""The benchmark's detector run reports what docs/performance.md quotes (schema only: no timing asserted)."""

from __future__ import annotations

from cfx.bench import run_detector
from cfx.detect import DEFAULT_DETECTOR


def test_detector_run_reports_forward_and_end_to_end() -> None:
    row = run_detector(size=300, count=1, repeat=1, mode="patch")
    assert row["model"] == DEFAULT_DETECTOR and row["mode"] == "patch"
    assert row["patches"] == 4  # 300² → a 2×2 grid of native 256² crops
    assert row["model_s"] > 0 and row["end_to_end_s"] > 0
    assert (
        abs(row["end_to_end_over_model"] - row["end_to_end_s"] / row["model_s"]) < 0.05 * row["end_to_end_over_model"]
    )
    assert row["peak_rss_mib"] > 0


def test_colorizer_run_reports_the_bare_forward_pass_too() -> None:
    from cfx.bench import run_one

    row = run_one("iizuka.compact", None, size=96, count=1, repeat=1)
    assert row["model"] == "iizuka.compact" and row["render"] == [96, 96]
    assert row["model_s"] > 0 and row["bare_forward_s"] > 0 and row["end_to_end_s"] > 0
    assert (
        abs(row["end_to_end_over_bare_forward"] - row["end_to_end_s"] / row["bare_forward_s"])
        < 0.05 * row["end_to_end_over_bare_forward"]
    )
    assert list(row["stages_ms"]) == ["decode", "lightness_and_resize", "model", "merge", "encode_and_write"]
    assert all(ms > 0 for ms in row["stages_ms"].values())
