"""List the shipped models from their cards: name, task, parameters, weights file and card metrics.

Each NAME is what --model NAME selects. The metrics are each card's own (its training
run's validation split); docs/models.md compares the models on one common split.
--all adds every registry preset that `cfx train` can build (imports torch, slower).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from cfx.cli import options as opt

SCHEMA = "cfx.models/1"


def models(
    json_output: opt.Json = False,
    all_presets: Annotated[
        bool,
        typer.Option(
            "--all", help="Also list every registry preset (cfx train can build them), tiny test presets included."
        ),
    ] = False,
) -> None:
    from cfx.models_info import METRICS_NOTE, card_metrics, registry_rows, shipped_rows

    rows = shipped_rows()
    if all_presets:
        rows += registry_rows(include_tiny=True, skip={row["name"] for row in rows})
        rows.sort(key=lambda row: row["name"])
    if json_output:
        for row in rows:
            typer.echo(json.dumps({"schema": SCHEMA, **row}))
        return
    width = max((len(row["name"]) for row in rows), default=0)
    for row in rows:
        params = f"{row['params']:>11,} params" if isinstance(row.get("params"), int) else f"{'?':>11} params"
        weights = row["weights"] or "(no shipped weights)"
        built_as = f"  ({row['preset']})" if row.get("preset") and row["preset"] != row["name"] else ""
        typer.echo(
            f"{row['name']:<{width}}  {row['task'] or '?':<8}  {params}  {weights}{built_as}  {card_metrics(row)}".rstrip()
        )
    print(METRICS_NOTE, file=sys.stderr)
