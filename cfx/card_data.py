"""How a model card names the data a model was trained on: by corpus version and manifest
sha256, with folders relative, never the absolute folders of the machine it was trained on
(``/work/corpus`` means nothing to a user; ``corpus v3``, whose files
``cfx/data/corpus_manifest.v3.jsonl`` lists, can be rebuilt anywhere).

:func:`card_data` is a card's ``data`` entry for a training folder; :func:`portable_path`
and :func:`portable_command` show a path, or the paths in a recorded command, relative to
a base folder (the folder the data folder lies in), with a corpus folder shown as
``corpus/``. Torch-free: the trainers, ``cfx models`` and one-off card fixes use it alike.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any

from cfx.data.corpus_sources import VERSIONS

MANIFESTS = Path(__file__).resolve().parent / "data"
# Each corpus version's manifest, as committed (the latest is corpus_manifest.jsonl).
CORPUS_MANIFESTS = {name: version.manifest for name, version in VERSIONS.items()}
CORPUS_FOLDER = "corpus"


@cache
def corpus_versions() -> dict[str, str]:
    """sha256 of each committed corpus manifest → its version (``v1`` …)."""
    versions = {}
    for version, name in CORPUS_MANIFESTS.items():
        path = MANIFESTS / name
        if path.is_file():
            versions[hashlib.sha256(path.read_bytes()).hexdigest()] = version
    return versions


def corpus_version(manifest_sha256: str | None) -> str | None:
    """The corpus version whose committed manifest has this sha256, or None."""
    return corpus_versions().get(manifest_sha256) if manifest_sha256 else None


def manifest_sha256(folder: Path) -> str | None:
    """sha256 of ``folder/manifest.jsonl`` (as the corpus builder writes it), or None."""
    manifest = Path(folder) / "manifest.jsonl"
    return hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else None


def corpus_root(path: Path) -> Path | None:
    """The corpus folder (one whose manifest is a committed version's) that ``path`` is or lies in."""
    for folder in (path, *path.parents):
        try:
            if corpus_version(manifest_sha256(folder)):
                return folder
        except OSError:
            continue
    return None


def portable_path(path: str | Path, base: str | Path | None = None) -> str:
    """``path`` as a card shows it: a relative path as given; a path in a corpus folder as
    ``corpus/…``; one under ``base`` relative to it; anything else by its name alone.
    Folders end with ``/``."""
    p = Path(path)
    if not p.is_absolute():
        return str(path)
    slash = "/" if p.is_dir() else ""
    root = corpus_root(p)
    if root is not None:
        shown = Path(CORPUS_FOLDER, p.relative_to(root))
    elif base is not None and p.is_relative_to(Path(base).resolve()):
        shown = p.relative_to(Path(base).resolve())
        if not shown.parts:
            return "./"
    else:
        shown = Path(p.name)
    return shown.as_posix() + slash


ABSOLUTE = re.compile(r"(?<![\w.~])/[^\s'\"=,;:)]+")


def portable_command(command: str, base: str | Path | None = None) -> str:
    """``command`` with every absolute path under ``base`` (or in a corpus folder) shown as
    :func:`portable_path` shows it; other absolute paths (``/usr/share/…``) are kept."""

    def shown(match: re.Match[str]) -> str:
        text = match.group(0)
        path = Path(text)
        inside = base is not None and path.is_relative_to(Path(base).resolve())
        if not inside and corpus_root(path) is None:
            return text
        return portable_path(path, base)

    return ABSOLUTE.sub(shown, command)


def card_data(folder: str | Path, manifest: str | None = None) -> dict[str, Any]:
    """A card's ``data`` entry for the training folder ``folder`` (``manifest``: the sha256
    of its ``manifest.jsonl``, read when not given): the corpus version and manifest sha256
    when the manifest is a committed corpus version's, and the folder as a card shows it."""
    folder = Path(folder).resolve()
    digest = manifest if manifest is not None else manifest_sha256(folder)
    version = corpus_version(digest)
    entry: dict[str, Any] = {}
    if version:
        entry["corpus"] = version
        entry["manifest"] = f"cfx/data/{CORPUS_MANIFESTS[version]}"
    entry["manifest_sha256"] = digest
    entry["folder"] = portable_path(folder, folder.parent)
    return entry


def describe_data(entry: Any) -> str | None:
    """One line for a card's ``data`` (or detector ``natural``) entry: ``corpus v3`` or the folder."""
    if isinstance(entry, dict):
        if entry.get("corpus"):
            return f"corpus {entry['corpus']}"
        return entry.get("folder")
    return entry


def portable_entries(value: Any, base: str | Path | None = None) -> Any:
    """``value`` (a card's entries: dicts, lists, strings) with every string that is an
    absolute path shown as :func:`portable_path` shows it."""
    if isinstance(value, dict):
        return {key: portable_entries(item, base) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [portable_entries(item, base) for item in value]
    if isinstance(value, str) and value.startswith("/") and not any(c.isspace() for c in value):
        return portable_path(value, base)
    return value


def portable_detector_data(description: dict[str, Any]) -> dict[str, Any]:
    """A detector's training data (``natural``, ``colorized_dirs``, as
    :func:`cfx.data.pairs.load_detector_data` describes them) as a card shows it: the natural
    folder by :func:`card_data`, the colorized folders relative to the natural one's parent."""
    entry = dict(description)
    natural = entry.get("natural")
    if isinstance(natural, str):
        base = Path(natural).resolve().parent
        entry["natural"] = card_data(natural, entry.get("manifest_sha256"))
        entry["colorized_dirs"] = portable_entries(entry.get("colorized_dirs", {}), base)
    return entry
