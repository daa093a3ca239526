"""Reports people read: a confusion heatmap and a top-confusions chart (PNG), one self-contained HTML page.

Why these choices:

- **Readable with 100+ intents.** A raw count matrix of 300 labels is a wall of noise. The heatmap sorts
  labels by support (the intents that matter most come first), normalises each row (the colour is the
  share of that intent's turns predicted as each label, so rare and frequent intents read alike), scales
  the figure and the font with the number of labels, and folds the long tail into one "(other N)" row and
  column past ``max_labels``. The most frequent off-diagonal pairs get their own bar chart, because "what
  is confused with what" is the question a heatmap answers worst.
- **matplotlib through ``Figure`` + the Agg canvas**, never pyplot: no global backend switch, no GUI, no
  figure registry to leak in a long-lived process; the PNG is rendered straight to bytes.
- **One HTML file** with inline CSS and the PNGs embedded as base64: it can be mailed, attached to Slack
  or opened from S3 without any other file or network access. All text from the data is HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure

from skit_pipelines.metrics.intent.scores import Confusion, top_confusions

__all__ = [
    "ReportContent",
    "confusion_heatmap_png",
    "render_html",
    "threshold_sweep_png",
    "top_confusions_png",
]

DPI = 100


# ----------------------------------------------------------------------------------------- heatmap


def _ordered_matrix(confusion: Confusion, max_labels: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Labels by support (then by predictions, then name), the tail folded into one label."""
    support = confusion.true_counts
    predicted = confusion.pred_counts
    labels = confusion.labels
    order = sorted(range(len(labels)), key=lambda i: (-support[i], -predicted[i], labels[i]))
    matrix = confusion.matrix[np.ix_(order, order)]
    labels = [confusion.labels[i] for i in order]
    if len(labels) > max_labels:
        keep = max_labels - 1
        rest = len(labels) - keep
        folded = np.zeros((keep + 1, keep + 1), dtype=matrix.dtype)
        folded[:keep, :keep] = matrix[:keep, :keep]
        folded[:keep, keep] = matrix[:keep, keep:].sum(axis=1)
        folded[keep, :keep] = matrix[keep:, :keep].sum(axis=0)
        folded[keep, keep] = matrix[keep:, keep:].sum()
        matrix = folded
        labels = labels[:keep] + [f"(other {rest} labels)"]
    return labels, matrix, matrix.sum(axis=1)


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def confusion_heatmap_png(confusion: Confusion, *, max_labels: int = 100, title: str = "") -> bytes:
    """Row-normalised confusion heatmap as PNG bytes (rows: true labels by support; columns: predicted)."""
    labels, matrix, rows = _ordered_matrix(confusion, max(2, max_labels))
    k = len(labels)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(rows[:, None] > 0, matrix / np.maximum(rows[:, None], 1), np.nan)
    cell = 0.45 if k <= 20 else 0.3 if k <= 50 else 0.2
    longest = max(len(label) for label in labels)
    font = 9.0 if k <= 30 else 7.0 if k <= 60 else 6.0
    margin = min(0.075 * longest * font / 7 + 0.8, 4.5)  # room for tick labels, in inches
    side = k * cell
    figure = Figure(figsize=(side + margin + 1.6, side + margin + 0.9))
    axes = figure.add_axes(
        (
            margin / (side + margin + 1.6),
            margin / (side + margin + 0.9),
            side / (side + margin + 1.6),
            side / (side + margin + 0.9),
        )
    )
    cmap = _cmap()
    # A square-root colour scale: a 3 % confusion is still visibly tinted next to a 90 % diagonal.
    image = axes.imshow(
        np.ma.masked_invalid(shares),
        cmap=cmap,
        norm=PowerNorm(0.5, vmin=0.0, vmax=1.0),
        aspect="equal",
        interpolation="nearest",
    )
    axes.set_xticks(range(k))
    axes.set_yticks(range(k))
    axes.set_xticklabels(labels, rotation=90, fontsize=font)
    axes.set_yticklabels(
        [f"{label} ({int(n)})" for label, n in zip(labels, rows, strict=True)], fontsize=font
    )
    axes.set_xlabel("predicted", fontsize=font + 2)
    axes.set_ylabel("true (turns)", fontsize=font + 2)
    axes.tick_params(length=0)
    if k <= 30:
        for i in range(k):
            for j in range(k):
                if matrix[i, j]:
                    value = shares[i, j]
                    axes.text(
                        j,
                        i,
                        f"{int(matrix[i, j])}",
                        ha="center",
                        va="center",
                        fontsize=font - 1,
                        color="white" if value > 0.3 else "#222",
                    )
    # Gridlines between cells make rows traceable on big matrices.
    axes.set_xticks(np.arange(-0.5, k, 1), minor=True)
    axes.set_yticks(np.arange(-0.5, k, 1), minor=True)
    axes.grid(which="minor", color="#ffffff", linewidth=0.4 if k > 50 else 0.8)
    axes.tick_params(which="minor", length=0)
    colorbar = figure.colorbar(image, ax=axes, fraction=0.03, pad=0.01)
    colorbar.set_label("share of the true label's turns", fontsize=font + 1)
    colorbar.ax.tick_params(labelsize=font)
    heading = title or "Confusion matrix (row-normalised)"
    if len(labels) < len(confusion.labels):
        heading += f" - top {len(labels) - 1} of {len(confusion.labels)} labels by support"
    axes.set_title(heading, fontsize=font + 4, loc="left", pad=10)
    return _png(figure)


def _cmap() -> Any:
    from matplotlib import colormaps

    return colormaps["Blues"].with_extremes(bad="#eeeeee")  # grey: rows with no true turns


def top_confusions_png(confusion: Confusion, *, limit: int = 20, title: str = "") -> bytes:
    """Horizontal bar chart of the most frequent (true → predicted) mistakes, with counts and shares."""
    top = top_confusions(confusion, limit)
    n = max(len(top), 1)
    names = [f"{t} → {p}" for t, p in zip(top["true"], top["predicted"], strict=True)]
    longest = max((len(name) for name in names), default=10)
    figure = Figure(figsize=(min(4 + 0.075 * longest, 9) + 6, 1.4 + 0.32 * n))
    axes = figure.add_subplot()
    if len(top):
        positions = np.arange(len(top))[::-1]
        axes.barh(positions, top["count"], color="#d9534f")
        axes.set_yticks(positions)
        axes.set_yticklabels(names, fontsize=9)
        peak = float(top["count"].max())
        for y, count, share in zip(positions, top["count"], top["share_of_true"], strict=True):
            axes.text(count + peak * 0.01, y, f"{int(count)}  ({share:.1%} of true)", va="center", fontsize=8)
        axes.set_xlim(0, peak * 1.3)
    else:
        axes.text(
            0.5,
            0.5,
            "no confusions: every prediction is right",
            ha="center",
            va="center",
            transform=axes.transAxes,
        )
        axes.set_yticks([])
    axes.set_xlabel("turns")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.set_title(title or f"Top {len(top)} confusions (true → predicted)", loc="left", fontsize=12)
    return _png(figure)


def threshold_sweep_png(sweep: pd.DataFrame, *, threshold: float | None = None, title: str = "") -> bytes:
    """In-scope accuracy, OOS recall (and accuracy of all turns) over confidence thresholds, as PNG bytes.

    ``sweep`` has the columns of :func:`skit_pipelines.metrics.intent.oos.threshold_sweep`; the threshold
    in use, if any, is a dashed vertical line. The question it answers: how much in-scope accuracy does
    each point of out-of-scope recall cost.
    """
    figure = Figure(figsize=(8, 4.5))
    axes = figure.add_subplot()
    x = sweep["threshold"].to_numpy()
    axes.plot(x, sweep["in_scope_accuracy"], color="#2b6cb0", linewidth=2, label="in-scope accuracy")
    axes.plot(x, sweep["oos_recall"], color="#d9534f", linewidth=2, label="OOS recall")
    axes.plot(x, sweep["accuracy"], color="#888888", linewidth=1, linestyle=":", label="accuracy (all turns)")
    if threshold is not None:
        axes.axvline(
            threshold, color="#222222", linestyle="--", linewidth=1, label=f"threshold {threshold:g}"
        )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("confidence threshold (below it: the fallback intent)")
    axes.set_ylabel("share of turns")
    axes.grid(color="#eeeeee")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.legend(loc="lower left", fontsize=9, frameon=False)
    axes.set_title(title or "Out of scope: accuracy vs OOS recall over thresholds", loc="left", fontsize=12)
    return _png(figure)


# -------------------------------------------------------------------------------------------- HTML


@dataclass
class ReportContent:
    """Everything the HTML page shows. Frames are shown as they are (already sorted and formatted)."""

    title: str
    headline: Mapping[str, Any]
    per_intent: pd.DataFrame
    averages: pd.DataFrame
    top_confusions: pd.DataFrame
    errors: pd.DataFrame
    errors_total: int
    images: Mapping[str, bytes] = field(default_factory=dict)
    breakdowns: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    issues: Sequence[str] = ()
    notes: Sequence[str] = ()
    artifacts: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    out_of_scope: Mapping[str, Any] | None = None
    threshold_sweep: pd.DataFrame | None = None


CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;
color:#1d2330;padding:0 16px;line-height:1.4}
h1{font-size:24px;margin-bottom:4px}
h2{font-size:19px;margin-top:34px;border-bottom:1px solid #dde;padding-bottom:4px}
h3{font-size:15px;margin-top:20px}.muted{color:#667;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid #dde;border-radius:8px;padding:10px 16px;min-width:130px;background:#f8f9fc}
.card .v{font-size:24px;font-weight:600}.card .k{font-size:12px;color:#556;text-transform:uppercase}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{padding:3px 9px;border-bottom:1px solid #eef}
th{background:#f1f3f8;text-align:left;position:sticky;top:0}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.avg td{font-weight:600;background:#fafbfd}
.bar{display:inline-block;height:8px;background:#5b8def;margin-right:6px}
.warn{background:#fff6e5;border:1px solid #f0c36d;border-radius:6px;padding:8px 14px}
.scroll{overflow:auto;max-height:640px;border:1px solid #eef}img{max-width:100%;height:auto}
.wide{overflow-x:auto}code{font-size:12px;word-break:break-all}
"""


def _fmt(value: Any, column: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if column in ("support", "count", "n") and float(value).is_integer():
            return f"{int(value):,}"
        return f"{float(value):.3f}"
    return html.escape(str(value))


def _table(
    frame: pd.DataFrame,
    *,
    index: bool = True,
    bar_column: str = "",
    avg_rows: Sequence[str] = (),
    scroll: bool = False,
) -> str:
    columns = list(frame.columns)
    head = [html.escape(str(frame.index.name or ""))] if index else []
    head += [html.escape(str(c)) for c in columns]
    lines = ["<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    for key, row in frame.iterrows():
        cls = ' class="avg"' if str(key) in avg_rows else ""
        cells = [f"<td>{html.escape(str(key))}</td>"] if index else []
        for column in columns:
            value = row[column]
            numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            text = _fmt(value, str(column))
            if column == bar_column and numeric and not (isinstance(value, float) and math.isnan(value)):
                width = max(0.0, min(float(value), 1.0)) * 60
                text = f'<span class="bar" style="width:{width:.0f}px"></span>{text}'
            cells.append(f'<td class="n">{text}</td>' if numeric else f"<td>{text}</td>")
        lines.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    lines.append("</tbody></table>")
    body = "".join(lines)
    return f'<div class="scroll">{body}</div>' if scroll else f'<div class="wide">{body}</div>'


def _image(data: bytes | None, alt: str) -> str:
    if not data:
        return ""
    encoded = base64.b64encode(data).decode("ascii")
    return f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}"></p>'


def _out_of_scope_section(content: ReportContent) -> str:
    """The scores at the threshold in use, the sweep chart and a few rows of the sweep table."""
    summary = pd.DataFrame({"value": list(content.out_of_scope.values())}, index=list(content.out_of_scope))
    summary.index.name = "out of scope"
    parts = [
        "<h2>Out of scope</h2><p class='muted'>Out-of-scope turns: the true label is the fallback intent or "
        "an intent the model was not trained on. In-scope accuracy: share of the other turns predicted "
        "right (a turn sent to the fallback is wrong). OOS recall: share of out-of-scope turns predicted "
        "as the fallback intent; precision: share of fallback predictions that are out of scope.</p>",
        _table(summary),
    ]
    sweep = content.threshold_sweep
    if sweep is not None and len(sweep):
        parts.append(_image(content.images.get("threshold_sweep"), "threshold sweep"))
        twentieths = sweep["threshold"].to_numpy() * 20
        shown = sweep[np.isclose(twentieths, np.round(twentieths))]
        parts.append("<h3>Threshold sweep (every 0.05; the CSV has every 0.01)</h3>")
        parts.append(_table(shown, index=False, bar_column="in_scope_accuracy"))
    return "\n".join(parts)


def render_html(content: ReportContent) -> str:
    """The whole report as one HTML document (inline CSS, images embedded)."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(content.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(content.title)}</h1>",
        f"<p class='muted'>generated {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC</p>",
    ]
    if content.details:
        parts.append(
            "<p class='muted'>"
            + " · ".join(
                f"{html.escape(str(k))}: <b>{_fmt(v)}</b>"
                for k, v in content.details.items()
                if v not in ("", None)
            )
            + "</p>"
        )
    parts.append(
        "<div class='cards'>"
        + "".join(
            f"<div class='card'><div class='k'>{html.escape(str(k))}</div>"
            f"<div class='v'>{_fmt(v)}</div></div>"
            for k, v in content.headline.items()
        )
        + "</div>"
    )
    if content.issues or content.notes:
        items = [f"<li>{html.escape(line)}</li>" for line in [*content.notes, *content.issues]]
        parts.append(f"<div class='warn'><b>Data notes</b><ul>{''.join(items)}</ul></div>")

    parts.append(
        "<h2>Per intent</h2><p class='muted'>Sorted by support (true turns). Precision: share of "
        "predictions of the intent that are right; recall: share of its true turns found; F1: "
        "their harmonic mean.</p>"
    )
    parts.append(_table(content.averages, avg_rows=list(content.averages.index)))
    parts.append(_table(content.per_intent, bar_column="f1-score", scroll=True))

    if content.out_of_scope is not None:
        parts.append(_out_of_scope_section(content))

    parts.append("<h2>Confusions</h2>")
    parts.append(_image(content.images.get("top_confusions"), "top confusions"))
    if len(content.top_confusions):
        parts.append(_table(content.top_confusions, index=False, bar_column="share_of_true"))
    parts.append(_image(content.images.get("heatmap"), "confusion heatmap"))

    for name, frame in content.breakdowns.items():
        parts.append(f"<h2>{html.escape(name)}</h2>")
        avg = [i for i in frame.index if str(i) in ("accuracy", "micro avg", "macro avg", "weighted avg")]
        parts.append(_table(frame, avg_rows=avg))

    shown = len(content.errors)
    parts.append(
        f"<h2>Errors</h2><p class='muted'>{shown:,} of {content.errors_total:,} misclassified turns "
        "shown (the errors CSV has them all).</p>"
    )
    if shown:
        parts.append(_table(content.errors, index=False, scroll=True))
    if content.artifacts:
        parts.append(
            "<h2>Artifacts</h2><table>"
            + "".join(
                f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(v)}</code></td></tr>"
                for k, v in content.artifacts.items()
            )
            + "</table>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
