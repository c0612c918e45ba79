"""Deterministic train/validation split shared by the corpus builder and `cfx train`.

The split of an item depends only on a stable key (a source photo's identity, or a
file's path relative to the data root), never on the order files are listed in, so
every crop of one source photo lands in the same split and reruns agree.
"""

from __future__ import annotations

import hashlib

from cfx.errors import UsageError

SPLITS = ("train", "val")
UNSEEN_PARTS = ("unseen-select", "unseen-test")  # the halves of the held-out sources (corpus v4)


def assign_split(key: str, val_fraction: float = 0.1) -> str:
    """Return "val" for a stable ``val_fraction`` of keys, else "train"."""
    if not 0.0 <= val_fraction < 1.0:
        raise UsageError(f"val_fraction must be in [0, 1), got {val_fraction}")
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") / 2**64
    return "val" if bucket < val_fraction else "train"


def assign_unseen_part(key: str) -> str:
    """Which half of the held-out photos ``key`` belongs to: a stable half of keys each."""
    digest = hashlib.sha256(f"unseen:{key}".encode("utf-8")).digest()
    return UNSEEN_PARTS[digest[0] & 1]
