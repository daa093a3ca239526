"""Turn the loosely typed parameters of "Random sample calls" into validated, typed call filters.

Why a separate step: every parameter arrives as text from a CLI flag, an HTTP body or a Slack message.
Validating all of them *before* any query runs means a typo in a date fails in milliseconds with the
parameter's name, instead of after a slow query or, as in the reference system, silently (a comma string of
callers split into characters, unknown call types ignored). The result is an immutable :class:`CallFilters`
that the sampling query reads and that reports can print.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from skit_pipelines.parameters import (  # noqa: F401 - split_list and parse_timezone: old import path
    InvalidParameterError,
    effective_timezone,
    parse_date,
    parse_timezone,
    shifted_date,
    split_list,
)
from skit_pipelines.warehouse.schema import CALL_TYPES

DEFAULT_CALL_TYPES = ("INBOUND", "OUTBOUND")
# Test lines that never carry real customer speech; the reference skipped them unless told otherwise.
DEFAULT_IGNORED_CALLERS = ("ev-connect", "0000000000")

_LANG = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class CallFilters:
    """Validated filters of a call sample. ``start`` is inclusive, ``end`` exclusive, both tz-aware."""

    lang: str
    start: dt.datetime
    end: dt.datetime
    timezone: str
    client_ids: tuple[str, ...] = ()
    flow_ids: tuple[str, ...] = ()
    flow_name: str = ""
    template_id: str = ""
    use_case: str = ""
    call_types: tuple[str, ...] = DEFAULT_CALL_TYPES
    ignore_callers: tuple[str, ...] = DEFAULT_IGNORED_CALLERS
    reported: bool = False
    min_duration: float | None = None
    asr_providers: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()

    @property
    def filters_turns(self) -> bool:
        """``states``/``intents`` select turns: a call matches if one of its turns does."""
        return bool(self.states or self.intents)

    @property
    def last_moment(self) -> dt.datetime:
        """The inclusive end, for messages and file names (``end`` itself is exclusive)."""
        return self.end - dt.timedelta(microseconds=1)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def parse_time_offset(value: int, parameter: str) -> dt.time:
    """Time of day from an integer: hours (``0``-``23``) or ``HHMM`` (``930`` = 09:30, ``1745`` = 17:45)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError(parameter, f"{parameter}: expected an integer, got {value!r}")
    if 0 <= value <= 23:
        return dt.time(value)
    hours, minutes = divmod(value, 100)
    if 100 <= value <= 2359 and minutes < 60:
        return dt.time(hours, minutes)
    raise InvalidParameterError(
        parameter,
        f"{parameter}: {value} is not a time of day (expected hours 0-23 or HHMM such as 930 or 1745)",
    )


def _parse_call_types(value: str) -> tuple[str, ...]:
    types = tuple(t.upper() for t in split_list(value)) or DEFAULT_CALL_TYPES
    unknown = [t for t in types if t not in CALL_TYPES]
    if unknown:
        raise InvalidParameterError(
            "call_type",
            f"call_type: unknown call type(s) {', '.join(unknown)} (expected {', '.join(CALL_TYPES)})",
        )
    return types


def _parse_min_duration(value: str | float | int | None) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise InvalidParameterError(
            "min_duration", f"min_duration: expected a number of seconds, got {value!r}"
        ) from None
    if seconds < 0:
        raise InvalidParameterError("min_duration", f"min_duration: must be >= 0 seconds, got {value!r}")
    return seconds


def build_call_filters(
    *,
    lang: str,
    start_date: str = "",
    end_date: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
    start_time_offset: int = 0,
    end_time_offset: int = 0,
    timezone: str = "",
    client_id: str = "",
    flow_ids: str = "",
    flow_name: str = "",
    template_id: str = "",
    use_case: str = "",
    call_type: str = "",
    ignore_callers: str = "",
    reported: bool = False,
    min_duration: str = "",
    asr_provider: str = "",
    states: str = "",
    intents: str = "",
    now: dt.datetime | None = None,
) -> CallFilters:
    """Validate every parameter and build the time window.

    The window: ``start_date + start_date_offset`` days at ``start_time_offset``, up to ``end_date +
    end_date_offset`` days at ``end_time_offset`` (``0`` means the end of that day), in ``timezone``
    (empty: ``SKIT_TIMEZONE``). Empty dates mean today in that timezone.
    """
    lang = (lang or "").strip()
    if not lang:
        raise InvalidParameterError("lang", "lang: required (a language code such as en or hi)")
    if not _LANG.match(lang):
        raise InvalidParameterError(
            "lang", f"lang: {lang!r} is not a language code (expected e.g. en, hi, en-US)"
        )

    timezone = effective_timezone(timezone)
    zone = ZoneInfo(timezone)
    today = (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone).date()

    first_day = shifted_date(start_date, start_date_offset, "start_date", today)
    last_day = shifted_date(end_date, end_date_offset, "end_date", today)
    start = dt.datetime.combine(first_day, parse_time_offset(start_time_offset, "start_time_offset"), zone)
    if end_time_offset == 0:
        end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), zone)
    else:
        end = dt.datetime.combine(last_day, parse_time_offset(end_time_offset, "end_time_offset"), zone)
    if start >= end:
        raise InvalidParameterError(
            "start_date",
            f"start_date: the window starts at {start:%Y-%m-%d %H:%M} and ends at {end:%Y-%m-%d %H:%M} "
            f"({timezone}); the start must come before the end",
        )

    return CallFilters(
        lang=lang,
        start=start,
        end=end,
        timezone=timezone,
        client_ids=split_list(client_id),
        flow_ids=split_list(flow_ids),
        flow_name=(flow_name or "").strip(),
        template_id=(template_id or "").strip(),
        use_case=(use_case or "").strip(),
        call_types=_parse_call_types(call_type),
        ignore_callers=split_list(ignore_callers) or DEFAULT_IGNORED_CALLERS,
        reported=bool(reported),
        min_duration=_parse_min_duration(min_duration),
        asr_providers=split_list(asr_provider),
        states=split_list(states),
        intents=split_list(intents),
    )


# The raw parameters a call filter is built from, in signature order: what a pipeline and the ``fetch_calls``
# component spell out for kfp. Everything below the component takes a built :class:`CallFilters` instead.
CALL_FILTER_PARAMETERS: tuple[str, ...] = tuple(
    name for name in inspect.signature(build_call_filters).parameters if name != "now"
)


def call_filters_from(arguments: Mapping[str, Any], *, now: dt.datetime | None = None) -> CallFilters:
    """The :class:`CallFilters` of a step's raw parameters (e.g. a component's ``locals()``).

    Why: the component's kfp signature has to list every filter, but nothing below it should list them
    again. Names that are not filters (``call_quantity``, ``org_id``, ...) are ignored; missing filters take
    their defaults.
    """
    return build_call_filters(
        **{name: arguments[name] for name in CALL_FILTER_PARAMETERS if name in arguments}, now=now
    )
