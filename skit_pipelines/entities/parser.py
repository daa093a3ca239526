"""Entity value parsers: one interface, two backends (in-process, or Duckling over HTTP).

Why two backends: the in-process parser needs no service, so `make demo`, tests and laptops work with
nothing running, and it understands the romanised Hindi and Tamil that Duckling does not; teams whose
production SLU uses Duckling set ``SKIT_DUCKLING_URL`` to get exactly Duckling's readings, so truth and
predictions are parsed the same way. Both return the same JSON-friendly values (see
:mod:`skit_pipelines.entities.model`) and both are deterministic: everything is relative to the
``reftime`` passed in, in its timezone.

In-process parser: :mod:`~skit_pipelines.entities.temporal` (a relative-date grammar in front of
``dateparser``) and :mod:`~skit_pipelines.entities.numbers` (``number-parser`` plus small tables); the
module docstrings say why those libraries.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from skit_pipelines.entities import numbers, temporal
from skit_pipelines.entities.model import (
    AMOUNT,
    DURATION,
    NUMBER,
    PARSED_TYPES,
    PEOPLE,
    TEMPORAL_TYPES,
    canonical_type,
)


@dataclass(frozen=True)
class ParsedValue:
    """A parsed value, and for amounts the ISO-4217 currency that was said (``unit``)."""

    value: Any
    unit: str | None = None


class EntityParser(ABC):
    """Turns an entity's text into its value. ``parse`` returns None when it cannot (callers report it)."""

    @abstractmethod
    def parse_value(self, entity_type: str, text: str, reftime: dt.datetime, lang: str) -> ParsedValue | None:
        """The value and unit of ``text`` read as ``entity_type``, relative to ``reftime`` (aware)."""

    def parse(self, entity_type: str, text: str, reftime: dt.datetime, lang: str) -> Any:
        """Only the value (see :class:`ParsedValue` for an amount's currency); None: could not parse."""
        parsed = self.parse_value(entity_type, text, reftime, lang)
        return None if parsed is None else parsed.value

    def close(self) -> None:  # noqa: B027 - optional hook: only parsers holding connections override it
        """Release resources (HTTP connections); the parser must not be used afterwards."""

    def __enter__(self) -> EntityParser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessParser(EntityParser):
    """The embedded default: no service, no network, no wall clock."""

    def parse_value(self, entity_type: str, text: str, reftime: dt.datetime, lang: str) -> ParsedValue | None:
        kind = canonical_type(entity_type)
        text = str(text).strip()
        if kind not in PARSED_TYPES:
            return ParsedValue(text) if text else None
        if not text:
            return None
        if kind in TEMPORAL_TYPES:
            parsed = temporal.parse_temporal(text, reftime, lang)
            value = None if parsed is None else temporal.render(parsed, kind, reftime)
            return None if value is None else ParsedValue(value)
        if kind == NUMBER:
            number = numbers.parse_number(text, lang)
            return None if number is None else ParsedValue(number)
        if kind == AMOUNT:
            amount = numbers.parse_amount(text, lang)
            return None if amount is None else ParsedValue(amount[0], amount[1])
        if kind == DURATION:
            seconds = numbers.parse_duration(text, lang)
            return None if seconds is None else ParsedValue(seconds)
        if kind == PEOPLE:
            people = numbers.parse_people(text, lang)
            return None if people is None else ParsedValue(people)
        raise AssertionError(f"unhandled parsed type {kind}")  # pragma: no cover


def get_entity_parser(duckling_url: str = "") -> EntityParser:
    """``DucklingParser`` for a ``duckling_url`` (the ``SKIT_DUCKLING_URL`` setting), else the in-process
    parser. The URL is a parameter: entity parsing knows nothing of settings."""
    if duckling_url.strip():
        from skit_pipelines.entities.duckling import DucklingParser

        return DucklingParser(duckling_url.strip())
    return InProcessParser()
