"""Truth entities from annotators' span labels, and production predictions, in one :class:`Entity` shape.

Why here and not in the pipeline: this is the part of "download tagged entity dataset" that decides what a
value *is*, so it is plain Python that tests call directly; the component only reads rows and writes
``truth_entities`` / ``predicted_entities`` columns with
:func:`~skit_pipelines.entities.model.entities_to_json`.

Nothing is dropped silently (the reference skipped whatever it failed to parse): both functions return
``(entities, problems)``. A span whose value cannot be parsed stays in the list with ``value=None`` (the
annotator did tag an entity of that type, so type-level counts stay right) and is named in ``problems``;
items that are not entities at all (malformed shapes) are left out and named in ``problems``. Label Studio
results that are not span labels (the intent ``choices``, ``textarea`` comments, ``rating``...) are not
entities and are skipped without a problem. Parser failures that are not about one span (Duckling down)
raise :class:`~skit_pipelines.entities.duckling.DucklingError`: a broken service must fail the run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from skit_pipelines.entities import temporal
from skit_pipelines.entities.duckling import currency_code, duration_seconds
from skit_pipelines.entities.model import (
    AMOUNT,
    DURATION,
    PARSED_TYPES,
    PEOPLE,
    TEMPORAL_TYPES,
    Entity,
    canonical_type,
)
from skit_pipelines.entities.numbers import tidy
from skit_pipelines.entities.parser import EntityParser, ParsedValue

#: Label Studio result types that never hold entity spans.
NON_SPAN_RESULT_TYPES = frozenset(
    {
        "choices",
        "taxonomy",
        "textarea",
        "rating",
        "number",
        "datetime",
        "relation",
        "pairwise",
        "ranker",
        "rectanglelabels",
        "polygonlabels",
        "keypointlabels",
        "brushlabels",
        "videorectangle",
    }
)
_LABEL_KEYS = ("labels", "hypertextlabels", "paragraphlabels")
_COARSE_GRAINS = frozenset({"day", "week", "month", "quarter", "year"})


def parse_reftime(value: Any, timezone: str) -> dt.datetime:
    """A turn's reference time in ``timezone``: ISO strings and datetimes; naive values are taken as
    wall-clock time in ``timezone`` (how the reference read its CSVs), aware ones are converted."""
    zone = ZoneInfo(timezone)
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"reftime {value!r} is not an ISO-8601 timestamp") from exc
    else:
        raise ValueError(f"reftime must be an ISO-8601 timestamp or a datetime, got {value!r}")
    if hasattr(moment, "to_pydatetime"):  # pandas.Timestamp
        moment = moment.to_pydatetime()
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


# -- truth ------------------------------------------------------------------------------------------------


def truth_entities_from_spans(
    spans: Iterable[Any] | str | None,
    *,
    reftime: dt.datetime,
    lang: str,
    parser: EntityParser,
) -> tuple[list[Entity], list[str]]:
    """Entities from Label Studio span results (items of an annotation's ``result``), plain
    ``{"start", "end", "text", "labels"}`` dicts or tog's ``{"type", "text"}``, sorted by offset.
    ``"product_kind/credit_card"`` becomes type ``product_kind`` with value ``credit_card``;
    date/time/number/... labels get parsed values."""
    items, problems = _as_list(spans, "spans")
    entities: list[Entity] = []
    for index, item in enumerate(items):
        where = f"span #{index}"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected an object, got {type(item).__name__} {item!r:.80}")
            continue
        payload = item
        if isinstance(item.get("value"), dict):
            if str(item.get("type", "")).lower() in NON_SPAN_RESULT_TYPES:
                continue
            payload = item["value"]
        elif str(item.get("type", "")).lower() in NON_SPAN_RESULT_TYPES:
            continue
        labels = next((payload[key] for key in _LABEL_KEYS if key in payload), None)
        if labels is None and payload is item and isinstance(item.get("type"), str):
            labels = [item["type"]]  # the tog shape: {"type": "date", "text": "kal", ...}
        if labels is None and "choices" in payload and "text" not in payload:
            continue  # a flattened choices result
        if isinstance(labels, str):
            labels = [labels]
        if (
            not isinstance(labels, list)
            or not labels
            or not all(isinstance(x, str) and x.strip() for x in labels)
        ):
            problems.append(f"{where}: expected 'labels' as a non-empty list of names, got {labels!r:.80}")
            continue
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where} labelled {labels[0]!r}: no span text")
            continue
        start, end, offset_problem = _offsets(payload.get("start"), payload.get("end"))
        where = f"{where} {text!r} [{start}:{end}]"
        if offset_problem:
            problems.append(f"{where}: {offset_problem}")
        for label in labels:
            entity, problem = _labelled_entity(label, text, start, end, reftime, lang, parser)
            entities.append(entity)
            if problem:
                problems.append(f"{where}: {problem}")
    entities.sort(key=lambda e: (e.start is None, e.start or 0, e.end or 0))
    return entities, problems


def _labelled_entity(
    label: str,
    text: str,
    start: int | None,
    end: int | None,
    reftime: dt.datetime,
    lang: str,
    parser: EntityParser,
) -> tuple[Entity, str | None]:
    label = label.strip()
    if "/" in label:
        kind, value = (part.strip() for part in label.split("/", 1))
        return Entity(canonical_type(kind), value, text, start, end), None
    kind = canonical_type(label)
    if kind not in PARSED_TYPES:
        return Entity(kind, text.strip(), text, start, end), None
    parsed = parser.parse_value(kind, text, reftime, lang)
    if parsed is None:
        return Entity(kind, None, text, start, end), f"could not parse a {kind} value"
    return Entity(kind, parsed.value, text, start, end, parsed.unit), None


def _offsets(start: Any, end: Any) -> tuple[int | None, int | None, str | None]:
    def as_int(value: Any) -> int | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, str):
            if not value.strip().isdigit():
                raise ValueError
            return int(value.strip())
        if isinstance(value, int | float) and value == int(value) and value >= 0:
            return int(value)
        raise ValueError

    try:
        first, last = as_int(start), as_int(end)
    except ValueError:
        return None, None, f"offsets must be non-negative integers, got start={start!r} end={end!r}; dropped"
    if first is not None and last is not None and last < first:
        return None, None, f"end {last} is before start {first}; offsets dropped"
    return first, last, None


# -- predictions ------------------------------------------------------------------------------------------


def normalise_predicted_entities(
    raw_entities: Any,
    *,
    reftime: dt.datetime,
    lang: str,
    parser: EntityParser,
) -> tuple[list[Entity], list[str]]:
    """Production entities (``{"entity_type" | "type", "value", "body" | "text", "start"?, "end"?}``, from a
    JSON string or a list) in the same shape and value formats as the truth, in their given order.

    Values may be a string, a number, a dict with ``value`` (Duckling style, with ``grain``/``unit``/
    ``normalized``), or an interval whose ``from``/``to`` are bare values or ``{"value": ...}``. A missing
    value is parsed from the entity's text.
    """
    items, problems = _as_list(raw_entities, "entities")
    entities: list[Entity] = []
    for index, item in enumerate(items):
        where = f"entity #{index}"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected an object, got {type(item).__name__} {item!r:.80}")
            continue
        raw_type = item.get("entity_type") or item.get("type")
        if not isinstance(raw_type, str) or not raw_type.strip():
            problems.append(f"{where}: no 'entity_type' or 'type' in {item!r:.120}")
            continue
        text = item.get("body") if item.get("body") is not None else item.get("text")
        text = "" if text is None else str(text)
        start, end, offset_problem = _offsets(item.get("start"), item.get("end"))
        where = f"{where} {raw_type}={text!r}"
        if offset_problem:
            problems.append(f"{where}: {offset_problem}")
        if "/" in raw_type:
            kind, value = (part.strip() for part in raw_type.split("/", 1))
            entities.append(Entity(canonical_type(kind), value, text, start, end))
            continue
        kind = canonical_type(raw_type)
        parsed, problem = normalise_value(
            kind, item.get("value"), text=text, reftime=reftime, lang=lang, parser=parser
        )
        entities.append(
            Entity(
                kind,
                None if parsed is None else parsed.value,
                text,
                start,
                end,
                None if parsed is None else parsed.unit,
            )
        )
        if problem:
            problems.append(f"{where}: {problem}")
    return entities, problems


def normalise_value(
    kind: str, value: Any, *, text: str, reftime: dt.datetime, lang: str, parser: EntityParser
) -> tuple[ParsedValue | None, str | None]:
    """A predicted value in our format for ``kind``: (value or None, problem or None)."""
    temporal.require_aware(reftime)
    if _missing(value):
        if kind in PARSED_TYPES and text.strip():
            parsed = parser.parse_value(kind, text, reftime, lang)
            return parsed, None if parsed is not None else f"no value, and its text is not a {kind}"
        return (ParsedValue(text.strip()) if text.strip() else None), (None if text.strip() else "no value")
    if kind not in PARSED_TYPES:
        if isinstance(value, dict) and "value" in value:
            value = value["value"]
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return ParsedValue(str(value).strip() if isinstance(value, str) else value), None
        return None, f"categorical value must be a string, got {value!r:.80}"
    try:
        parsed = _convert(kind, value, reftime, lang, parser)
    except (TypeError, ValueError) as exc:
        return None, f"unreadable {kind} value {value!r:.80} ({exc})"
    if parsed is None:
        return None, f"unreadable {kind} value {value!r:.80}"
    return parsed, None


def _convert(
    kind: str, value: Any, reftime: dt.datetime, lang: str, parser: EntityParser
) -> ParsedValue | None:
    if isinstance(value, dict):
        if value.get("type") == "interval" or "from" in value or "to" in value:
            return _interval(kind, value, reftime, lang, parser)
        if kind == DURATION and ("normalized" in value or "unit" in value):
            seconds = duration_seconds(value)
            return None if seconds is None else ParsedValue(seconds)
        if kind in TEMPORAL_TYPES and isinstance(value.get("value"), str):
            return _temporal_scalar(kind, value["value"], reftime, value.get("grain"), lang, parser)
        if kind == AMOUNT and "value" in value:
            inner = _convert(kind, value["value"], reftime, lang, parser)
            if inner is None:
                return None
            return ParsedValue(inner.value, inner.unit or currency_code(value.get("unit")))
        if "value" in value:
            return _convert(kind, value["value"], reftime, lang, parser)
        return None
    if kind in TEMPORAL_TYPES:
        if not isinstance(value, str):
            return None
        return _temporal_scalar(kind, value, reftime, None, lang, parser)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        number = tidy(value)
        if kind == PEOPLE:
            return ParsedValue(int(number)) if number == int(number) and number >= 0 else None
        return ParsedValue(number)
    if isinstance(value, str):
        try:
            return _convert(kind, float(value.replace(",", "")), reftime, lang, parser)
        except ValueError:
            return parser.parse_value(kind, value, reftime, lang)
    return None


def _temporal_scalar(
    kind: str, text: str, reftime: dt.datetime, grain: Any, lang: str, parser: EntityParser
) -> ParsedValue | None:
    point = _iso_point(text, reftime, grain)
    if point is None:
        return parser.parse_value(kind, text, reftime, lang)  # e.g. "tomorrow" as the value
    rendered = temporal.render(point, kind, reftime)
    return None if rendered is None else ParsedValue(rendered)


def _iso_point(text: str, reftime: dt.datetime, grain: Any = None) -> temporal.Point | None:
    text = text.strip()
    try:
        if len(text) == 10 and text[4] == "-":
            return temporal.Point(dt.date.fromisoformat(text), None)
        if len(text) <= 8 and ":" in text:
            return temporal.Point(None, dt.time.fromisoformat(text).replace(microsecond=0))
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, IndexError):
        return None
    moment = moment.astimezone(reftime.tzinfo) if moment.tzinfo else moment
    time = None if grain in _COARSE_GRAINS else moment.time().replace(microsecond=0, tzinfo=None)
    return temporal.Point(moment.date(), time)


def _interval(
    kind: str, value: dict[str, Any], reftime: dt.datetime, lang: str, parser: EntityParser
) -> ParsedValue | None:
    out: dict[str, Any] = {}
    units: set[str | None] = set()
    for key in ("from", "to"):
        side = value.get(key)
        if _missing(side):
            continue
        parsed = _convert(kind, side, reftime, lang, parser)
        if parsed is None:
            return None
        if isinstance(parsed.value, dict):  # a side that was itself an interval: keep its own side
            parsed = ParsedValue(parsed.value.get(key), parsed.unit)
            if parsed.value is None:
                return None
        out[key] = parsed.value
        units.add(parsed.unit)
    if not out:
        return None
    units.discard(None)
    return ParsedValue(out, units.pop() if len(units) == 1 else None)


# -- shared -----------------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and not value.strip())
    )


def _as_list(raw: Any, what: str) -> tuple[list[Any], list[str]]:
    """A list from a list, a JSON string (double-encoded too), a dict with ``entities`` or one entity."""
    if _missing(raw):
        return [], []
    value = raw
    for attempt in range(2):  # a second time for double-encoded JSON ('"[{...}]"')
        if not isinstance(value, str) or (attempt and not value.lstrip().startswith(("[", "{"))):
            break
        try:
            value = json.loads(value)
        except ValueError as exc:
            return [], [f"{what}: not JSON ({exc}): {raw!r:.120}"]
    if value is None:
        return [], []
    if isinstance(value, dict):
        if isinstance(value.get("entities"), list):
            return list(value["entities"]), []
        if isinstance(value.get("result"), list):
            return list(value["result"]), []
        return [value], []
    if isinstance(value, list | tuple):
        return list(value), []
    return [], [f"{what}: expected a JSON list, got {type(value).__name__} {raw!r:.120}"]


def locate_spans(entities: list[Entity], text: str) -> list[Entity]:
    """The entities, those without offsets given the span of their ``text`` in the turn's ``text``.

    Why: production SLU responses carry the entity's words but no character offsets, while annotators'
    spans always have them; without offsets the span-level scores would have nothing predicted to place.
    Each entity takes the first occurrence not taken by an earlier one (exact case first, then ignoring
    case); one whose words do not occur keeps ``None`` offsets.
    """
    if not text:
        return list(entities)
    taken = {(e.start, e.end) for e in entities if e.start is not None and e.end is not None}
    folded = text.lower()
    placed: list[Entity] = []
    for entity in entities:
        if entity.start is None and entity.text:
            for haystack, needle in ((text, entity.text), (folded, entity.text.lower())):
                start = haystack.find(needle)
                while start >= 0 and (start, start + len(needle)) in taken:
                    start = haystack.find(needle, start + 1)
                if start >= 0:
                    entity = dataclasses.replace(entity, start=start, end=start + len(needle))
                    taken.add((start, start + len(needle)))
                    break
        placed.append(entity)
    return placed
