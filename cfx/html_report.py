"""Self-contained HTML reports for `cfx eval colorizer|detector --html FILE`.

One file that any browser opens offline: CSS inline, images as base64 JPEG thumbnails
(``data:`` URIs, at most :data:`THUMB_SIZE` px), plots as inline SVG. Nothing is fetched.

- :func:`colorizer_html`: the summary table (with the fool rate when a detector was
  given), a bar chart of mean PSNR, and a contact sheet: one row per photo (the first
  :data:`SHEET_ROWS`) with the grayscale input, each model's colorization and the ground
  truth, each captioned with its PSNR. The report holds no pixels, so the thumbnails are
  collected during evaluation by a :class:`Thumbnails` passed as ``on_result``.
- :func:`detector_html`: per detector the metrics per colorizer, one ROC plot (a curve
  per colorizer: its images against all natural ones), and the blind matrix if present.
"""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from cfx.detection_metrics import roc_curve
from cfx.labels import GRAYSCALE, GROUND_TRUTH, NATURAL

THUMB_SIZE = 160  # long side of a contact-sheet thumbnail (px)
SHEET_ROWS = 24  # photos on the contact sheet
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22")

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #222; background: #fff; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; } td.name, th.name { text-align: left; }
td.seen { background: #f6f0d8; }
.sheet td { text-align: center; vertical-align: top; padding: 0.3em; }
.sheet img { display: block; margin: 0 auto; max-width: 160px; max-height: 160px; }
.sheet .caption { font-size: 0.8em; color: #555; }
.sheet td.name { text-align: left; font-size: 0.8em; max-width: 12em; word-break: break-all; }
.note { color: #555; font-size: 0.9em; }
svg { background: #fff; font-family: inherit; }
"""


# --------------------------------------------------------------------------
# thumbnails (collected during evaluation)
# --------------------------------------------------------------------------


def thumbnail_uri(rgb: np.ndarray, size: int = THUMB_SIZE, quality: int = 85) -> str:
    """H×W×3 sRGB in [0, 1] (or uint8) → a ``data:image/jpeg;base64,...`` URI, long side ≤ ``size``."""
    from PIL import Image

    array = np.asarray(rgb)
    if array.dtype != np.uint8:
        array = (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    image = Image.fromarray(np.ascontiguousarray(array[..., :3]), "RGB")
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class Thumbnails:
    """An ``on_result(path, model, rgb)`` hook for :func:`cfx.evaluate.evaluate_colorizers`
    that keeps small JPEG thumbnails of the first ``limit`` photos only (memory-bounded)."""

    def __init__(self, limit: int = SHEET_ROWS, size: int = THUMB_SIZE) -> None:
        self.limit, self.size = limit, size
        self.images: dict[str, dict[str, str]] = {}

    def __call__(self, path: Path | str, model: str, rgb: np.ndarray) -> None:
        key = str(path)
        if key not in self.images:
            if len(self.images) >= self.limit:
                return
            self.images[key] = {}
        self.images[key][model] = thumbnail_uri(rgb, self.size)


# --------------------------------------------------------------------------
# small HTML helpers
# --------------------------------------------------------------------------


def _page(title: str, body: Iterable[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _number(value: Any, digits: int = 2, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return f"{100 * value:.1f}%" if percent else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], names: int = 1, css: str = "") -> str:
    """A table; the first ``names`` columns are left-aligned text. Cells arrive escaped."""
    name_class = ' class="name"'

    def cells(values: Sequence[str], tag: str) -> str:
        return "".join(f"<{tag}{name_class if i < names else ''}>{v}</{tag}>" for i, v in enumerate(values))

    head = f"<tr>{cells([escape(h) for h in header], 'th')}</tr>"
    body = "\n".join(f"<tr>{cells(r, 'td')}</tr>" for r in rows)
    opening = f'<table class="{escape(css)}">' if css else "<table>"
    return f"{opening}\n{head}\n{body}\n</table>"


# --------------------------------------------------------------------------
# SVG plots
# --------------------------------------------------------------------------

_LEFT, _RIGHT, _TOP, _BOTTOM, _SIDE = 56, 210, 16, 48, 300  # a square plot of _SIDE px; the legend right of it
_W, _H = _LEFT + _SIDE + _RIGHT, _TOP + _SIDE + _BOTTOM


def _svg_open(width: int, height: int, label: str) -> str:
    return f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'


def roc_svg(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str = "ROC") -> str:
    """An inline SVG ROC plot: one polyline per named (false positive rates, true positive
    rates) curve, both axes 0–1 with ticks and labels, the chance diagonal, a legend
    (name and area under the curve)."""
    pw, ph = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x(v: float) -> float:
        return _LEFT + float(v) * pw

    def y(v: float) -> float:
        return _TOP + (1.0 - float(v)) * ph

    parts = [_svg_open(_W, _H, title), f"<title>{escape(title)}</title>"]
    parts.append(f'<rect x="{_LEFT}" y="{_TOP}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    for i in range(6):
        t = i / 5
        parts.append(f'<line x1="{x(t):.1f}" y1="{_TOP + ph}" x2="{x(t):.1f}" y2="{_TOP + ph + 5}" stroke="#444"/>')
        parts.append(f'<text x="{x(t):.1f}" y="{_TOP + ph + 18}" font-size="11" text-anchor="middle">{t:.1f}</text>')
        parts.append(f'<line x1="{_LEFT - 5}" y1="{y(t):.1f}" x2="{_LEFT}" y2="{y(t):.1f}" stroke="#444"/>')
        parts.append(f'<text x="{_LEFT - 8}" y="{y(t) + 4:.1f}" font-size="11" text-anchor="end">{t:.1f}</text>')
        if 0 < i < 5:
            parts.append(f'<line x1="{x(t):.1f}" y1="{_TOP}" x2="{x(t):.1f}" y2="{_TOP + ph}" stroke="#eee"/>')
            parts.append(f'<line x1="{_LEFT}" y1="{y(t):.1f}" x2="{_LEFT + pw}" y2="{y(t):.1f}" stroke="#eee"/>')
    parts.append(f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#999" stroke-dasharray="4 4"/>')
    parts.append(f'<text x="{_LEFT + pw + 12}" y="{_TOP + 4}" font-size="11" font-weight="bold">colorizer (AUC)</text>')
    parts.append(
        f'<text x="{_LEFT + pw / 2:.1f}" y="{_H - 10}" font-size="12" text-anchor="middle">false positive rate (natural judged colorized)</text>'
    )
    parts.append(
        f'<text x="14" y="{_TOP + ph / 2:.1f}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 14 {_TOP + ph / 2:.1f})">true positive rate (colorized caught)</text>'
    )
    for i, (name, (fpr, tpr)) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        points = " ".join(f"{x(a):.2f},{y(b):.2f}" for a, b in zip(fpr, tpr))
        parts.append(
            f'<polyline class="roc" data-name="{escape(name)}" points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        ly = _TOP + 26 + 18 * i
        parts.append(
            f'<line x1="{_LEFT + pw + 12}" y1="{ly - 4}" x2="{_LEFT + pw + 32}" y2="{ly - 4}" stroke="{colour}" stroke-width="3"/>'
        )
        area = float(
            np.sum(np.diff(np.asarray(fpr, float)) * (np.asarray(tpr, float)[1:] + np.asarray(tpr, float)[:-1]) / 2)
        )
        parts.append(f'<text x="{_LEFT + pw + 36}" y="{ly}" font-size="11">{escape(name[:16])} ({area:.3f})</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def bar_svg(values: Mapping[str, float | None], title: str, unit: str = "") -> str:
    """An inline SVG horizontal bar chart (bars from 0; missing values left out)."""
    shown = {k: float(v) for k, v in values.items() if v is not None and np.isfinite(v)}
    label_w, bar_w, row_h = 170, 260, 22
    height = 30 + row_h * max(1, len(shown))
    top = max([abs(v) for v in shown.values()] + [1e-9])
    parts = [_svg_open(label_w + bar_w + 80, height, title), f"<title>{escape(title)}</title>"]
    parts.append(f'<text x="0" y="14" font-size="12" font-weight="bold">{escape(title)}</text>')
    for i, (name, value) in enumerate(shown.items()):
        y = 24 + row_h * i
        width = bar_w * max(value, 0.0) / top
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" font-size="11" text-anchor="end">{escape(name[:26])}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 6}" fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        parts.append(
            f'<text x="{label_w + width + 4:.1f}" y="{y + 14}" font-size="11">{value:.2f}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


# --------------------------------------------------------------------------
# cfx eval colorizer
# --------------------------------------------------------------------------


def colorizer_html(report: dict[str, Any], images: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The cfx.eval-colorizer/1 report as one HTML page.

    ``images``: photo path → model name (``grayscale``, each model, ``ground truth``) →
    thumbnail ``data:`` URI (:attr:`Thumbnails.images`); photos missing from it are not
    on the contact sheet.
    """
    images = images or {}
    summary = report["summary"]
    models = [s["model"] for s in summary if s["model"] not in (GRAYSCALE, GROUND_TRUTH)]
    fooled = any("fool_rate" in s for s in summary)
    photos = list(dict.fromkeys(r["path"] for r in report["rows"]))
    body = ["<h1>cfx eval colorizer</h1>"]
    facts = [f"{len(photos)} photos", f"schema {report.get('schema', '?')}"]
    if report.get("data"):
        facts.insert(0, f"data: {report['data']}")
    body.append(f'<p class="note">{escape(" · ".join(facts))}</p>')
    detector = report.get("detector")
    if detector:
        body.append(
            f'<p class="note">fool rate: share judged natural by detector {escape(str(detector.get("model")))} '
            f"(threshold {_number(detector.get('threshold'), 3)}, weights {escape(str(detector.get('weights_sha256') or '?')[:12])})</p>"
        )

    body.append("<h2>Summary</h2>")
    header = ["model", "images", "PSNR (dB)", "SSIM", "AuC", "colourfulness ratio"] + (
        ["detector score", "fool rate"] if fooled else []
    )
    rows = []
    for s in summary:
        row = [
            escape(str(s["model"])),
            str(s["images"]),
            _number(s.get("psnr"), 2),
            _number(s.get("ssim"), 4),
            _number(s.get("auc"), 4),
            _number(s.get("colourfulness_ratio"), 2),
        ]
        if fooled:
            row += [_number(s.get("detector_score"), 3), _number(s.get("fool_rate"), percent=True)]
        rows.append(row)
    body.append(_table(header, rows))
    body.append(
        bar_svg(
            {s["model"]: s.get("psnr") for s in summary if s["model"] != GROUND_TRUTH},
            "mean PSNR (higher is better)",
            " dB",
        )
    )

    body.append("<h2>Contact sheet</h2>")
    shown = [p for p in photos if p in images]
    if len(shown) < len(photos):
        body.append(f'<p class="note">The first {len(shown)} of {len(photos)} photos.</p>')
    psnr = {(r["path"], r["model"]): r.get("psnr") for r in report["rows"]}
    columns = [GRAYSCALE, *models, GROUND_TRUTH]
    sheet = []
    for path in shown:
        cells = [escape(path)]
        for column in columns:
            uri = images[path].get(column)
            if uri is None:
                cells.append("-")
                continue
            caption = "" if column == GROUND_TRUTH else f"PSNR {_number(psnr.get((path, column)), 2)} dB"
            alt = escape(f"{column}: {Path(path).name}", quote=True)
            cells.append(
                f'<img src="{escape(uri, quote=True)}" alt="{alt}"><div class="caption">{escape(caption)}</div>'
            )
        sheet.append(cells)
    body.append(_table(["photo", *columns], sheet, css="sheet") if sheet else '<p class="note">No thumbnails.</p>')
    return _page("cfx eval colorizer", body)


# --------------------------------------------------------------------------
# cfx eval detector
# --------------------------------------------------------------------------


def detector_curves(report: dict[str, Any], detector_id: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """ROC (fpr, tpr) per colorizer for one detector: its rows against all natural rows."""
    rows = [r for r in report["rows"] if detector_id in r.get("scores", {})]
    natural = [r["scores"][detector_id] for r in rows if r["source"] == NATURAL]
    curves = {}
    for source in dict.fromkeys(r["source"] for r in rows if r["source"] != NATURAL):
        mine = [r["scores"][detector_id] for r in rows if r["source"] == source]
        if natural and mine:
            fpr, tpr, _ = roc_curve(natural + mine, [0] * len(natural) + [1] * len(mine))
            curves[source] = (fpr, tpr)
    return curves


def _detector_label(entry: dict[str, Any]) -> str:
    seen = "+".join(entry.get("trained_on") or []) or "?"
    return f"{entry.get('model', '?')} [{seen}{', hardened' if entry.get('hardened') else ''}]"


def detector_html(report: dict[str, Any]) -> str:
    """The cfx.eval-detector/1 report as one HTML page."""
    body = ["<h1>cfx eval detector</h1>"]
    sources = list(dict.fromkeys(r["source"] for r in report["rows"]))
    counts = ", ".join(f"{sum(r['source'] == s for r in report['rows'])} {s}" for s in sources)
    note = f"natural: {report.get('natural', '?')} · images: {counts}"
    body.append(f'<p class="note">{escape(note)}</p>')
    header = ["colorized by", "natural", "colorized", "HTER", "NI miss", "CI miss", "accuracy", "ROC AUC", "EER"]
    for entry in report["detectors"]:
        body.append(f"<h2>{escape(_detector_label(entry))}</h2>")
        body.append(
            f'<p class="note">{escape(entry.get("id", ""))} · threshold {_number(entry.get("threshold"), 3)} · '
            f"mode {escape(str(entry.get('mode', '?')))}</p>"
        )
        rows = []
        trained = set(entry.get("trained_on") or [])
        for name, m in [*entry["per_colorizer"].items(), ("all colorized", entry["overall"])]:
            rows.append(
                [
                    escape(name + (" *" if name in trained else "")),
                    str(m.get("natural", "-")),
                    str(m.get("colorized", "-")),
                    _number(m.get("hter"), percent=True),
                    _number(m.get("natural_miss_rate"), percent=True),
                    _number(m.get("colorized_miss_rate"), percent=True),
                    _number(m.get("accuracy"), percent=True),
                    _number(m.get("roc_auc"), 3),
                    _number(m.get("eer"), percent=True),
                ]
            )
        body.append(_table(header, rows))
        body.append(
            '<p class="note">* colorizer seen in training; HTER = mean of the natural (NI) and colorized (CI) miss rates.</p>'
        )
        curves = detector_curves(report, entry["id"])
        if curves:
            body.append(roc_svg(curves, f"ROC of {_detector_label(entry)}"))
    matrix = report.get("matrix")
    if matrix:
        body.append("<h2>Blind generalization (HTER; trained on → tested on)</h2>")
        columns = matrix["columns"]
        rows = []
        for row in matrix["rows"]:
            cells = [escape(row["detector"])]
            for c in columns:
                value = row["hter"].get(c)
                cells.append(_number(value, percent=True) + (" *" if row["seen"].get(c) else ""))
            cells.append(_number(row.get("blind_mean_hter"), percent=True))
            rows.append(cells)
        body.append(_table(["detector", *columns, "blind mean"], rows))
        body.append('<p class="note">* seen in training.</p>')
    return _page("cfx eval detector", body)


def write_html(path: Path | str, html: str) -> None:
    """Write the page atomically (complete or untouched)."""
    from cfx.imageio import atomic_write_bytes

    atomic_write_bytes(Path(path), html.encode("utf-8"))
