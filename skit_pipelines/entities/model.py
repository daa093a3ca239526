"""The normalised entity: one shape for annotated truth and production predictions.

Why one small dataclass: entity evaluation compares truth and predictions field by field, so both sides
must carry the same keys and the same value formats (dates as ``YYYY-MM-DD``, durations in seconds, ...),
whatever tool produced them. Values are JSON-friendly so that a list of entities round-trips through a CSV
cell (``to_dict``/``from_dict``, ``entities_to_json``/``entities_from_json``) without custom encoders.

Value formats by type (see docs/entities.md):

- ``date``: ``"YYYY-MM-DD"``; ``time``: ``"HH:MM:SS"``; ``datetime``: ISO-8601 with offset
  (``"2024-03-14T17:00:00+05:30"``), all in the turn's timezone;
- ``duration``: seconds (int, or float when fractional);
- ``number``: int or float; ``people``: int;
- ``amount``: int or float, with the ISO-4217 currency in ``unit`` when it was said (``None`` otherwise);
- an interval of any of these: ``{"from": v, "to": v}`` with only the known sides present;
- any other type (categorical or free text): the string value.

``value`` is ``None`` only when a value could not be parsed; the functions that build entities then also
report the entity in their list of problems, so callers can count those instead of silently losing them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: Types whose value is parsed from the text; every other type is categorical / plain text.
DATE, TIME, DATETIME, DURATION, NUMBER, AMOUNT, PEOPLE = (
    "date",
    "time",
    "datetime",
    "duration",
    "number",
    "amount",
    "people",
)
PARSED_TYPES = frozenset({DATE, TIME, DATETIME, DURATION, NUMBER, AMOUNT, PEOPLE})
TEMPORAL_TYPES = frozenset({DATE, TIME, DATETIME})

#: Other names production systems use for the same types (Duckling's dimension names among them).
TYPE_ALIASES = {
    "amount_of_money": AMOUNT,
    "amount-of-money": AMOUNT,
    "money": AMOUNT,
    "numeral": NUMBER,
    "date_time": DATETIME,
    "date-time": DATETIME,
}


def canonical_type(entity_type: str) -> str:
    """Lower-cased, trimmed type with aliases resolved (``"Amount_Of_Money"`` → ``"amount"``)."""
    name = str(entity_type).strip().lower()
    return TYPE_ALIASES.get(name, name)


@dataclass(frozen=True)
class Entity:
    """One entity of a turn. ``start``/``end`` are character offsets into the turn's text (end exclusive)."""

    type: str
    value: Any
    text: str
    start: int | None = None
    end: int | None = None
    #: Currency of an ``amount`` (ISO 4217, e.g. ``"INR"``); ``None`` when not said or not an amount.
    unit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{type, value, text, start, end}``, plus ``unit`` only when it is set."""
        data: dict[str, Any] = {
            "type": self.type,
            "value": self.value,
            "text": self.text,
            "start": self.start,
            "end": self.end,
        }
        if self.unit is not None:
            data["unit"] = self.unit
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entity:
        """The inverse of :meth:`to_dict`; ``type`` and ``text`` are required, the rest default to None."""
        if not isinstance(data, dict):
            raise ValueError(f"an entity must be a JSON object, got {type(data).__name__}: {data!r}")
        missing = [key for key in ("type", "text") if key not in data]
        if missing:
            raise ValueError(f"entity {data!r} lacks {', '.join(missing)}")
        return cls(
            type=str(data["type"]),
            value=data.get("value"),
            text=str(data["text"]),
            start=_optional_int(data.get("start"), "start"),
            end=_optional_int(data.get("end"), "end"),
            unit=data.get("unit"),
        )


def _optional_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ValueError(f"entity {name} must be an integer offset, got {value!r}")
    return int(value)


def entities_to_json(entities: list[Entity]) -> str:
    """A JSON list for a CSV cell (non-ASCII text kept readable)."""
    return json.dumps([entity.to_dict() for entity in entities], ensure_ascii=False)


def entities_from_json(text: str) -> list[Entity]:
    """Read back what :func:`entities_to_json` wrote; an empty cell is an empty list."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return []
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError(f"expected a JSON list of entities, got {type(data).__name__}")
    return [Entity.from_dict(item) for item in data]
