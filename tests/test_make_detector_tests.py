"""examples/make_detector_tests.py: laundered copies and local colourings of a test part."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
from PIL import Image

_spec = importlib.util.spec_from_file_location(
    "make_detector_tests", Path(__file__).parents[1] / "examples" / "make_detector_tests.py"
)
tests_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tests_script)


def test_a_local_colouring_pastes_one_rectangle_of_the_drawn_area() -> None:
    natural = Image.new("RGB", (120, 90), (100, 100, 100))
    colouring = Image.new("RGB", (120, 90), (200, 40, 40))
    seen = set()
    for k in range(30):
        out, area = tests_script.local_colouring(natural, colouring, Path(f"x/{k}.jpg"))
        pixels = np.asarray(out)
        changed = (pixels != 100).any(axis=2)
        assert abs(changed.mean() - area) < 1e-4  # the pasted pixels are the rectangle, nothing else
        rows, cols = np.nonzero(changed)
        assert changed[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()
        assert 0.05 < area < 0.56
        seen.add(min(tests_script.AREAS, key=lambda a: abs(a - area)))
    assert seen == set(tests_script.AREAS)
    again, _ = tests_script.local_colouring(natural, colouring, Path("x/0.jpg"))
    assert np.array_equal(
        np.asarray(again), np.asarray(tests_script.local_colouring(natural, colouring, Path("x/0.jpg"))[0])
    )


def test_laundered_copies_are_smaller_jpegs() -> None:
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    for scale, quality in tests_script.COPIES.values():
        data = tests_script.laundered(image, scale, quality)
        with Image.open(io.BytesIO(data)) as copy:
            assert copy.format == "JPEG" and copy.size == (round(64 * scale), round(48 * scale))


def test_misses_by_area_reads_an_eval_report(tmp_path: Path) -> None:
    import json

    (tmp_path / "m" / "a").mkdir(parents=True)
    (tmp_path / "areas.json").write_text(json.dumps({"a/x.jpg": 0.1012, "a/y.jpg": 0.4987, "a/z.jpg": 0.11}))
    rows = [
        {"path": str(tmp_path / "m" / "a" / f"{n}.png"), "source": "m", "scores": {"d@1": s}}
        for n, s in (("x", 0.2), ("y", 0.9), ("z", 0.8))
    ] + [{"path": "nat/a/x.jpg", "source": "natural", "scores": {"d@1": 0.1}}]
    report = {"detectors": [{"id": "d@1", "threshold": 0.5}], "rows": rows}
    assert tests_script.misses_by_area(report, tmp_path) == {
        "d@1": {"10%": {"images": 2, "missed": 0.5}, "50%": {"images": 1, "missed": 0.0}}
    }
