"""Tests for cfx.inputs: argument/stdin expansion, output planning, sharding."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from cfx.inputs import (
    InputItem,
    InputProblem,
    OutputPlanner,
    iter_inputs,
    parse_shard,
    shard,
)


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _items(results) -> list[InputItem]:
    return [r for r in results if isinstance(r, InputItem)]


def _problems(results) -> list[InputProblem]:
    return [r for r in results if isinstance(r, InputProblem)]


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    _touch(root / "b.jpg")
    _touch(root / "a.PNG")
    _touch(root / "notes.txt")
    _touch(root / "sub" / "deep" / "c.tif")
    _touch(root / "sub" / "d.webp")
    _touch(root / ".e.png.tmp-1234")  # our own interrupted temp file
    _touch(root / "._f.jpg")  # macOS resource fork
    return root


def test_directory_walk_mirrors_tree_sorted(tree: Path) -> None:
    results = list(iter_inputs([str(tree)]))
    assert _problems(results) == []
    rels = [str(i.rel) for i in _items(results)]
    assert rels == ["a.PNG", "b.jpg", "sub/d.webp", "sub/deep/c.tif"]
    for item in _items(results):
        assert item.path == tree / item.rel and item.fields == {}


def test_file_args_missing_and_duplicates(tree: Path, tmp_path: Path) -> None:
    b = tree / "b.jpg"
    args = [str(b), str(tmp_path / "missing.png"), str(b), str(tree)]
    results = list(iter_inputs(args))
    assert _problems(results) == [InputProblem(str(tmp_path / "missing.png"), "no such file")]
    items = _items(results)
    assert items[0] == InputItem(b, Path("b.jpg"))
    # b.jpg appears once although reached three times
    assert [i.path.name for i in items].count("b.jpg") == 1
    assert len(items) == 4


def test_explicit_non_image_file_is_yielded(tree: Path) -> None:
    # an explicitly named file is tried (the decoder reports if it is no image)
    items = _items(iter_inputs([str(tree / "notes.txt")]))
    assert [i.rel for i in items] == [Path("notes.txt")]


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    root = tmp_path / "loop"
    _touch(root / "x" / "a.jpg")
    os.symlink(root, root / "x" / "back")
    os.symlink(root / "x", root / "y")
    items = _items(iter_inputs([str(root)]))
    assert [str(i.rel) for i in items] == ["x/a.jpg"]


def test_exclude_output_dir_inside_input(tree: Path) -> None:
    out = tree / "out"
    _touch(out / "b.jpg")
    _touch(out / "sub" / "d.webp")
    rels = [str(i.rel) for i in _items(iter_inputs([str(tree)], exclude=out))]
    assert not any(r.startswith("out") for r in rels) and len(rels) == 4
    # the input dir as the output dir is refused (never consume own outputs)
    assert list(iter_inputs([str(tree)], exclude=tree)) == [
        InputProblem(str(tree), "is the output folder (-o); choose another output folder")
    ]
    # an input dir inside the output dir is walked (its files are not outputs)
    assert len(_items(iter_inputs([str(tree / "sub")], exclude=tree))) == 2


def test_stdin_plain_paths_and_directories(tree: Path) -> None:
    stdin = io.StringIO(f"{tree / 'b.jpg'}\n\n   \n{tree / 'sub'}\r\n/nonexistent/z.png\n")
    results = list(iter_inputs(["-"], stdin=stdin))
    assert [str(i.rel) for i in _items(results)] == ["b.jpg", "d.webp", "deep/c.tif"]
    assert _problems(results) == [InputProblem("/nonexistent/z.png", "no such file")]


def test_stdin_json_lines(tree: Path) -> None:
    lines = [
        f'{{"path": "{tree / "a.PNG"}", "output": "{tree / "b.jpg"}", "style": "ref.jpg"}}',
        f'{{"path": "{tree / "sub" / "d.webp"}", "schema": "cfx.colorize/1"}}',
        '{"path": broken',
        '{"label": "no path here"}',
        "[1, 2]",
    ]
    results = list(iter_inputs(["-"], stdin=io.StringIO("\n".join(lines) + "\n")))
    items = _items(results)
    assert items[0].path == tree / "b.jpg" and items[0].rel == Path("b.jpg")
    assert items[0].fields == {"style": "ref.jpg"}
    assert items[1].path == tree / "sub" / "d.webp"
    assert items[1].fields == {"schema": "cfx.colorize/1"}
    problems = _problems(results)
    assert [p.path for p in problems] == ["<stdin line 3>", "<stdin line 4>", "[1, 2]"]
    assert problems[0].reason.startswith("invalid JSON")
    assert "output" in problems[1].reason
    # "[1, 2]" does not start with "{": it is a (missing) plain path
    assert results[-1] == InputProblem("[1, 2]", "no such file")


def test_stdin_paths_get_safe_rel(tmp_path: Path, monkeypatch) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    _touch(tmp_path / "x.png")
    monkeypatch.chdir(work)
    stdin = io.StringIO(f"../../x.png\n{tmp_path / 'x.png'}\n")
    items = _items(iter_inputs(["-"], stdin=stdin))
    assert len(items) == 1  # same file twice
    assert items[0].rel == Path("x.png") and not items[0].rel.is_absolute()


def test_planner_collisions_and_suffix(tmp_path: Path) -> None:
    out = tmp_path / "out"
    planner = OutputPlanner(out, suffix_for=lambda item: ".png")
    a_jpg = InputItem(tmp_path / "a.jpg", Path("a.jpg"))
    a_png = InputItem(tmp_path / "a.png", Path("a.png"))
    a_tif = InputItem(tmp_path / "A.tif", Path("A.tif"))
    sub = InputItem(tmp_path / "s" / "a.jpg", Path("s/a.jpg"))
    assert planner.plan(a_jpg) == out / "a.png"
    assert planner.plan(a_png) == out / "a_2.png"
    assert planner.plan(a_tif) == out / "A_3.png"  # case-insensitive collision
    assert planner.plan(sub) == out / "s" / "a.png"
    assert len(planner.warnings) == 2 and "a_2.png" in planner.warnings[0]
    # deterministic: a fresh planner gives the same answers
    again = OutputPlanner(out, suffix_for=lambda item: ".png")
    assert [again.plan(i) for i in (a_jpg, a_png)] == [out / "a.png", out / "a_2.png"]


def test_planner_default_suffix_and_never_overwrites_input(tmp_path: Path) -> None:
    src = _touch(tmp_path / "p.jpg")
    planner = OutputPlanner(tmp_path)  # output dir == input dir
    assert planner.plan(InputItem(src, Path("p.jpg"))) == tmp_path / "p_2.jpg"
    assert "input" in planner.warnings[0]
    # a malicious rel cannot escape out_dir
    evil = InputItem(tmp_path / "q.jpg", Path("../../etc/q.jpg"))
    target = OutputPlanner(tmp_path / "o").plan(evil)
    assert target == tmp_path / "o" / "etc" / "q.jpg"


def test_shard_union_and_disjoint() -> None:
    items = [InputItem(Path(f"img{i:03d}.png"), Path(f"img{i:03d}.png")) for i in range(23)]
    shuffled = items[::-1]
    parts = [shard(shuffled, k, 4) for k in range(1, 5)]
    flat = [i for part in parts for i in part]
    assert sorted(flat, key=lambda i: str(i.path)) == items and len(set(flat)) == 23
    assert [len(p) for p in parts] == [6, 6, 6, 5]
    assert shard(items, 2, 4) == parts[1]  # order of input does not matter
    assert shard(["b", "a", "c"], 1, 1) == ["a", "b", "c"]
    with pytest.raises(ValueError):
        shard(items, 0, 4)
    with pytest.raises(ValueError):
        shard(items, 5, 4)


def test_parse_shard() -> None:
    assert parse_shard("2/8") == (2, 8)
    for bad in ("2", "0/3", "4/3", "a/b", "1/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_stdin_path_with_nul_byte_is_a_problem_not_a_crash() -> None:
    import io

    found = list(iter_inputs(["-"], stdin=io.StringIO("bad\x00name.png\n")))
    assert len(found) == 1 and isinstance(found[0], InputProblem)
    assert found[0].reason == "not a valid path"
