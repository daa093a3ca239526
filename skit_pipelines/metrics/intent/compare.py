"""Two models side by side: classification reports or confusion matrices of a new model and production.

Why this shape: a reviewer of a retrained model asks "what got better, what got worse, and by how much".
So every metric appears as ``new``, ``production`` and ``delta`` (new - production) columns, every label
of either side keeps its row (the reference's helper treated row index 0 as missing and lost the first
class of every report, spec 14 item 22), and a label known to one side only shows blanks on the other,
never a made-up 0. Confusion matrices compare as a long table of (true, predicted) pairs sorted by the
size of the change, which stays readable with hundreds of labels where a matrix of tuples does not.

Inputs may be frames, sklearn ``output_dict`` reports,
:class:`~skit_pipelines.metrics.intent.scores.Confusion`
objects, or CSV text (first column = label, as ``DataFrame.to_csv`` and ``slu test`` write them; see
:func:`csv_frame`). Files (local paths or artifact URIs) are read by :mod:`skit_pipelines.jobs.compare`,
because reading the artifact store is I/O. Outputs: CSV, Markdown (for merge-request descriptions) and HTML.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from skit_pipelines.metrics.intent.scores import AVERAGE_ROWS, METRIC_COLUMNS, Confusion, report_frame

__all__ = [
    "compare_confusions",
    "compare_reports",
    "csv_frame",
    "read_confusion",
    "read_report",
    "to_csv",
    "to_html",
    "to_markdown",
]

SIDES = ("new", "production")


def csv_frame(text: str) -> pd.DataFrame:
    """A report or confusion matrix written by ``DataFrame.to_csv``: first column = label, blanks as NaN."""
    frame = pd.read_csv(io.StringIO(text), index_col=0, keep_default_na=False, na_values=[""])
    frame.index = frame.index.map(str)
    return frame


def read_report(source: pd.DataFrame | Mapping[str, Any] | None) -> pd.DataFrame | None:
    """A classification report as a frame: index = label, columns precision, recall, f1-score, support.

    The ``accuracy`` row is normalised to sklearn's printed layout (blank precision and recall, accuracy
    under f1-score, the number of rows as support), whichever layout the source used.
    """
    if source is None or (isinstance(source, str) and not source.strip()):
        return None
    if isinstance(source, Mapping):
        frame = report_frame(source)
    elif isinstance(source, pd.DataFrame):
        frame = source.copy()
    else:
        raise TypeError(f"expected a frame, got {type(source).__name__}: read files with jobs.compare")
    missing = [c for c in METRIC_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"not a classification report: columns {', '.join(missing)} are missing")
    frame = frame[list(METRIC_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    frame.index = frame.index.map(str)
    if "accuracy" in frame.index:
        row = frame.loc["accuracy"]
        values = [v for v in row[["precision", "recall", "f1-score"]] if not pd.isna(v)]
        accuracy = values[-1] if values else math.nan
        averages = [name for name in ("macro avg", "weighted avg") if name in frame.index]
        total = frame.loc[averages[0], "support"] if averages else math.nan
        frame.loc["accuracy"] = [math.nan, math.nan, accuracy, total]
    frame.index.name = "label"
    return frame


def _ordered_union(new: list[str], production: list[str]) -> list[str]:
    classes = [label for label in new if label not in AVERAGE_ROWS]
    classes += [label for label in production if label not in AVERAGE_ROWS and label not in set(classes)]
    averages = [label for label in AVERAGE_ROWS if label in new or label in production]
    return classes + averages


def compare_reports(new: Any, production: Any = None) -> pd.DataFrame:
    """Side-by-side report: for each metric ``<metric> new``, ``<metric> production``, ``<metric> delta``.

    Rows: the new report's labels in its order, then labels only production has, then the averages.
    A label missing on one side has blanks there (and in the delta). Without a production report the
    production and delta columns are blank.
    """
    left = read_report(new)
    if left is None:
        raise ValueError("the new model's classification report is required")
    right = read_report(production)
    right_labels = list(right.index) if right is not None else []
    index = _ordered_union(list(left.index), right_labels)
    left = left.reindex(index)
    right = (
        right.reindex(index)
        if right is not None
        else pd.DataFrame(np.nan, index=index, columns=list(METRIC_COLUMNS))
    )
    columns: dict[str, pd.Series] = {}
    for metric in METRIC_COLUMNS:
        columns[f"{metric} new"] = left[metric]
        columns[f"{metric} production"] = right[metric]
        columns[f"{metric} delta"] = left[metric] - right[metric]
    out = pd.DataFrame(columns, index=index)
    for column in out.columns:
        if column.startswith("support"):
            out[column] = out[column].round().astype("Int64")
    out.index.name = "label"
    return out


def read_confusion(source: Confusion | pd.DataFrame | None) -> pd.DataFrame | None:
    """A confusion matrix as a frame (index = true labels, columns = predicted labels, counts)."""
    if source is None or (isinstance(source, str) and not source.strip()):
        return None
    if isinstance(source, Confusion):
        frame = source.to_frame()
    elif isinstance(source, pd.DataFrame):
        frame = source.copy()
    else:
        raise TypeError(f"expected a frame, got {type(source).__name__}: read files with jobs.compare")
    frame.index = frame.index.map(str)
    frame.columns = frame.columns.map(str)
    return frame.apply(pd.to_numeric, errors="coerce")


def compare_confusions(new: Any, production: Any = None, *, include_diagonal: bool = True) -> pd.DataFrame:
    """(true, predicted) pairs with ``new``, ``production`` and ``delta`` counts, largest change first.

    Every pair with a non-zero count on either side is listed. A pair whose true or predicted label the
    production matrix does not know has a blank production count (and delta).
    """
    left = read_confusion(new)
    if left is None:
        raise ValueError("the new model's confusion matrix is required")
    right = read_confusion(production)

    def long(frame: pd.DataFrame, side: str) -> pd.DataFrame:
        stacked = frame.stack(future_stack=True)
        stacked.index.names = ["true", "predicted"]
        return stacked.rename(side).reset_index()

    pairs = long(left, "new")
    if right is not None:
        pairs = pairs.merge(long(right, "production"), on=["true", "predicted"], how="outer")
        known_true = set(right.index)
        known_pred = set(right.columns)
        knows = pairs["true"].isin(known_true) & pairs["predicted"].isin(known_pred)
        pairs.loc[knows, "production"] = pairs.loc[knows, "production"].fillna(0)
        new_knows = pairs["true"].isin(set(left.index)) & pairs["predicted"].isin(set(left.columns))
        pairs.loc[new_knows, "new"] = pairs.loc[new_knows, "new"].fillna(0)
    else:
        pairs["production"] = np.nan
    pairs = pairs[(pairs["new"].fillna(0) != 0) | (pairs["production"].fillna(0) != 0)]
    if not include_diagonal:
        pairs = pairs[pairs["true"] != pairs["predicted"]]
    pairs["delta"] = pairs["new"] - pairs["production"]
    for column in ("new", "production", "delta"):
        pairs[column] = pairs[column].round().astype("Int64")
    pairs["_size"] = pairs["delta"].abs().astype("Float64").fillna(-1)
    pairs = pairs.sort_values(["_size", "true", "predicted"], ascending=[False, True, True], kind="stable")
    return pairs.drop(columns="_size").reset_index(drop=True)


# ------------------------------------------------------------------------------------------ outputs


def _cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3f}"
    return str(value)


def _cells(frame: pd.DataFrame, index: bool) -> tuple[list[str], list[list[str]]]:
    header = ([str(frame.index.name or "")] if index else []) + [str(c) for c in frame.columns]
    rows = []
    for key, row in frame.iterrows():
        cells = [str(key)] if index else []
        for column in frame.columns:
            text = _cell(row[column])
            positive = text and not text.startswith("-") and text.strip("0.") != ""
            if str(column).endswith("delta") and positive:
                text = f"+{text}"
            cells.append(text)
        rows.append(cells)
    return header, rows


def _is_long(frame: pd.DataFrame) -> bool:
    return "true" in frame.columns and "predicted" in frame.columns


def to_csv(frame: pd.DataFrame) -> str:
    """CSV text; blanks stay blank."""
    return frame.to_csv(index=not _is_long(frame))


def to_markdown(frame: pd.DataFrame, title: str = "") -> str:
    """A GitHub-flavoured Markdown table (``|`` in labels escaped), with an optional ``##`` title."""
    header, rows = _cells(frame, index=not _is_long(frame))

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    out = [f"## {title}", ""] if title else []
    out.append(line(header))
    out.append("|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(header))) + "|")
    out.extend(line(cells) for cells in rows)
    return "\n".join(out) + "\n"


def to_html(frames: Mapping[str, pd.DataFrame], title: str = "Model comparison (new vs production)") -> str:
    """One self-contained HTML page with a table per frame; deltas coloured (green up, red down)."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>",
        "body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:24px;",
        "color:#1d2330}",
        "table{border-collapse:collapse;font-size:13px;margin:10px 0 28px}th,td{padding:3px 9px;",
        "border-bottom:1px solid #eef}th{background:#f1f3f8;text-align:left}td.n{text-align:right}",
        ".up{color:#1a7f37}.down{color:#c62828}",
        f"</style></head><body><h1>{html.escape(title)}</h1>",
    ]
    for name, frame in frames.items():
        header, rows = _cells(frame, index=not _is_long(frame))
        parts.append(f"<h2>{html.escape(name)}</h2><table><thead><tr>")
        parts.append("".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>")
        for cells in rows:
            tds = []
            for column, text in zip(header, cells, strict=True):
                cls = "n"
                if column.endswith("delta") and text:
                    cls += " up" if text.startswith("+") else " down" if text.startswith("-") else ""
                tds.append(f"<td class='{cls}'>{html.escape(text)}</td>")
            parts.append("<tr>" + "".join(tds) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)
