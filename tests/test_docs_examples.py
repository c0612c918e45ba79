"""The docs' console examples print what the commands print now (the cheap blocks; the slow
ones are checked by ``python -m cfx.tools.docs_examples --check`` in ``.ci/run``), and the
checker's conventions: continued commands, ``…`` lines, notes, normalised rates and paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from cfx.tools import docs_examples
from cfx.tools.docs_examples import (
    ROOT,
    check_file,
    find_blocks,
    main,
    output_matches,
    parse_steps,
    refit,
)


@pytest.mark.parametrize("name", docs_examples.DEFAULT_FILES)
def test_cheap_console_examples_print_what_the_commands_print(name: str) -> None:
    diffs: list[str] = []
    stale = check_file(ROOT / name, write=False, fast=True, report=diffs.append)
    assert not stale, "console examples differ from what their commands print now " + (
        "(python -m cfx.tools.docs_examples --write FILE rewrites them):\n" + "\n".join(diffs)
    )


def test_every_docs_block_is_parsed_and_markers_give_reasons() -> None:
    for name in docs_examples.DEFAULT_FILES:
        for block in find_blocks(ROOT / name):
            assert block.steps, f"{block.where}: a console block without a '$ ' command"
            if block.marker:
                assert block.reason, f"{block.where}: say why the block is {block.marker}"


def test_continued_commands_and_their_output() -> None:
    steps = parse_steps(['$ python -c "', "print(1)", 'print(2)"', "1", "2", "$ echo a \\", "  b", "a b"])
    assert [s.command for s in steps] == ['python -c "\nprint(1)\nprint(2)"', "echo a \\\n  b"]
    assert [s.expected for s in steps] == [["1", "2"], ["a b"]]
    assert parse_steps(["$ echo it's   # a comment's quote"])[0].expected == []


def test_ellipsis_lines_notes_and_normalisation() -> None:
    actual = ["out/a.jpg", "out/b.jpg", "out/c.jpg", "colorize: 3/3 (7.5/s)", "cfx colorize: 3 done"]
    shown = ["out/a.jpg", "…", "colorize: 3/3 (1.0/s)        ← stderr", "cfx colorize: 3 done"]
    assert output_matches(shown, actual)
    assert output_matches(["…                 (all of them)"], actual)
    assert output_matches(["out/a.jpg", "out/b.jpg", "…", "out/c.jpg", "…"], actual)
    assert not output_matches(["out/a.jpg", "…", "cfx colorize: 4 done"], actual)
    assert not output_matches(actual[:-1], actual)
    assert output_matches(['{"sha256": "f1ba…", "seconds": 9.1}'], ['{"sha256": "f1bacf2a", "seconds": 19.5}'])
    assert output_matches(["took 0.4 s"], ["took 12.25 s"])
    assert not output_matches(["0 done, 9 skipped"], ["0 done, 8 skipped"])


def test_refit_keeps_the_shortening_and_the_notes() -> None:
    shown = ["out/a.jpg", "…", "out/c.jpg", "cfx colorize: 3 done     ← stderr"]
    actual = ["out/a.jpg", "out/b.jpg", "out/c.jpg", "out/d.jpg", "cfx colorize: 4 done", "cfx colorize: 4 done"]
    assert refit(shown, actual) == ["out/a.jpg", "…", "cfx colorize: 4 done", "cfx colorize: 4 done"]
    shown = ["detect: 1/1 (3.0/s)     ← stderr", "old"]
    assert refit(shown, ["detect: 1/1 (9.0/s)", "new"]) == ["detect: 1/1 (9.0/s)     ← stderr", "new"]


def test_check_reports_and_write_rewrites_only_what_differs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    page = tmp_path / "page.md"
    text = "\n".join(
        [
            "Runs in a fresh folder with a copy of the examples:",
            "",
            "```console",
            "$ ls examples/old_photos/*.jpg | head -1; pwd",
            "examples/old_photos/acanthus-mollis.jpg",
            "/somewhere/else",
            '$ python -c "import sys; print(sys.argv[1:]); sys.exit(3)" x; echo "exit $?"',
            "['y']",
            "exit 3",
            "```",
            "",
            "<!-- docs-examples: skip (needs the corpus) -->",
            "```console",
            "$ cfx eval colorizer --data /work/corpus/val",
            "nothing checks this",
            "```",
            "",
        ]
    )
    page.write_text(text, encoding="utf-8")
    assert main(["--check", str(page)]) == 1
    assert "-/somewhere/else" in capsys.readouterr().out
    assert page.read_text(encoding="utf-8") == text
    assert main(["--write", str(page)]) == 0
    rewritten = page.read_text(encoding="utf-8")
    assert "examples/old_photos/acanthus-mollis.jpg\n.\n$ python" in rewritten  # the temporary folder, written as "."
    assert "['x']\nexit 3\n```" in rewritten
    assert "nothing checks this" in rewritten
    assert main(["--check", str(page)]) == 0
    assert main(["--list", str(page)]) == 0
    assert "skip\tneeds the corpus" in capsys.readouterr().out
