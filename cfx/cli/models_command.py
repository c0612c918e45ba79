"""List the model registry: name, task, parameters, weights file, sha256 and card metrics."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cfx.cli import options as opt

SCHEMA = "cfx.models/1"


def models(
    json_output: opt.Json = False,
    all_presets: Annotated[bool, typer.Option("--all", help="Include the tiny test presets.")] = False,
) -> None:
    from cfx.models_info import describe_models

    rows = describe_models(include_tiny=all_presets)
    if json_output:
        for row in rows:
            typer.echo(json.dumps({"schema": SCHEMA, **row}))
        return
    for row in rows:
        weights = row["weights"] or "(no shipped weights)"
        metrics = row.get("metrics") or {}
        shown = " ".join(f"{k}={v}" for k, v in metrics.items() if k in ("val_psnr", "val_auc", "gray_psnr"))
        val = metrics.get("val") if isinstance(metrics.get("val"), dict) else None
        if val and val.get("hter") is not None:  # detectors: validation HTER at the stored threshold
            shown = f"val_hter={val['hter']} threshold={(row.get('card') or {}).get('threshold')}"
        typer.echo(f"{row['name']:<20} {row['task']:<9} {row['params']:>11,} params  {weights}  {shown}".rstrip())
