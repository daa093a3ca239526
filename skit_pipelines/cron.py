"""Cron expressions of recurring runs: check one, find its next slot, spell it for Kubeflow.

Why croniter: the usual five-field syntax (ranges, steps, lists, names, ``@daily``) with day-of-month /
day-of-week semantics as cron has them and daylight-saving transitions handled for a timezone; a
hand-written parser would get one of these wrong. Schedules here always use five fields (minute
resolution): Kubeflow's six-field form (seconds first, robfig/cron) is derived by :func:`kfp_cron`.

Pure computation: no settings, no storage; the caller passes the time ("now") so tests use a fake clock.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from skit_pipelines.errors import SkitPipelinesError

UTC = dt.timezone.utc
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class CronError(SkitPipelinesError, ValueError):
    """A cron expression or timezone that cannot be used; the message says which field is wrong and why."""


def check_cron(expression: str) -> str:
    """The expression normalised (single spaces, ``@daily`` style aliases expanded), or :class:`CronError`.

    Five fields are required: ``minute hour day-of-month month day-of-week`` (e.g. ``0 3 * * 1``).
    """
    text = " ".join(str(expression or "").split())
    text = _ALIASES.get(text.lower(), text)
    if not text:
        raise CronError('cron: empty; expected five fields "minute hour day-of-month month day-of-week"')
    fields = text.split(" ")
    if len(fields) != 5:
        raise CronError(
            f"cron: {expression!r} has {len(fields)} fields; expected five "
            '("minute hour day-of-month month day-of-week", e.g. "0 3 * * 1")'
        )
    try:
        croniter(text, dt.datetime(2000, 1, 1, tzinfo=UTC))
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        raise CronError(f"cron: {expression!r} is not a valid cron expression ({exc})") from None
    try:  # e.g. "0 0 30 2 *" (30 February) parses but never fires
        next_slot(text, "UTC", dt.datetime(2000, 1, 1, tzinfo=UTC))
    except CronError:
        raise CronError(f"cron: {expression!r} never fires") from None
    return text


def check_timezone(name: str) -> str:
    """An IANA timezone name (``UTC``, ``Asia/Kolkata``) or :class:`CronError`."""
    name = (name or "").strip() or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(
            f"timezone: unknown timezone {name!r} (expected an IANA name such as Asia/Kolkata)"
        ) from None
    return name


def next_slot(expression: str, timezone: str, after: dt.datetime) -> dt.datetime:
    """The first slot strictly after ``after`` (aware), in UTC; the expression is read in ``timezone``."""
    if after.tzinfo is None:
        raise ValueError("next_slot needs an aware datetime")
    local = after.astimezone(ZoneInfo(timezone))
    try:
        slot = croniter(expression, local).get_next(dt.datetime)
    except CroniterBadDateError:
        raise CronError(f"cron: {expression!r} has no slot after {after.isoformat()}") from None
    return slot.astimezone(UTC)


def kfp_cron(expression: str) -> str:
    """The five-field expression as Kubeflow's scheduler reads it: six fields, seconds first."""
    return "0 " + check_cron(expression)
