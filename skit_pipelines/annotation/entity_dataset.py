"""Tagged entity dataset (``fetch_tagged_entity_dataset``, spec 4.8 and 5.2): the tagged CSV plus entities.

Adds to every row of a tagged CSV (``download.py``):
- ``truth_entities``: the annotators' span labels (``tagged_entities``: type, text, character offsets into the
  transcript) with parsed values, dates and times resolved against the turn's ``reftime`` (in the timezone
  the dataset was downloaded in);
- ``predicted_entities``: the production entities (``raw.entities``) normalised to the same shape;
- ``entity_problems``: what could not be parsed, so that nothing is dropped silently.

Both entity columns hold JSON lists of ``{type, value, text, start, end}``. The parsing itself belongs to
``skit_pipelines.entities`` (in-process parser, or Duckling when ``SKIT_DUCKLING_URL`` is set); this module
only reads rows, calls it, and writes rows. It fixes spec 14 item 18: the reference read the Label Studio
truth from ``raw.entities``, the very column that holds the predictions.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skit_pipelines import storage
from skit_pipelines.localfiles import allow_large_csv_fields

log = logging.getLogger(__name__)

TRUTH_COLUMN = "truth_entities"
PREDICTED_COLUMN = "predicted_entities"
PROBLEMS_COLUMN = "entity_problems"
MAX_LISTED_PROBLEMS = 10


@dataclass
class EntityCounts:
    rows: int = 0
    rows_with_truth: int = 0
    truth_entities: int = 0
    predicted_entities: int = 0
    rows_with_problems: int = 0
    problems: int = 0
    examples: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = (
            f"{self.rows} rows, {self.truth_entities} tagged entities in {self.rows_with_truth} rows, "
            f"{self.predicted_entities} predicted entities"
        )
        if self.problems:
            text += (
                f", {self.problems} entity problems in {self.rows_with_problems} rows (see {PROBLEMS_COLUMN})"
            )
        return text


def _json_list(value: str, what: str) -> tuple[list[Any], str]:
    if not (value or "").strip():
        return [], ""
    try:
        loaded = json.loads(value)
    except ValueError as exc:
        return [], f"{what} is not JSON ({exc})"
    if isinstance(loaded, dict):  # a single entity
        loaded = [loaded]
    if not isinstance(loaded, list):
        return [], f"{what} is not a JSON list"
    return loaded, ""


def reftime_of(row: Mapping[str, str]) -> dt.datetime | None:
    """The turn's reference time (aware): ``reftime``, else ``raw.reftime``; None when neither is usable."""
    for column in ("reftime", "raw.reftime"):
        try:
            moment = dt.datetime.fromisoformat(row.get(column) or "")
        except ValueError:
            continue
        if moment.tzinfo is not None:
            return moment
    return None


def annotated_text(row: Mapping[str, str]) -> str:
    """The text the annotators' spans point into (the task's ``text``: the primary transcript)."""
    return row.get("text") or row.get("primary_utterance") or row.get("raw.primary_utterance") or ""


def add_entities(row: dict[str, str], parser: Any, counts: EntityCounts) -> dict[str, str]:
    """Fill the three entity columns of one tagged row (in place; returned for convenience)."""
    from skit_pipelines.entities import locate_spans, normalise_predicted_entities, truth_entities_from_spans

    problems: list[str] = []
    lang = row.get("raw.language") or row.get("language") or ""
    reftime = reftime_of(row)
    spans, problem = _json_list(row.get("tagged_entities", ""), "tagged_entities")
    problems += [problem] if problem else []
    predicted_raw, problem = _json_list(row.get("raw.entities", ""), "raw.entities")
    problems += [problem] if problem else []
    truth: list[Any] = []
    predicted: list[Any] = []
    if reftime is None and (spans or predicted_raw):
        problems.append("no timezone-aware reftime: entity values were not parsed")
    else:
        if spans:
            # tagged_entities holds {type, text, start, end}; the parser reads Label Studio's span shape.
            spans = [
                {
                    "labels": [s.get("type")],
                    "text": s.get("text"),
                    "start": s.get("start"),
                    "end": s.get("end"),
                }
                if isinstance(s, dict) and "labels" not in s
                else s
                for s in spans
            ]
            truth, found = truth_entities_from_spans(spans, reftime=reftime, lang=lang, parser=parser)
            problems += [str(p) for p in found]
        if predicted_raw:
            predicted, found = normalise_predicted_entities(
                predicted_raw, reftime=reftime, lang=lang, parser=parser
            )
            problems += [str(p) for p in found]
            # Production entities have words but no offsets: place them in the text the annotator labelled.
            predicted = locate_spans(predicted, annotated_text(row))
    row[TRUTH_COLUMN] = json.dumps([e.to_dict() for e in truth], ensure_ascii=False)
    row[PREDICTED_COLUMN] = json.dumps([e.to_dict() for e in predicted], ensure_ascii=False)
    row[PROBLEMS_COLUMN] = json.dumps(problems, ensure_ascii=False) if problems else ""
    counts.rows += 1
    counts.truth_entities += len(truth)
    counts.predicted_entities += len(predicted)
    counts.rows_with_truth += bool(truth)
    if problems:
        counts.rows_with_problems += 1
        counts.problems += len(problems)
        if len(counts.examples) < MAX_LISTED_PROBLEMS:
            counts.examples.append(f"{row.get('data_id', '?')}: {problems[0]}")
    return row


@dataclass
class EntityDataset:
    uri: str
    counts: EntityCounts
    message: str
    download_command: str


def build_entity_dataset(
    tagged_uri: str, *, org_id: str = "", reference: str = "", parser: Any = None, duckling_url: str = ""
) -> EntityDataset:
    """Read the tagged CSV at ``tagged_uri``, add the entity columns, store it as a ``tagged_entity`` CSV.

    Values are parsed by ``parser``, else by Duckling at ``duckling_url`` (``SKIT_DUCKLING_URL``), else in
    process."""
    from skit_pipelines.entities import get_entity_parser

    parser = parser if parser is not None else get_entity_parser(duckling_url)
    counts = EntityCounts()
    allow_large_csv_fields()
    with tempfile.TemporaryDirectory(prefix="tagged-entity-") as work:
        source = storage.download_file(tagged_uri, Path(work) / "tagged.csv")
        target = Path(work) / "tagged-entity.csv"
        with (
            open(source, newline="", encoding="utf-8") as inp,
            open(target, "w", newline="", encoding="utf-8") as out,
        ):
            reader = csv.DictReader(inp)
            columns = list(reader.fieldnames or [])
            columns += [c for c in (TRUTH_COLUMN, PREDICTED_COLUMN, PROBLEMS_COLUMN) if c not in columns]
            writer = csv.DictWriter(out, fieldnames=columns, restval="")
            writer.writeheader()
            for row in reader:
                writer.writerow(add_entities(dict(row), parser, counts))
        uri = storage.upload_file(
            target, reference=reference or f"{org_id or 'org'}", file_type="tagged_entity", ext=".csv"
        )
    for example in counts.examples:
        log.warning("entity problem: %s", example)
    message = f"Here is your tagged entity data for org_id={org_id!r} ({reference}): {counts.describe()}."
    return EntityDataset(
        uri=uri, counts=counts, message=message, download_command=storage.download_command(uri)
    )
