"""Entity cells of a tagged dataset → light tuples, and the typed value equality of the reference report.

Why a module of its own: the entity evaluation reads two JSON columns on up to millions of turns, so the
per-cell work must stay small (one JSON parse, one tuple per entity, cached value parsing), and the value
equality must be exactly the reference's (eevee's ``date_eq`` / ``time_eq`` / integer / plain equality)
so that our numbers agree with the reports teams already trend.

Why orjson: it parses the small JSON lists in these cells 3-4x faster than the standard library, which is
most of the time of an evaluation on a million turns; the standard library is used when it is absent.
Why python-dateutil: ISO-8601 values are parsed with ``datetime.fromisoformat``; dateutil is only the
fallback for the odd non-ISO string (the reference parsed every value with it).

Cell format (the output of ``fetch_tagged_entity_dataset``): a JSON list of
``{"type", "value", "text", "start", "end"}``. Also accepted: an empty cell, ``null`` or ``[]`` (no
entity); a single object (one entity); ``entity_type`` for ``type`` and ``body`` for ``text`` (the
production SLU shape); a legacy categorical type ``"<type>/<value>"`` without a value. Types are
lower-cased, as the reference did, and otherwise kept as given (``"product kind "`` is not
``"product kind"``); with ``normalise`` they are also stripped (each part of ``"<type>/<value>"`` too).

Value equality by type (spec 5.2, eevee 1.3):

- ``date``: the date parts are compared. An interval ``{"from", "to"}`` compares as the pair of its dates,
  except that an interval of exactly one day whose end is at midnight (Duckling's "tomorrow") is the pair
  ``(day, day)``. A single date equals an interval only when the interval names one day: both ends on that
  day, or only one end given. Two intervals are equal when their pairs are.
- ``time``: the wall-clock times (time zones ignored, as the reference did) are compared; intervals as
  pairs of times; a time never equals an interval. A date-only value has the time 00:00.
- ``number`` and ``people``: integer equality. Integral floats and digit strings are read as integers;
  anything else is not a number and falls back to plain equality (and is counted in the warnings).
- anything else (categorical strings, durations in seconds, ...): plain equality.

A date/time value that cannot be parsed at all is not equal to anything but the identical raw value, and
is counted in the warnings, never dropped silently. (The reference raised on it and lost the whole run.)
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from typing import Any, NamedTuple

from skit_pipelines.errors import SkitPipelinesError

try:  # pragma: no branch - the fast path when orjson is installed
    import orjson

    _loads = orjson.loads
    _JSONError: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - exercised only without orjson
    import json

    _loads = json.loads
    _JSONError = json.JSONDecodeError

__all__ = [
    "DATE_TIME_TYPES",
    "INTEGER_TYPES",
    "CellError",
    "ComparedEntity",
    "ValueInterval",
    "date_key",
    "parse_cell",
    "time_key",
    "value_problem",
    "values_equal",
]

DATE_TIME_TYPES = frozenset({"date", "time", "datetime"})
INTEGER_TYPES = frozenset({"number", "people"})


class ValueInterval(NamedTuple):
    """An interval value; each end is the raw value string (or None when open)."""

    start: Any
    end: Any


class ComparedEntity(NamedTuple):
    """One entity of a turn. ``start``/``end`` are character offsets, None when absent or unusable."""

    type: str
    value: Any
    text: str
    start: int | None
    end: int | None


class CellError(SkitPipelinesError, ValueError):
    """A cell that is not a list of entities. ``reason`` is a short category (for counting skipped rows),
    ``detail`` the specifics of this cell."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason} ({detail})" if detail else reason)


# ------------------------------------------------------------------------------------------- cell parsing

_EMPTY_CELLS = frozenset({"", "[]", "null", "None", "nan", "NaN"})


def _side(side: Any) -> Any:
    """An interval end: a bare value, or Duckling's ``{"value": ...}``."""
    if isinstance(side, dict):
        return side.get("value")
    return side


def _value(raw: Any) -> Any:
    if isinstance(raw, dict):
        if "from" in raw or "to" in raw:
            return ValueInterval(_side(raw.get("from")), _side(raw.get("to")))
        if "value" in raw and len(raw) <= 3:  # a Duckling value object {"value", "grain", "type"}
            return _value(raw["value"])
    if isinstance(raw, list):  # unhashable; keep a comparable, hashable form
        return tuple(_value(item) for item in raw)
    if isinstance(raw, dict):
        return tuple(sorted((str(k), _value(v)) for k, v in raw.items()))
    return raw


def _offset(raw: Any) -> int | None:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if isinstance(raw, float) and raw.is_integer() and raw >= 0:
        return int(raw)
    return None


def _entity(item: Any, position: int, normalise: bool = False) -> ComparedEntity:
    if not isinstance(item, dict):
        raise CellError("an entity is not a JSON object", f"entity #{position} is a {type(item).__name__}")
    kind = item.get("type")
    if kind is None:
        kind = item.get("entity_type")
    if not isinstance(kind, str) or not kind.strip():
        raise CellError("an entity has no 'type'", f"entity #{position}")
    kind = kind.strip().lower() if normalise else kind.lower()
    value = item.get("value")
    if value is None and "/" in kind:  # legacy categorical encoding "<type>/<value>"
        kind, _, value = kind.partition("/")
        if normalise:
            kind, value = kind.strip(), value.strip()
    text = item.get("text")
    if text is None:
        text = item.get("body")
    start, end = _offset(item.get("start")), _offset(item.get("end"))
    if start is None or end is None or end < start:
        start = end = None
    return ComparedEntity(kind, _value(value), "" if text is None else str(text), start, end)


def parse_cell(cell: Any, normalise: bool = False) -> tuple[ComparedEntity, ...]:
    """The entities of one cell (a JSON string, a parsed list, or empty). Raises CellError when malformed.

    ``normalise`` strips entity types (see the module docstring); by default they are kept as given.
    """
    if cell is None:
        return ()
    if isinstance(cell, str):
        if cell in _EMPTY_CELLS or not cell.strip():
            return ()
        try:
            data = _loads(cell)
        except _JSONError as exc:
            raise CellError("invalid JSON", str(exc).splitlines()[0]) from None
    elif isinstance(cell, float) and math.isnan(cell):
        return ()
    else:
        data = cell
    if data is None:
        return ()
    if isinstance(data, dict):
        data = [data]
    elif hasattr(data, "tolist") and not isinstance(data, list):  # numpy arrays from parquet
        data = data.tolist()
    if not isinstance(data, list):
        raise CellError("not a JSON list of entities", f"got {type(data).__name__}")
    return tuple(_entity(item, i, normalise) for i, item in enumerate(data))


# ------------------------------------------------------------------------------------------ value parsing

_MISSING = object()  # "this value has no such part" (the date of a bare time)


class _Unparseable(NamedTuple):
    """A date/time value that could not be read; equal only to the identical raw value."""

    raw: Any


@lru_cache(maxsize=1 << 16)
def _moment(text: str) -> dt.datetime | dt.time | None:
    """A datetime (dates become midnight, like dateutil), a bare time, or None when unreadable."""
    text = text.strip()
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        pass
    try:
        import dateutil.parser

        # Only strings that carry a date get here in practice; an absent date must not become "today".
        return dateutil.parser.parse(text, default=dt.datetime(1, 1, 1))
    except (ValueError, OverflowError, TypeError):
        return None


def _moment_of(value: Any) -> dt.datetime | dt.time | None:
    if isinstance(value, dt.datetime | dt.time):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        return _moment(value)
    return None


def _date_part(value: Any) -> Any:
    moment = _moment_of(value)
    if moment is None:
        return _MISSING if value is None else _Unparseable(value)
    if isinstance(moment, dt.datetime):
        return moment.date()
    return _MISSING  # a bare time has no date


def _time_part(value: Any) -> Any:
    moment = _moment_of(value)
    if moment is None:
        return _MISSING if value is None else _Unparseable(value)
    if isinstance(moment, dt.datetime):
        return moment.time()  # naive: the wall clock, as the reference compared
    return moment.replace(tzinfo=None)


def _is_midnight(value: Any) -> bool:
    moment = _moment_of(value)
    if isinstance(moment, dt.datetime):
        return moment.hour == 0 and moment.minute == 0
    if isinstance(moment, dt.time):
        return moment.hour == 0 and moment.minute == 0
    return False


def date_key(value: Any) -> Any:
    """The date part of a value: a ``date``, a ``(from, to)`` pair for intervals, or a sentinel."""
    if isinstance(value, ValueInterval):
        start = None if value.start is None else _date_part(value.start)
        end = None if value.end is None else _date_part(value.end)
        if (
            isinstance(start, dt.date)
            and isinstance(end, dt.date)
            and (end - start).days == 1
            and _is_midnight(value.end)
        ):
            return (start, start)
        return (start, end)
    return _date_part(value)


def time_key(value: Any) -> Any:
    """The time part of a value: a naive ``time``, a ``(from, to)`` pair for intervals, or a sentinel."""
    if isinstance(value, ValueInterval):
        return (
            None if value.start is None else _time_part(value.start),
            None if value.end is None else _time_part(value.end),
        )
    return _time_part(value)


def _single_day(pair: tuple[Any, Any]) -> Any:
    first, second = pair
    if first and second:
        return first if first == second else None
    return first or second


def _date_match(truth: Any, pred: Any) -> bool:
    if truth is _MISSING or pred is _MISSING:
        return False
    if isinstance(truth, tuple) and not isinstance(truth, _Unparseable):
        if isinstance(pred, tuple) and not isinstance(pred, _Unparseable):
            return truth == pred
        day = _single_day(truth)
        return bool(day) and day == pred
    if isinstance(pred, tuple) and not isinstance(pred, _Unparseable):
        day = _single_day(pred)
        return bool(day) and day == truth
    return truth == pred


def _date_eq(truth: Any, pred: Any) -> bool:
    return _date_match(date_key(truth), date_key(pred))


def _time_eq(truth: Any, pred: Any) -> bool:
    a, b = time_key(truth), time_key(pred)
    if a is _MISSING or b is _MISSING:
        return False
    return a == b


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
    return None


def _integer_eq(truth: Any, pred: Any) -> bool:
    a, b = _integer(truth), _integer(pred)
    if a is None or b is None:
        return truth == pred
    return a == b


def values_equal(kind: str, truth: Any, pred: Any) -> bool:
    """Whether two values of entity type ``kind`` are the same (``date``/``time`` for datetime parts).

    Identical raw values are always equal (also when they cannot be parsed), so equality is reflexive.
    """
    if truth == pred and type(truth) is type(pred):
        return True
    if kind == "date":
        return _date_eq(truth, pred)
    if kind == "time":
        return _time_eq(truth, pred)
    if kind in INTEGER_TYPES:
        return _integer_eq(truth, pred)
    return truth == pred


@lru_cache(maxsize=1 << 16)
def _problem_cached(kind: str, value: Any) -> str:
    return _problem(kind, value)


def _problem(kind: str, value: Any) -> str:
    if kind in DATE_TIME_TYPES:
        ends = (value.start, value.end) if isinstance(value, ValueInterval) else (value,)
        if all(end is None for end in ends):
            return "no value"
        for end in ends:
            if end is not None and _moment_of(end) is None:
                return "unreadable date/time value"
        return ""
    if kind in INTEGER_TYPES:
        if value is None:
            return "no value"
        return "" if _integer(value) is not None else "non-integer value"
    return ""


def value_problem(kind: str, value: Any) -> str:
    """Why a value cannot take part in typed comparison ("" when it can): for the warnings' counts."""
    if kind not in DATE_TIME_TYPES and kind not in INTEGER_TYPES:
        return ""
    try:
        return _problem_cached(kind, value)
    except TypeError:  # an unhashable value cannot be cached
        return _problem(kind, value)
