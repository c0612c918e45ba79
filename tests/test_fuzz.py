"""Fuzzing the two places untrusted bytes enter: image decoding and stdin JSON Lines.

Whatever arrives, the answer is a decoded image or a clean one-line error: never another
exception, never a hang. Bounded (examples and sizes) so it runs in CI in seconds.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from cfx.imageio import ImageError, LoadedImage, load_image
from cfx.inputs import InputItem, InputProblem, iter_inputs

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((np.arange(16 * 12 * 3) % 251).astype(np.uint8).reshape(12, 16, 3)).save(buffer, fmt)
    return buffer.getvalue()


SEEDS = {fmt: _valid_image_bytes(fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")}


@st.composite
def mutated_images(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid small image of some format, then cut, overwritten or extended at random."""
    fmt = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[fmt])
    for _ in range(draw(st.integers(0, 6))):
        where = draw(st.integers(0, len(data) - 1))
        data[where] = draw(st.integers(0, 255))
    data = data[: draw(st.integers(0, len(data)))] + draw(st.binary(max_size=64))
    return fmt, bytes(data)


def _check_load(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            image = load_image(path)
        except ImageError as error:
            assert "\n" not in str(error) and str(path) in str(error)
        else:
            assert isinstance(image, LoadedImage)
            assert image.rgb.ndim == 3 and image.rgb.shape[2] == 3
            assert np.isfinite(image.rgb).all() and image.rgb.min() >= 0 and image.rgb.max() <= 1


@FUZZ
@given(mutated_images())
def test_mutated_images_decode_or_fail_cleanly(sample: tuple[str, bytes]) -> None:
    fmt, data = sample
    _check_load(data, {"JPEG": ".jpg", "TIFF": ".tif"}.get(fmt, f".{fmt.lower()}"))


@FUZZ
@given(st.binary(max_size=512), st.sampled_from([".png", ".jpg", ".gif", ".webp", ".tif", ".bmp"]))
def test_random_bytes_fail_cleanly(data: bytes, suffix: str) -> None:
    _check_load(data, suffix)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def sandbox():
    """Fuzzed lines such as "." or "/" name real folders: run in a small folder of our own and
    walk no folder outside it, so the test's time does not depend on the machine's disk."""
    from cfx.inputs import _Walker

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        (root / "sub").mkdir()
        (root / "a.png").write_bytes(b"x")
        (root / "sub" / "b.jpg").write_bytes(b"x")
        walk = _Walker.walk

        def walk_inside(self, top, top_st):
            if os.path.realpath(top) == str(root) or os.path.realpath(top).startswith(str(root) + os.sep):
                yield from walk(self, top, top_st)

        previous = os.getcwd()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_Walker, "walk", walk_inside)
            os.chdir(root)
            try:
                yield root
            finally:
                os.chdir(previous)


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from([".", "sub", "./sub/../a.png", "/", ".."]),
            json_values.map(lambda v: __import__("json").dumps(v)),
        ),
        max_size=8,
    )
)
def test_stdin_lines_become_items_or_problems(sandbox: Path, lines: list[str]) -> None:
    text = "\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines)
    for found in iter_inputs(["-"], stdin=io.StringIO(text)):
        assert isinstance(found, (InputItem, InputProblem))
        if isinstance(found, InputItem):
            assert not found.rel.is_absolute() and ".." not in found.rel.parts
