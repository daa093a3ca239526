"""Label Studio tasks from untagged rows: turn-level tasks (spec 2.1 rows) and call-level tasks (spec 2.2).

Why every column goes under ``raw``: the download must give back everything that was uploaded (the reference's
``raw.*`` columns, e.g. ``raw.intent`` is the production prediction that evaluation compares against). The
CSV cells are kept as the exact strings of the file, so a round trip changes nothing. The top-level fields are
what the label config shows and what downstream code reads by name (spec 2.3): ``text`` (the top ASR
alternative), ``alternatives`` (the parsed n-best), ``audio_url``, ``state``, ``reftime``, ``call_uuid``,
``conversation_uuid``, ``bot_response``, ``language``, ``data_label``.

The production prediction becomes a Label Studio *prediction* (pre-annotation with a ``model_version``): the
intent as the ``tag`` choice and each predicted entity whose text occurs in the transcript as a span.
"""

from __future__ import annotations

import datetime as dt
import json
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from skit_pipelines.annotation.label_config import (
    CALL_TEXT_NAME,
    ENTITY_NAME,
    INTENT_NAME,
    TEXT_NAME,
)
from skit_pipelines.asr_nbest import NbestMode, first_list_transcripts, parse_nbest
from skit_pipelines.parameters import InvalidParameterError

VALID_DATA_LABELS: tuple[str, ...] = ("Client", "Ops", "UAT", "Live")  # skit-labels VALID_DATA_LABELS
DEFAULT_DATA_LABEL = "Live"
DEFAULT_MODEL_VERSION = "production"

TURN_KEY = "conversation_uuid"  # task identity of a turn task (idempotent uploads)
CALL_KEY = "call_uuid"  # task identity of a call task
# Columns a turn CSV must have: identity, what annotators see, and what the reference validated.
TURN_REQUIRED_COLUMNS: tuple[str, ...] = (
    "conversation_uuid",
    "call_uuid",
    "utterances",
    "state",
    "reftime",
    "audio_url",
)
CALL_REQUIRED_COLUMNS: tuple[str, ...] = ("call_uuid", "reftime")
# Call-level record, spec 2.2 (plus previous/blocking disposition of [main] when the source has them).
CALL_COLUMNS: tuple[str, ...] = (
    "call_uuid",
    "reftime",
    "call_type",
    "language",
    "call_end_status",
    "disposition",
    "previous_disposition",
    "blocking_disposition",
    "flow_id",
    "flow_version",
    "flow_name",
    "call_duration",
    "flow_uuid",
    "client_uuid",
    "template_id",
    "date",
    "call_link",
)


def validate_data_label(value: str) -> str:
    """``""`` → ``Live``; any case of Client, Ops, UAT, Live → its canonical spelling; else a clear error."""
    text = (value or "").strip()
    if not text:
        return DEFAULT_DATA_LABEL
    for label in VALID_DATA_LABELS:
        if text.lower() == label.lower():
            return label
    raise InvalidParameterError(
        "data_label",
        f"data_label: unknown data label {value!r} (expected one of {', '.join(VALID_DATA_LABELS)})",
    )


def missing_columns(columns: Iterable[str], required: Sequence[str]) -> list[str]:
    present = set(columns)
    return [c for c in required if c not in present]


@dataclass(frozen=True)
class RowProblem:
    """A row that cannot become a task: its line in the CSV and why."""

    line: int
    key: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.key or 'no id'}): {self.reason}"


# ------------------------------------------------------------------------------------------------ turns


def _bot_response(row: Mapping[str, str]) -> str:
    if row.get("bot_response"):
        return row["bot_response"]
    try:
        context = json.loads(row.get("context") or "{}")
    except ValueError:
        return ""
    return str(context.get("bot_response", "")) if isinstance(context, dict) else ""


def _score(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def predicted_entity_spans(text: str, entities_json: str) -> list[dict[str, Any]]:
    """Production entities as span results over ``text`` (only those whose text occurs in it)."""
    try:
        entities = json.loads(entities_json) if entities_json else []
    except ValueError:
        return []
    spans = []
    taken: set[tuple[int, int]] = set()
    for entity in entities if isinstance(entities, list) else []:
        if not isinstance(entity, dict):
            continue
        label = entity.get("entity_type") or entity.get("type")
        body = str(entity.get("body") or entity.get("text") or "")
        if not label or not body:
            continue
        start = text.find(body)
        if start < 0:
            start = text.lower().find(body.lower())
        if start < 0 or (start, start + len(body)) in taken:
            continue
        taken.add((start, start + len(body)))
        spans.append(
            {
                "from_name": ENTITY_NAME,
                "to_name": TEXT_NAME,
                "type": "labels",
                "value": {
                    "start": start,
                    "end": start + len(body),
                    "text": text[start : start + len(body)],
                    "labels": [str(label)],
                },
            }
        )
    return spans


def turn_task(
    row: Mapping[str, str], *, data_label: str, model_version: str = DEFAULT_MODEL_VERSION
) -> dict[str, Any]:
    """One turn row (CSV cells as strings) → a Label Studio task with its production prediction.

    Raises ValueError (with the reason) for a row whose ``utterances`` cannot be read.
    """
    nbest = parse_nbest(row.get("utterances", ""), NbestMode.STRICT)
    transcripts = first_list_transcripts(nbest)
    text = row.get("primary_utterance") or (transcripts[0] if transcripts else "")
    data = {
        "text": text,
        "alternatives": nbest,
        "alternatives_text": "\n".join(transcripts[1:]),
        "audio_url": row.get("audio_url", ""),
        "state": row.get("state", ""),
        "reftime": row.get("reftime", ""),
        "call_uuid": row.get("call_uuid", ""),
        "conversation_uuid": row.get("conversation_uuid", ""),
        "bot_response": _bot_response(row),
        "language": row.get("language", ""),
        "data_label": data_label,
        "raw": dict(row),
    }
    task: dict[str, Any] = {"data": data}
    intent = (row.get("intent") or "").strip()
    result: list[dict[str, Any]] = []
    if intent:
        result.append(
            {
                "from_name": INTENT_NAME,
                "to_name": TEXT_NAME,
                "type": "choices",
                "value": {"choices": [intent]},
            }
        )
    result += predicted_entity_spans(text, row.get("entities", ""))
    if result:
        prediction: dict[str, Any] = {
            "model_version": model_version or DEFAULT_MODEL_VERSION,
            "result": result,
        }
        score = _score(row.get("intent_score"))
        if score is not None:
            prediction["score"] = score
        task["predictions"] = [prediction]
    return task


def predicted_entity_types(rows: Iterable[Mapping[str, str]]) -> list[str]:
    """Entity types the production SLU predicted in these rows (offered as span labels)."""
    types: dict[str, None] = {}
    for row in rows:
        try:
            entities = json.loads(row.get("entities") or "[]")
        except ValueError:
            continue
        for entity in entities if isinstance(entities, list) else []:
            if isinstance(entity, dict) and (label := entity.get("entity_type") or entity.get("type")):
                types[str(label)] = None
    return list(types)


# ------------------------------------------------------------------------------------------------ calls


class _Row(dict):
    """format_map mapping that names a missing placeholder clearly."""

    def __missing__(self, key: str) -> str:
        raise InvalidParameterError(
            "call_link_template",
            f"call_link_template: unknown placeholder {{{key}}} (use org_id or a column of the calls CSV, "
            "e.g. {call_uuid}, {client_uuid}, {flow_uuid})",
        )


def check_call_link_template(template: str) -> None:
    """Reject a template that str.format cannot read (unbalanced braces) before anything is uploaded."""
    try:
        list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidParameterError(
            "call_link_template", f"call_link_template: {exc} in {template!r}"
        ) from None


def call_link(row: Mapping[str, str], org_id: str, template: str) -> str:
    """The call's link: ``template`` filled with the row's columns and ``org_id``, else its recording URL.

    No company URL is built in (spec 14.2): deployments set a template such as
    ``https://console.example.com/{org_id}/call-report/#/call?uuid={call_uuid}``.
    """
    if not template:
        return row.get("call_url", "")
    return template.format_map(_Row({**row, "org_id": org_id}))


def _call_date(reftime: str) -> str:
    try:
        return dt.datetime.fromisoformat(reftime).date().isoformat()
    except ValueError:
        return reftime[:10]


def call_records(
    rows: Iterable[Mapping[str, str]], *, org_id: str, lang: str = "", call_link_template: str = ""
) -> list[dict[str, str]]:
    """One record per call (spec 2.2), first turn wins, in order of first appearance.

    ``reftime`` is the call's earliest turn time; ``language`` is overwritten by ``lang`` when given (as the
    reference did); ``date`` is the day of ``reftime`` in its own offset.
    """
    calls: dict[str, dict[str, str]] = {}
    for row in rows:
        uuid = row.get("call_uuid", "")
        if not uuid:
            continue
        record = calls.get(uuid)
        if record is None:
            record = {
                column: row.get(column, "") for column in CALL_COLUMNS if column not in ("date", "call_link")
            }
            if lang:
                record["language"] = lang
            record["call_link"] = call_link(row, org_id, call_link_template)
            calls[uuid] = record
        elif row.get("reftime") and _earlier(row["reftime"], record["reftime"]):
            record["reftime"] = row["reftime"]
    for record in calls.values():
        record["date"] = _call_date(record["reftime"])
    return [{column: record.get(column, "") for column in CALL_COLUMNS} for record in calls.values()]


def _earlier(a: str, b: str) -> bool:
    try:
        return dt.datetime.fromisoformat(a) < dt.datetime.fromisoformat(b)
    except ValueError:
        return a < b


def call_task(record: Mapping[str, str], *, data_label: str) -> dict[str, Any]:
    """A call-level task: the record's fields on top (what the config shows), and again under ``raw``."""
    info = {
        k: record[k]
        for k in (
            "call_uuid",
            "date",
            "flow_name",
            "disposition",
            "call_end_status",
            "call_duration",
            "call_type",
            "language",
        )
        if record.get(k, "") != ""
    }
    return {
        "data": {
            **record,
            "call_link": record.get("call_link") or record.get("call_uuid", ""),
            "call_info": info,
            "data_label": data_label,
            "raw": dict(record),
        }
    }


__all__ = [
    "CALL_COLUMNS",
    "CALL_KEY",
    "CALL_REQUIRED_COLUMNS",
    "CALL_TEXT_NAME",
    "DEFAULT_DATA_LABEL",
    "DEFAULT_MODEL_VERSION",
    "TURN_KEY",
    "TURN_REQUIRED_COLUMNS",
    "VALID_DATA_LABELS",
    "RowProblem",
    "call_link",
    "call_records",
    "call_task",
    "check_call_link_template",
    "missing_columns",
    "predicted_entity_spans",
    "predicted_entity_types",
    "turn_task",
    "validate_data_label",
]
