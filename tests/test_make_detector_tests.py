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
