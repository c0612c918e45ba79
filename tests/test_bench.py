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


def test_eccv16_reference_network_maps_lightness_to_ab_at_full_size() -> None:
    import torch

    from cfx.bench import eccv16_network

    net = eccv16_network()
    convs = [m for m in net if isinstance(m, torch.nn.Conv2d)]
    firsts = [0, 2, 4, 7, 10, 13, 16, 19]  # each block's first conv: 2, 2, 3, 3, 3, 3, 3 convs, then block 8's
    assert [convs[k].out_channels for k in firsts] == [64, 128, 256, 512, 512, 512, 512, 256]
    assert [c.dilation[0] for c in convs] == [1] * 10 + [2] * 6 + [1] * 7  # blocks 5 and 6 dilated
    assert convs[-2].out_channels == 313
    with torch.inference_mode():
        assert net(torch.rand(1, 1, 64, 64)).shape == (1, 2, 64, 64)


def test_stage_table_reports_before_and_after_per_stage() -> None:
    from cfx.bench import stage_table

    table = stage_table(96, 64, repeat=1)
    assert list(table["ms"]) == ["decode", "lightness_and_resize", "model", "merge", "encode_and_write"]
    for row in table["ms"].values():
        assert set(row) == {"before", "after", "before_cpu", "after_cpu"} and row["before"] > 0 and row["after"] > 0
    assert set(table["merge_ms_per_megapixel"]) == {"before", "after"}


def test_reference_merge_is_the_earlier_float_merge() -> None:
    import numpy as np
    import torch

    from cfx.bench import reference_merge
    from cfx.colorize import merge_full_resolution

    lightness = torch.rand(1, 40, 30) * 100
    ab = (torch.rand(2, 7, 5) * 2 - 1) * 80
    levels = merge_full_resolution(lightness, ab, 8).astype(int)
    assert np.abs(np.rint(reference_merge(lightness, ab) * 255) - levels).max() <= 1
