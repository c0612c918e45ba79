"""examples/make_blind_sets.py: each target's style comes from its own folder and is never the same photo."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "make_blind_sets", Path(__file__).parents[1] / "examples" / "make_blind_sets.py"
)
blind = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(blind)


def test_styles_come_from_the_same_folder_and_another_photo() -> None:
    files = [
        Path(p)
        for p in ("a/x.jpg", "a/x_c0.jpg", "a/x_c1.jpg", "a/y.jpg", "a/z.png", "b/u.jpg", "b/v.jpg", "c/alone.jpg")
    ]
    pairs = blind.style_pairs(files)
    targets = {rel for items in pairs.values() for rel, _ in items}
    assert targets == set(files) - {Path("c/alone.jpg")}  # a photo alone in its folder has no style
    for folder, items in pairs.items():
        for rel, style in items:
            assert rel.parent == folder and style.parts[0] == rel.parts[0]
            assert blind.photo_key(style) != blind.photo_key(rel)
    assert blind.photo_key(Path("a/x_c12.jpg")) == "x" and blind.photo_key(Path("a/x_copy.jpg")) == "x_copy"


def test_simulated_hints_are_points_on_the_true_colours(tmp_path: Path) -> None:
    """--hinted: 0-20 points per photo, drawn from its name, each the colour of the photo there."""
    import numpy as np
    from PIL import Image

    from cfx.hints import hints_from_value

    rgb = np.zeros((60, 80, 3), np.uint8)
    rgb[:, :40] = (200, 30, 30)
    rgb[:, 40:] = (20, 60, 220)
    path = tmp_path / "two.png"
    Image.fromarray(rgb).save(path)
    value = blind.simulated_hints(path)
    assert value == blind.simulated_hints(path) and 0 <= len(value["points"]) <= blind.MOST_HINTS
    for point in value["points"]:
        x = int(point["x"])
        if abs(x - 40) > point["radius"] + 1:  # a patch inside one half has that half's colour
            assert point["color"] == ("#c81e1e" if x < 40 else "#143cdc")
    assert len(hints_from_value(value, str(path)).points) == len(value["points"])  # what `cfx colorize --hints` reads
