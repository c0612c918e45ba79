"""Fast tests for the corpus builder (no network, no apt): rcc parsing, dedup hash,
crop determinism and per-source split consistency."""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
from PIL import Image

from cfx.data import corpus as C
from cfx.data.split import assign_split


def _png_bytes(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def _make_rcc(files: dict[str, tuple[bytes, bool]]) -> bytes:
    """Tiny Qt rcc (format version 3): a root dir holding files (name -> (data, zlib))."""
    names, data, entries = b"", b"", []
    for name, (payload, compress) in files.items():
        name_off = len(names)
        enc = name.encode("utf-16-be")
        names += struct.pack(">HI", len(name), 0) + enc
        stored = struct.pack(">I", len(payload)) + zlib.compress(payload) if compress else payload
        data_off = len(data)
        data += struct.pack(">I", len(stored)) + stored
        entries.append(struct.pack(">IHHHIQ", name_off, 1 if compress else 0, 0, 0, data_off, 0))
    root = struct.pack(">IHIIQ", 0, 2, len(files), 1, 0)
    tree = root + b"".join(entries)
    header_len = 24
    data_start = header_len
    names_start = data_start + len(data)
    tree_start = names_start + len(names)
    header = b"qres" + struct.pack(">IIIII", 3, tree_start, data_start, names_start, 0)
    return header + data + names + tree


def test_parse_rcc_plain_and_zlib() -> None:
    a, b = _png_bytes(1), b"RIFF\x10\x00\x00\x00WEBPVP8 fake"
    blob = _make_rcc({"a.png": (a, False), "b.webp": (b, True)})
    files = C.parse_rcc(blob)
    assert files == {"a.png": a, "b.webp": b}
    img = Image.open(io.BytesIO(files["a.png"]))
    assert img.size == (64, 48)


def test_scan_embedded_images_finds_headers() -> None:
    blob = b"xx" + b"RIFF\x00\x00\x00\x00WEBP" + b"yy" + b"\x89PNG\r\n\x1a\n" + b"\xff\xd8\xff\xe0"
    assert [e for _, e in C.scan_embedded_images(blob)] == [".webp", ".png", ".jpg"]


def test_dhash_detects_near_duplicates_only() -> None:
    img = Image.open(io.BytesIO(_png_bytes(2, (128, 96)))).resize((256, 192))
    small = img.resize((200, 150))  # rescaled copy: same picture
    other = Image.open(io.BytesIO(_png_bytes(3, (128, 96)))).resize((256, 192))
    assert C.hamming(C.dhash(img), C.dhash(small)) <= C.DEDUP_MAX_HAMMING
    assert C.hamming(C.dhash(img), C.dhash(other)) > 16
    d = C.Deduper()
    assert d.check(C.dhash(img), "a") is None
    assert d.check(C.dhash(small), "b") == "a"
    assert d.check(C.dhash(other), "c") is None


def test_mean_chroma_separates_gray_and_colour() -> None:
    gray = Image.new("RGB", (64, 64), (120, 120, 120))
    red = Image.new("RGB", (64, 64), (200, 30, 30))
    assert C.mean_chroma(gray) < C.MIN_CHROMA < C.mean_chroma(red)


def test_crop_boxes_deterministic_and_inside() -> None:
    size = (3000, 2000)
    a, b = C.crop_boxes(size, "abc"), C.crop_boxes(size, "abc")
    assert a == b and len(a) == 6
    assert C.crop_boxes(size, "abd") != a
    for x0, y0, x1, y1 in a:
        assert 0 <= x0 < x1 <= 3000 and 0 <= y0 < y1 <= 2000
        assert x1 - x0 == y1 - y0
    assert C.crop_boxes((1000, 700), "abc") == []


def test_resize_short_never_upscales() -> None:
    assert C.resize_short(Image.new("RGB", (1024, 512))).size == (512, 256)
    assert C.resize_short(Image.new("RGB", (300, 150))).size == (300, 150)


def test_crops_of_one_source_share_split(tmp_path) -> None:
    from cfx.data.corpus_sources import GCOMPRIS as SOURCE

    arr = np.random.default_rng(4).integers(0, 255, (800, 1000, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    cand = C.Candidate(SOURCE, "/x/photo.png", buf.getvalue(), "1", "CC0", "landscape")
    acc = C.Accepted(cand, Image.fromarray(arr), C.source_id(cand))
    records = C.write_outputs(acc, tmp_path)
    assert len(records) == 3  # the photo + 2 crops (short side 800)
    splits = {r["split"] for r in records}
    assert splits == {assign_split(cand.sha256, val_fraction=0.1)}
    for r in records:
        img = Image.open(tmp_path / r["file"])
        assert min(img.size) == 256
        assert r["file"].startswith(f"{r['split']}/landscape/")


def test_held_out_source_goes_whole_to_an_unseen_part(tmp_path) -> None:
    from cfx.data.corpus_sources import SCRATCH
    from cfx.data.split import assign_unseen_part

    arr = np.random.default_rng(5).integers(0, 255, (800, 1000, 3), dtype=np.uint8)
    cand = C.Candidate(SCRATCH, "/x/street.png", b"street", "1", "CC0", "city_buildings")
    records = C.write_outputs(C.Accepted(cand, Image.fromarray(arr), C.source_id(cand)), tmp_path)
    assert len(records) == 1 and records[0]["crop"] is None
    assert records[0]["split"] == assign_unseen_part(cand.sha256)
    assert (tmp_path / records[0]["file"]).is_file()


def _cutout_bytes() -> bytes:
    """A red square on a fully transparent 64x48 canvas."""
    rgba = np.zeros((48, 64, 4), dtype=np.uint8)
    rgba[12:36, 16:48] = (220, 30, 30, 255)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    return buf.getvalue()


def test_composite_background_fills_transparency_from_photo() -> None:
    bgs = [Image.new("RGB", (200, 100), (20, 160, 40)), Image.new("RGB", (90, 300), (30, 60, 200))]
    out = C.composite_background(_cutout_bytes(), bgs, "key")
    arr = np.asarray(out)
    assert out.mode == "RGB" and out.size == (64, 48)
    assert tuple(arr[24, 32]) == (220, 30, 30)  # the object is kept as is
    corner = tuple(int(v) for v in arr[0, 0])
    assert corner in {(20, 160, 40), (30, 60, 200)}  # a background photo, not white
    # deterministic per key
    assert np.array_equal(arr, np.asarray(C.composite_background(_cutout_bytes(), bgs, "key")))


def test_composite_background_without_pool_and_opaque_input() -> None:
    gray = np.asarray(C.composite_background(_cutout_bytes(), [], "k"))
    assert tuple(gray[0, 0]) == (128, 128, 128)
    opaque = _png_bytes(3)
    assert np.array_equal(np.asarray(C.composite_background(opaque, [], "k")), np.asarray(C.load_rgb(opaque)))


def test_filter_candidates_composites_only_marked_sources() -> None:
    from cfx.data.corpus_sources import Source

    def cand(composite: bool) -> C.Candidate:
        src = Source(
            package="p", kind="deb", short="p", licence="x", globs=(), classes=(), extra={"composite": composite}
        )
        rgba = np.zeros((160, 160, 4), dtype=np.uint8)
        rgba[40:120, 40:120] = (200, 40, 40, 255)
        buf = io.BytesIO()
        Image.fromarray(rgba, "RGBA").save(buf, "PNG")
        return C.Candidate(src, "/x/a.png", buf.getvalue(), "1", "x", "objects")

    bgs = [Image.new("RGB", (300, 300), (20, 160, 40))]
    for composite, corner in ((True, (20, 160, 40)), (False, (255, 255, 255))):
        from collections import Counter

        kept = C.filter_candidates([cand(composite)], C.Deduper(), Counter(), bgs)
        assert len(kept) == 1
        assert tuple(np.asarray(kept[0].image)[0, 0]) == corner


def _manifest(name: str) -> set[str]:
    from pathlib import Path

    return set((Path(C.__file__).parent / name).read_text().splitlines())


def test_manifest_versions_only_add_files() -> None:
    """v1 ⊂ v2 ⊂ v3, line for line: new sources never changed old outputs."""
    v1, v2, v3 = (_manifest(f"corpus_manifest.v{k}.jsonl") for k in (1, 2, 3))
    assert v1 <= v2 <= v3
    assert len(v2) == 990 and len(v3) == 1371


def test_v4_holds_whole_sources_out() -> None:
    """v4 keeps v3's training sources (a composite may turn near-gray on a new background) and
    moves every held-out package's photos, whole and uncropped, to the two unseen parts."""
    from cfx.data.corpus_sources import HELD_OUT
    from cfx.data.split import UNSEEN_PARTS, assign_unseen_part

    v3, cur = _manifest("corpus_manifest.v3.jsonl"), _manifest("corpus_manifest.v4.jsonl")
    kept = [json.loads(line) for line in v3 - cur if json.loads(line)["package"] not in HELD_OUT]
    assert len(kept) <= 2 and all(r["package"] == "tuxpaint-stamps-default" for r in kept)
    records = [json.loads(line) for line in cur]
    held = [r for r in records if r["package"] in HELD_OUT]
    assert {r["package"] for r in held} == set(HELD_OUT)
    assert len({r["source_sha256"] for r in held}) >= 150
    for r in records:
        if r["package"] in HELD_OUT:
            assert r["split"] == assign_unseen_part(r["source_sha256"]) and r["crop"] is None
            assert r["file"].startswith(r["split"] + "/")
        else:
            assert r["split"] not in UNSEEN_PARTS


def test_v5_adds_training_photos_and_keeps_the_unseen_parts() -> None:
    """v5 = v4 + the photos of the December 2026 search (docs/corpus.md), all in train or val:
    the never-seen parts, on which every model is chosen and reported, do not change."""
    from cfx.data.corpus_sources import SOURCES, SOURCES_V3
    from cfx.data.split import UNSEEN_PARTS

    v4, v5 = _manifest("corpus_manifest.v4.jsonl"), _manifest("corpus_manifest.jsonl")
    assert v4 <= v5
    new = [json.loads(line) for line in v5 - v4]
    packages = {source.package for source in SOURCES[len(SOURCES_V3) :]}
    assert {r["package"] for r in new} == packages
    assert all(r["split"] in ("train", "val") for r in new)
    photos = {r["source_sha256"]: r for r in new}
    assert len(photos) == 73 and sum(r["class"] == "people" for r in photos.values()) == 11
    unseen = lambda lines: {line for line in lines if json.loads(line)["split"] in UNSEEN_PARTS}  # noqa: E731
    assert unseen(v5) == unseen(v4) and len(unseen(v5)) == 161


def test_build_never_overwrites_the_reference_silently(tmp_path, monkeypatch) -> None:
    reference = tmp_path / "reference.jsonl"
    reference.write_text('{"a": 1}\n')
    monkeypatch.setattr(C, "REPO_MANIFEST", reference)
    same = C.compare_manifest('{"a": 1}\n', update=False)
    assert same["identical"]
    other = C.compare_manifest('{"a": 2}\n', update=False)
    assert not other["identical"] and other["lines_only_in_build"] == 1
    assert reference.read_text() == '{"a": 1}\n'
    assert C.compare_manifest('{"a": 2}\n', update=True)["updated"]
    assert reference.read_text() == '{"a": 2}\n'


def test_skip_sample_takes_the_rest_and_extra_exts(tmp_path, monkeypatch) -> None:
    from cfx.data.corpus_sources import Source

    for i in range(10):
        (tmp_path / f"p{i}.png").write_bytes(_png_bytes(i))
    (tmp_path / "g.gif").write_bytes(b"GIF89a")
    monkeypatch.setattr(C, "fetch_source", lambda source, cache: (tmp_path, "1"))
    kw = dict(package="p", kind="deb", short="p", licence="x", globs=("*",), classes=(("*", "food"),))
    first = {c.installed_path for c in C.candidates(Source(limit=4, **kw), tmp_path)}
    rest = {c.installed_path for c in C.candidates(Source(extra={"skip_sample": 4}, **kw), tmp_path)}
    assert len(first) == 4 and len(rest) == 6 and not first & rest
    assert not any(p.endswith(".gif") for p in first | rest)
    with_gif = C.candidates(Source(extra={"exts": (".gif",)}, **kw), tmp_path)
    assert "/g.gif" in {c.installed_path for c in with_gif}


def test_each_version_names_its_sources_and_manifest() -> None:
    """`--version vN` builds from the sources that made vN's committed manifest: every package
    in that manifest is one of its sources, and only v4 on hold packages out."""
    from cfx.card_data import CORPUS_MANIFESTS
    from cfx.data.corpus_sources import LATEST, VERSIONS

    assert LATEST == max(VERSIONS) and CORPUS_MANIFESTS[LATEST] == C.REPO_MANIFEST.name
    for name, version in VERSIONS.items():
        packages = {json.loads(line)["package"] for line in _manifest(version.manifest)}
        assert packages == {s.package for s in version.sources}, name
        assert bool(version.held_out) == (name >= "v4")


def test_build_of_a_version_compares_with_that_versions_manifest(tmp_path, monkeypatch) -> None:
    from cfx.data.corpus_sources import VERSIONS

    monkeypatch.setattr(C, "candidates", lambda source, cache: [])
    summary = C.build(tmp_path / "out", tmp_path / "cache", version="v3")
    assert summary["version"] == "v3" and summary["files"] == 0
    assert summary["manifest"]["reference"] == VERSIONS["v3"].manifest
    assert summary["manifest"]["lines_only_in_reference"] == 1371 and not summary["manifest"]["identical"]
