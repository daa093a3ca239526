"""The HTML report of a compliance audit: breach rate, per flow and client, and every breach in full.

Pure rendering of the audited rows (the job's table, one row per call): no I/O. Every value that came from
a call (transcripts, explanations, model answers, ids) is escaped with :func:`html.escape`, because a
transcript is what a caller said and may hold anything, ``<script>`` included. The page is one
self-contained file (inline CSS, no scripts), readable from an artifact store or a Slack link.

Each breach shows its redacted transcript with the judge's ``evidence_turn`` line highlighted, and the
explanation; calls the judge could not decide are listed with their ``judge_error`` so they are not
mistaken for compliant calls.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from skit_pipelines.compliance.transcripts import transcript_lines

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3}.num{text-align:right}.call{border:1px solid #ddd;margin:1.2em 0;padding:.6em 1em}
ol.transcript{font-family:ui-monospace,monospace;font-size:.92em}
ol.transcript li.evidence{background:#ffe08a;font-weight:bold}.muted{color:#666}.error{color:#a40000}
"""


def _e(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value))


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _turn(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _breakdown(frame: pd.DataFrame, column: str) -> str:
    """Calls, breaches, undecided and breach rate per value of ``column`` (rate over decided calls)."""
    keys = frame[column].fillna("").astype(str).replace("", "(none)")
    grouped = (
        frame.assign(_key=keys, _breach=frame["is_breach"].eq(True), _error=frame["judge_error"].ne(""))
        .groupby("_key", sort=True)
        .agg(calls=("_key", "size"), breaches=("_breach", "sum"), undecided=("_error", "sum"))
    )
    rows = []
    for key, row in grouped.iterrows():
        decided = int(row.calls) - int(row.undecided)
        cells = (int(row.calls), int(row.breaches), int(row.undecided), _percent(int(row.breaches), decided))
        rows.append(f"<tr><td>{_e(key)}</td>{''.join(f'<td class=num>{c}</td>' for c in cells)}</tr>")
    return (
        f"<table><thead><tr><th>{_e(column)}</th><th>calls</th><th>breaches</th><th>undecided</th>"
        f"<th>breach rate</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _transcript(text: str, evidence: int | None) -> str:
    items = []
    for line in transcript_lines(text or ""):
        cls = " class=evidence" if line.number == evidence else ""
        items.append(f"<li value={line.number}{cls}><b>{_e(line.speaker)}:</b> {_e(line.text)}</li>")
    return f"<ol class=transcript>{''.join(items)}</ol>"


def _call(row: Mapping[str, Any]) -> str:
    evidence = _turn(row.get("evidence_turn"))
    link = row.get("call_url") or ""
    where = f' · <a href="{_e(link)}">recording</a>' if str(link).startswith(("http://", "https://")) else ""
    turn = f" · evidence: line {evidence}" if evidence else ""
    return (
        f"<div class=call><h3>call {_e(row.get('call_id'))} <span class=muted>({_e(row.get('call_uuid'))})"
        f"</span></h3><p class=muted>flow {_e(row.get('flow_uuid'))} · client {_e(row.get('client_uuid'))} · "
        f"{_e(row.get('reftime'))}{where}{turn}</p><p>{_e(row.get('explanation'))}</p>"
        f"{_transcript(str(row.get('call_information') or ''), evidence)}</div>"
    )


def render_report(rows: pd.DataFrame, *, title: str, details: Mapping[str, Any] | None = None) -> str:
    """The report page of the audited ``rows`` (columns of the job's CSV), with ``details`` (judge, model,
    prompt version, sample...) listed under the title."""
    calls = len(rows)
    breach = rows["is_breach"].eq(True) if calls else pd.Series(dtype=bool)
    errors = rows["judge_error"].fillna("").ne("") if calls else pd.Series(dtype=bool)
    n_breaches, n_errors = int(breach.sum()), int(errors.sum())
    decided = calls - n_errors
    parts = [
        f"<!doctype html><html><head><meta charset=utf-8><title>{_e(title)}</title><style>{_STYLE}</style>"
        f"</head><body><h1>{_e(title)}</h1>"
    ]
    if details:
        items = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in details.items())
        parts.append(f"<table>{items}</table>")
    parts.append(
        f"<h2>Summary</h2><p><b>{n_breaches}</b> of <b>{calls}</b> calls had a compliance breach "
        f"(breach rate {_percent(n_breaches, decided)} of the {decided} calls judged"
        f"{f'; {n_errors} could not be judged' if n_errors else ''}).</p>"
    )
    if not calls:
        parts.append("<p>No calls matched the filters: nothing was audited.</p></body></html>")
        return "".join(parts)
    parts.append("<h2>Per flow</h2>" + _breakdown(rows, "flow_uuid"))
    parts.append("<h2>Per client</h2>" + _breakdown(rows, "client_uuid"))
    parts.append(f"<h2>Breaches ({n_breaches})</h2>")
    parts.extend(_call(row) for row in rows[breach].to_dict("records"))
    if not n_breaches:
        parts.append("<p>None.</p>")
    if n_errors:
        parts.append(
            f"<h2>Not judged ({n_errors})</h2><table><thead><tr><th>call</th><th>judge_error</th></tr>"
        )
        parts.append("</thead><tbody>")
        parts.extend(
            f"<tr><td>{_e(row['call_id'])}</td><td class=error>{_e(row['judge_error'])}</td></tr>"
            for row in rows[errors].to_dict("records")
        )
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "".join(parts)
