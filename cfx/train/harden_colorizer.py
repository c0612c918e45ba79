"""`cfx harden colorizer`: fine-tune a colorizer on the photos a detector finds most real (Mu and Lee, n.d., §3.4).

Mu & Lee score ground-truth photos with their discriminator, take the 2,000 it finds
"most ground truth" (vibrant, patterned photos whose colorizations fail most visibly),
split them 1,600 / 400 at random, fine-tune Zhang et al.'s generator on the 1,600
from its trained parameters, and compare the original and the fine-tuned generator on
the 400. Here:

1. a detector (``cfx detect``'s models) scores every photo under ``--data``; the ``k``
   with the lowest P(colorized) are the hard cases;
2. they are split deterministically (by path hash) into a training part (80 %) and a
   held-out part (20 %);
3. ``cfx train colorizer`` fine-tunes the colorizer from its current weights on the
   training part (the held-out part is its validation folder: logged, never trained on);
4. both colorizers are scored on the held-out part through the `cfx colorize` path
   (:func:`cfx.evaluate.evaluate_colorizers`): PSNR, SSIM, AuC, colourfulness ratio and
   the rate at which the same detector judges their colorizations natural.

The new weights' card names its parent (``parent``: sha256) and holds the hardening.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from cfx.card_data import card_data, portable_entries, portable_path
from cfx.data.split import assign_split
from cfx.errors import UsageError
from cfx.evaluate import image_paths
from cfx.imageio import atomic_write_bytes, load_image
from cfx.progress import message, progress

REPORT_SCHEMA = "cfx.harden-colorizer/1"


@dataclass
class HardenColorizerRecipe:
    k: int = 200
    held_out: float = 0.2
    epochs: int = 10
    lr: float = 1e-4
    batch_size: int = 16
    seed: int = 0
    half: bool = True
    device: str = "auto"


def hard_cases(detector: Any, paths: Sequence[Path], k: int, quiet: bool = True) -> list[tuple[Path, float]]:
    """The ``k`` photos with the lowest P(colorized) (most "real"), with their scores."""
    scored = []
    with progress("score", total=len(paths), quiet=quiet) as bar:
        for path in paths:
            scored.append((path, detector.score_array(load_image(path).rgb)))
            bar.advance()
    scored.sort(key=lambda item: (item[1], str(item[0])))
    return scored[:k]


def split_cases(cases: Sequence[tuple[Path, float]], root: Path, held_out: float) -> tuple[list[Path], list[Path]]:
    """(train, held out) by a hash of each path relative to ``root``: stable across runs."""
    train, held = [], []
    for path, _ in cases:
        (held if assign_split(path.relative_to(root).as_posix(), held_out) == "val" else train).append(path)
    return train, held


def _link_tree(paths: Sequence[Path], root: Path, into: Path) -> None:
    """Symlink ``paths`` under ``into`` keeping their first-level folder (the class label)."""
    for path in paths:
        rel = path.relative_to(root)
        label = rel.parts[-2] if len(rel.parts) > 1 else ""
        target = into / label / path.name if label else into / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(path.resolve())


def harden_colorizer(
    model: str | None,
    weights: Path | None,
    data: Path,
    detector: Any,
    output: Path,
    recipe: HardenColorizerRecipe,
    log_path: Path | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Mu and Lee, n.d., §3.4, end to end; returns the cfx.harden-colorizer/1 report."""
    from cfx.colorize import load_colorizer
    from cfx.evaluate import evaluate_colorizers
    from cfx.train.colorizer import train_colorizer
    from cfx.train.recipes import ColorizerRecipe

    parent = load_colorizer(model, weights, recipe.device)
    parent_path = Path(parent.card["weights_path"])
    paths = image_paths(data)
    if len(paths) < 2:
        raise UsageError(f"{data}: need at least 2 photos, found {len(paths)}")
    cases = hard_cases(detector, paths, recipe.k, quiet)
    train, held = split_cases(cases, data, recipe.held_out)
    if len(train) < 2 or not held:
        raise UsageError(f"{len(cases)} hard cases split into {len(train)} train / {len(held)} held out: raise --k")
    message(
        f"{len(paths)} photos scored; {len(cases)} hard cases (P(colorized) ≤ {cases[-1][1]:.4f}): {len(train)} train / {len(held)} held out",
        quiet,
    )
    with tempfile.TemporaryDirectory(prefix="cfx-harden-") as tmp:
        folder = Path(tmp)
        _link_tree(train, data, folder / "train")
        _link_tree(held, data, folder / "val")
        colorizer_recipe = ColorizerRecipe(
            model=parent.name,
            epochs=recipe.epochs,
            lr=recipe.lr,
            batch_size=recipe.batch_size,
            seed=recipe.seed,
            half=recipe.half,
            device=recipe.device,
            init=str(parent_path),
        )
        trained = train_colorizer(folder, output, colorizer_recipe, log_path=log_path, quiet=quiet)
    child = load_colorizer(None, output, recipe.device)
    child.card["name"] = f"{parent.name} (hardened)"  # a distinct row in the comparison
    with progress("compare", total=len(held), quiet=quiet) as bar:
        comparison = evaluate_colorizers([parent, child], held, on_image=lambda _: bar.advance(), detector=detector)
    base = Path(data).resolve().parent  # the card shows recorded paths relative to it
    hardening = {
        "parent": {
            "name": parent.name,
            "weights": portable_path(parent_path, base),
            "sha256": parent.card.get("sha256"),
        },
        "detector": {
            "model": detector.name,
            "weights_sha256": detector.card.get("sha256"),
            "threshold": detector.threshold,
        },
        "recipe": portable_entries(asdict(recipe), base),
        "data": card_data(data),
        "photos_scored": len(paths),
        "hard_cases": [
            {"path": str(p), "score": round(s, 6), "part": "held_out" if p in held else "train"} for p, s in cases
        ],
    }
    _add_to_card(output, parent.card.get("sha256"), {k: v for k, v in hardening.items() if k != "hard_cases"})
    return {
        "schema": REPORT_SCHEMA,
        "output": str(output),
        "sha256": trained.get("sha256"),
        **hardening,
        "train_images": len(train),
        "held_out_images": len(held),
        "before": _row(comparison["summary"], parent.name),
        "after": _row(comparison["summary"], child.name),
        "grayscale": _row(comparison["summary"], "grayscale"),
        "training_log": trained.get("log", []),
        "rows": comparison["rows"],
    }


def _row(summary: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((entry for entry in summary if entry["model"] == name), None)


def _add_to_card(weights: Path, parent_sha: str | None, hardening: dict[str, Any]) -> None:
    """Name the parent in the new weights' card (the weights file itself is unchanged)."""
    path = weights.with_suffix(".json")
    card = json.loads(path.read_text())
    card.update(parent=parent_sha, hardening=hardening)
    atomic_write_bytes(path, (json.dumps(card, indent=2) + "\n").encode())
