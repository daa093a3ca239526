"""Label Studio export (tasks with annotations) → rows of the tagged dataset (spec 2.3), one per annotation.

Why here and not in pandas: a row is built from one task and one annotation with a handful of lookups, the
columns must keep the uploaded strings byte for byte (``raw.*``), and the export is already in memory as
dicts; ``json_normalize`` would guess dtypes (``"007"`` → 7) and reorder columns.

Columns, in order: :data:`ANNOTATION_COLUMNS`, then every top-level task field as uploaded (``text``,
``alternatives``, ``audio_url``, ``state``, ``reftime`` (converted to the requested timezone), ``call_uuid``,
``conversation_uuid``, ``bot_response``, ``language``, ``data_label``, ...), then ``raw.<column>`` for every
column of the source CSV. Non-string values are JSON text. Call-level projects add
:data:`CALL_ANSWER_COLUMNS`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from skit_pipelines.annotation import label_config as names

ANNOTATION_COLUMNS: tuple[str, ...] = (
    "data_id",
    "job_id",
    "task_id",
    "annotation_id",
    "tag",
    "intent_y",
    "intents_y",
    "transcript_y",
    "tagged_entities",
    "incorrect_transcript",
    "gold_ready_for_training",
    "is_gold",
    "was_cancelled",
    "tagged_time",
    "updated_time",
    "annotator",
    "lead_time",
)
CALL_ANSWER_COLUMNS: tuple[str, ...] = ("call_disposition_y", "call_flags", "call_notes")


@dataclass
class Answers:
    """What an annotator said in one annotation, read by ``from_name`` (see label_config.py)."""

    intents: list[str] = field(default_factory=list)
    correction: str = ""
    entities: list[dict[str, Any]] = field(default_factory=list)
    gold: set[str] = field(default_factory=set)
    call_disposition: str = ""
    call_flags: list[str] = field(default_factory=list)
    call_notes: str = ""

    @property
    def is_call_level(self) -> bool:
        return bool(self.call_disposition or self.call_flags or self.call_notes)


def choice_labels(value: Mapping[str, Any]) -> list[str]:
    """The labels of a Choices or Taxonomy result value, in order, blanks left out.

    Choices give ``["x", ...]``; a Taxonomy tag gives paths ``[["x", "child"], ...]`` whose label is the first
    node (skit-labels read ``taxonomy[0][0]``). The one reader of this shape: the intent evaluation
    (``metrics.tags``) reads raw tags through it too.
    """
    if value.get("choices"):
        items = value["choices"]
    else:
        items = [path[0] if isinstance(path, list) else path for path in value.get("taxonomy") or [] if path]
    return [label for label in _flat_text(items) if label]


def _flat_text(item: Any) -> Iterator[str]:
    """Every scalar of a (possibly nested) list as stripped text; None gives nothing."""
    if isinstance(item, list):
        for element in item:
            yield from _flat_text(element)
    elif isinstance(item, str):
        yield item.strip()
    elif item is not None and not isinstance(item, Mapping):
        yield str(item)


def is_result_item(item: Any) -> bool:
    """Whether ``item`` is one item of a Label Studio annotation ``result`` (it names its control)."""
    return isinstance(item, Mapping) and "from_name" in item and isinstance(item.get("value"), Mapping)


def read_answers(result: Sequence[Mapping[str, Any]]) -> Answers:
    answers = Answers()
    for item in result or []:
        value = item.get("value") or {}
        name = item.get("from_name")
        kind = item.get("type")
        if name == names.INTENT_NAME:
            answers.intents.extend(choice_labels(value))
        elif name == names.GOLD_NAME:
            answers.gold.update(str(c) for c in value.get("choices") or [])
        elif name == names.CORRECTION_NAME:
            answers.correction = "\n".join(str(t) for t in value.get("text") or [])
        elif kind == "labels" or name == names.ENTITY_NAME:
            for label in value.get("labels") or []:
                answers.entities.append(
                    {
                        "type": str(label),
                        "text": value.get("text", ""),
                        "start": value.get("start"),
                        "end": value.get("end"),
                    }
                )
        elif name == names.CALL_DISPOSITION_NAME:
            answers.call_disposition = ", ".join(str(c) for c in value.get("choices") or [])
        elif name == names.CALL_FLAGS_NAME:
            answers.call_flags = [str(c) for c in value.get("choices") or []]
        elif name == names.CALL_NOTES_NAME:
            answers.call_notes = "\n".join(str(t) for t in value.get("text") or [])
    answers.entities.sort(key=lambda e: (e["start"] if isinstance(e["start"], int) else -1, e["type"]))
    return answers


def cell(value: Any) -> str:
    """A CSV cell: strings as they are, None as empty, everything else as JSON text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def in_zone(value: Any, zone: ZoneInfo | None) -> str:
    """An ISO-8601 time converted to ``zone`` (naive or unreadable values are returned unchanged)."""
    text = cell(value)
    if not text or zone is None:
        return text
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        return text
    return moment.astimezone(zone).isoformat()


def data_id(data: Mapping[str, Any], task_id: Any) -> str:
    """The reference's ``data_id`` for Label Studio: the turn's uuid (call tasks: the call's uuid)."""
    return cell(data.get("conversation_uuid") or data.get("call_uuid") or task_id)


def task_columns(data: Mapping[str, Any], zone: ZoneInfo | None) -> dict[str, str]:
    """The task's fields as uploaded: top-level fields, then ``raw.<column>``."""
    row: dict[str, str] = {}
    for key, value in data.items():
        if key == "raw":
            continue
        row[key] = in_zone(value, zone) if key == "reftime" else cell(value)
    raw = data.get("raw")
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            row[f"raw.{key}"] = cell(value)
    return row


def annotation_row(
    task: Mapping[str, Any],
    annotation: Mapping[str, Any] | None,
    *,
    project_id: int,
    zone: ZoneInfo | None,
    users: Mapping[int, str],
) -> dict[str, str]:
    """One output row: the annotation's answers (empty for an unannotated task) + the task's fields."""
    data = task.get("data") or {}
    row = {column: "" for column in ANNOTATION_COLUMNS}
    row |= {
        "data_id": data_id(data, task.get("id")),
        "job_id": str(project_id),
        "task_id": cell(task.get("id")),
    }
    if annotation is not None:
        answers = read_answers(annotation.get("result") or [])
        annotator = annotation.get("completed_by")
        if isinstance(annotator, Mapping):  # some versions inline the user
            annotator = annotator.get("email") or annotator.get("id")
        elif isinstance(annotator, int):
            annotator = users.get(annotator, annotator)
        row |= {
            "annotation_id": cell(annotation.get("id")),
            "tag": json.dumps(annotation.get("result") or [], ensure_ascii=False),
            "intent_y": answers.intents[0] if answers.intents else "",
            "intents_y": json.dumps(answers.intents, ensure_ascii=False),
            "transcript_y": answers.correction,
            "tagged_entities": json.dumps(answers.entities, ensure_ascii=False),
            "incorrect_transcript": str(names.GOLD_INCORRECT_TRANSCRIPT in answers.gold),
            "gold_ready_for_training": str(names.GOLD_READY_FOR_TRAINING in answers.gold),
            "is_gold": str(bool(annotation.get("ground_truth"))),
            "was_cancelled": str(bool(annotation.get("was_cancelled"))),
            "tagged_time": in_zone(annotation.get("created_at"), zone),
            "updated_time": in_zone(annotation.get("updated_at"), zone),
            "annotator": cell(annotator),
            "lead_time": cell(annotation.get("lead_time")),
        }
        if answers.is_call_level:
            row |= {
                "call_disposition_y": answers.call_disposition,
                "call_flags": json.dumps(answers.call_flags, ensure_ascii=False),
                "call_notes": answers.call_notes,
            }
    for key, value in task_columns(data, zone).items():
        row.setdefault(key, value)  # a task field never overwrites an annotation column
    return row


def columns_of(rows: Iterable[Mapping[str, str]]) -> list[str]:
    """Annotation columns, call answers (when any), task fields and raw columns, each in first-seen order."""
    fields: dict[str, None] = {}
    raw: dict[str, None] = {}
    call_level = False
    for row in rows:
        for key in row:
            if key in ANNOTATION_COLUMNS:
                continue
            if key in CALL_ANSWER_COLUMNS:
                call_level = True
            elif key.startswith("raw."):
                raw[key] = None
            else:
                fields[key] = None
    return [*ANNOTATION_COLUMNS, *(CALL_ANSWER_COLUMNS if call_level else ()), *fields, *raw]
