"""A self-contained HTML page for an entity evaluation: headline, notes, chart, every table, error samples.

Why self-contained (inline CSS, the chart as a base64 PNG): the report travels as one file — an artifact
URI pasted in Slack, an e-mail attachment, a file opened from S3 — and must render with no server and
no network. Why matplotlib: the standard plotting library, already used for the intent report; the
object API (``Figure``, no ``pyplot``) keeps no global state and needs no display.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io

import pandas as pd

from skit_pipelines.metrics.entity.evaluation import EntityEvaluation

__all__ = ["chart_png", "render_entity_html"]

MAX_CHART_TYPES = 40
ERROR_SAMPLE_ROWS = 25

_CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;
color:#1f2328;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #d0d7de}
.meta{color:#57606a;font-size:.9em}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6em 1em;min-width:8em}
.card .v{font-size:1.5em;font-weight:600}.card .k{color:#57606a;font-size:.85em}
.notes{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:.6em 1em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:right;vertical-align:top}
th{background:#f6f8fa}td:first-child,th:first-child{text-align:left}
td.text{text-align:left;max-width:28em;word-break:break-word}
dl dt{font-weight:600;margin-top:.5em}dl dd{margin-left:1.5em}
img{max-width:100%}
"""


def _bar_panel(ax: object, labels: list[str], series: dict[str, list[float]], title: str) -> None:
    import numpy as np

    positions = np.arange(len(labels))
    height = 0.8 / max(len(series), 1)
    for index, (name, values) in enumerate(series.items()):
        ax.barh(positions + index * height, values, height=height, label=name)  # type: ignore[attr-defined]
    ax.set_yticks(positions + height * (len(series) - 1) / 2)  # type: ignore[attr-defined]
    ax.set_yticklabels(labels)  # type: ignore[attr-defined]
    ax.invert_yaxis()  # type: ignore[attr-defined]
    ax.set_xlim(0, 1)  # type: ignore[attr-defined]
    ax.set_title(title)  # type: ignore[attr-defined]
    ax.legend(loc="lower right", fontsize="small")  # type: ignore[attr-defined]
    ax.grid(axis="x", alpha=0.3)  # type: ignore[attr-defined]


def chart_png(evaluation: EntityEvaluation) -> bytes:
    """Two bar panels per entity type: first-entity error rates, and span F1 + all-entities error rate.

    At most :data:`MAX_CHART_TYPES` types (the most frequent by first-entity support); rates above 1 (an
    entity error rate can exceed 1) are drawn at 1.
    """
    from matplotlib.figure import Figure

    report = evaluation.report.sort_values("Support", ascending=False).head(MAX_CHART_TYPES)
    spans = evaluation.spans.table
    every = evaluation.all_entities
    span_types = [k for k in spans["entity"].unique().tolist() if k != "overall"]
    types = list(report.index) or span_types[:MAX_CHART_TYPES]
    types = types or ["(no entities)"]

    def span_f1(scheme: str) -> list[float]:
        table = spans[spans["scheme"] == scheme].set_index("entity")["f1"]
        return [float(table.get(k, 0.0)) for k in types]

    rows = max(len(types), 1)
    figure = Figure(figsize=(12, 1.5 + 0.35 * rows * 2), dpi=100)
    left, right = figure.subplots(1, 2, sharey=False)
    _bar_panel(
        left,
        types,
        {
            "FPR": [float(report["FPR"].get(k, 0.0)) for k in types],
            "FNR": [float(report["FNR"].get(k, 0.0)) for k in types],
            "Mismatch rate": [float(report["Mismatch Rate"].get(k, 0.0)) for k in types],
        },
        "First entity per turn: error rates",
    )
    _bar_panel(
        right,
        types,
        {
            "span F1 (strict)": span_f1("strict"),
            "span F1 (partial)": span_f1("partial"),
            "entity error rate": [min(float(every["entity_error_rate"].get(k, 0.0)), 1.0) for k in types],
        },
        "All entities: span F1 and entity error rate",
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _table(frame: pd.DataFrame, index: bool = True) -> str:
    return frame.to_html(index=index, float_format=lambda v: f"{v:.4f}", border=0, na_rep="", escape=True)


def _error_sample(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>None.</p>"
    shown = frame.head(ERROR_SAMPLE_ROWS)
    wanted = ("id", "entity_type", "true_ent_type", "pred_ent_type", "true_entities", "pred_entities")
    keep = [c for c in wanted if c in shown.columns]
    body = _table(shown[keep], index=False).replace("<td>", '<td class="text">')
    hidden = len(frame) - len(shown)
    more = f"<p class='meta'>{hidden} more rows in the CSV.</p>" if hidden else ""
    return body + more


def _categorical(evaluation: EntityEvaluation) -> str:
    table = evaluation.categorical_table
    if table.empty:
        return "<p>No turn has a categorical entity on either side.</p>"
    return _table(table)


def _card(key: str, value: str) -> str:
    return (
        f'<div class="card"><div class="v">{html.escape(value)}</div>'
        f'<div class="k">{html.escape(key)}</div></div>'
    )


_GLOSSARY = """
<dl>
<dt>First entity per turn (the reference report)</dt>
<dd>Only the first true and first predicted entity of a turn are compared. Same type and equal value: tp;
same type, other value: mismatch (mm); other type or one side empty: fn for the true type and fp for the
predicted type. A datetime is split into a date and a time.
FPR = fp / negatives, FNR = fn / (fn + tp + mm), mismatch rate = mm / (tp + mm);
support = turns whose first true entity has the type (or that type is tp/fn/mm there),
negatives = turns − support.</dd>
<dt>All entities</dt>
<dd>Every entity of a turn; per type, equal values pair as tp, other pairs as mm, the rest are fn / fp.
Entity error rate = (fp + fn + mm) / true entities; precision = tp / predicted, recall = tp / true.</dd>
<dt>Categorical entities</dt>
<dd>Per turn, the first entity with a text value (not a date, time or number) on each side, as
type/value, or "_" when there is none; precision, recall and F1 per type/value as a classification report.
The averages leave out "_" (no entity).</dd>
<dt>Span schemes (SemEval-2013)</dt>
<dd>Entities are aligned one-to-one by character span. strict: same boundaries and type; exact: same
boundaries; partial: overlapping boundaries earn half credit; type: overlapping with the same type.
Precision = credit / predicted, recall = credit / true.</dd>
</dl>
"""


def render_entity_html(
    evaluation: EntityEvaluation,
    *,
    title: str = "Entity evaluation",
    info: dict[str, str] | None = None,
    source: str = "",
) -> str:
    """The whole report as one HTML string (no external resources)."""
    h = evaluation.headline()
    cards = "".join(
        [
            _card("turns evaluated", f"{h['turns']:,}"),
            _card("rows skipped", f"{h['skipped_rows']:,}"),
            _card("true entities", f"{h['reference_entities']:,}"),
            _card("entity error rate", f"{h['entity_error_rate']:.3f}"),
            _card("span F1 strict", f"{h['strict_f1']:.3f}"),
            _card("span F1 partial", f"{h['partial_f1']:.3f}"),
        ]
    )
    notes = evaluation.notes()
    notes_html = (
        '<div class="notes"><ul>' + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul></div>"
        if notes
        else ""
    )
    meta_items = {
        "dataset": source,
        **(info or {}),
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    meta = " · ".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in meta_items.items() if v)
    chart = base64.b64encode(chart_png(evaluation)).decode("ascii")
    first = evaluation.report.join(evaluation.first.counts[["tp", "fp", "fn", "mm", "true_negatives"]])
    spans = evaluation.spans.table
    span_overall = spans[spans["entity"] == "overall"].drop(columns=["entity"])
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class='meta'>{meta}</p>",
        f"<div class='cards'>{cards}</div>",
        notes_html,
        "<h2>Per entity type</h2>",
        f"<img alt='per entity type error rates and F1' src='data:image/png;base64,{chart}'>",
        "<h2>First entity per turn (reference report)</h2>",
        _table(first),
        "<h2>All entities</h2>",
        _table(evaluation.all_entities),
        "<h2>Categorical entities (type/value)</h2>",
        _categorical(evaluation),
        "<h2>Span scores, overall</h2>",
        _table(span_overall, index=False),
        "<h2>Span scores per entity type</h2>",
        _table(spans[spans["entity"] != "overall"], index=False),
        f"<h2>False positives ({len(evaluation.errors['fp'])})</h2>",
        _error_sample(evaluation.errors["fp"]),
        f"<h2>False negatives ({len(evaluation.errors['fn'])})</h2>",
        _error_sample(evaluation.errors["fn"]),
        f"<h2>Mismatches ({len(evaluation.errors['mm'])})</h2>",
        _error_sample(evaluation.errors["mm"]),
        "<h2>What the numbers mean</h2>",
        _GLOSSARY,
        "</body></html>",
    ]
    return "\n".join(parts)
