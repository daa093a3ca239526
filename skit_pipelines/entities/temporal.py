"""Dates, times and datetimes from short spoken spans, resolved against the turn's reference time.

Why a small grammar in front of ``dateparser``: ``dateparser`` (Scrapinghub/Zyte, maintained, 200+ locales)
is the right tool for absolute dates in any language and format (``25 मार्च 2024``, ``03/25/2024``,
``el 25 de marzo``), but the relative phrases voicebot callers use most are exactly where it falls short
for us: it does not know romanised Hindi (``kal``, ``agle somvar``), reads ``परसों`` as the past, resolves
``next friday`` to this week's Friday and ``the 5th`` to a month. So the common relative forms are a
small deterministic grammar here (English, Hindi in both scripts, Tamil, Spanish; words in
:mod:`skit_pipelines.entities.lexicon`) with Duckling's conventions, and everything else goes to
``dateparser`` with the same reference time and a preference for the future.

Conventions (documented in docs/entities.md, tested in tests/test_entities_values.py):

- Everything is relative to ``reftime`` *in its own timezone* (the turn's): "today" is the caller's date.
  No wall clock is ever read.
- ``friday`` / ``this friday`` / ``on friday``: the next Friday after today; ``next friday``: the Friday of
  next calendar week (Monday–Sunday); ``last friday``: the most recent Friday before today.
- ``kal`` / ``parso`` (Hindi: yesterday *or* tomorrow) read as the future, as Duckling does.
- ``the 5th``: the next 5th on or after today; ``25th march``: the next 25 March on or after today.
- ``next week`` / ``last week``: that week's Monday; ``end of the month``: the month's last day.
- A clock time without am/pm (``5 baje``, ``at 5``) is its next occurrence after ``reftime``, or on an
  explicitly named other day, its first occurrence that day (05:00), as Duckling resolves it.
- ``after 5 pm`` → an interval with only ``from``; ``before 5 pm`` → only ``to``; a part of day alone
  (``in the evening``) → Duckling's interval for it (evening 18:00–24:00).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from skit_pipelines.entities import lexicon as lx
from skit_pipelines.entities.model import DATE, DATETIME, TIME
from skit_pipelines.entities.numbers import base_language, word_value


@dataclass(frozen=True)
class Point:
    """A resolved calendar date and/or local wall-clock time."""

    date: dt.date | None = None
    time: dt.time | None = None


@dataclass(frozen=True)
class Interval:
    """Duckling-style interval: either side may be open (``None``)."""

    start: Point | None = None
    end: Point | None = None


Temporal = Point | Interval

#: Duckling's parts of the day: (start hour, end hour; 24 = midnight after).
_PARTS_OF_DAY = {"morning": (4, 12), "afternoon": (12, 19), "evening": (18, 24), "night": (18, 24)}

_PHRASES: list[tuple[re.Pattern[str], str]] = [
    # \b fails next to Indic vowel signs and viramas; tokens are space separated, so spaces delimit words.
    (re.compile(p.replace(r"\b", r"(?:(?<!\S)|(?!\S))")), r)
    for p, r in [
        (r"\bday after tomorrow\b|\bpasado manana\b|நாளை மறுநாள்|நாளைக்கு மறுநாள்", " @d+2 "),
        (r"\bday before yesterday\b", " @d-2 "),
        (r"\b(?:de|por|en) la manana\b", " @morning "),
        (r"\b(?:de|por|en) la tarde\b", " @afternoon "),
        (r"\b(?:de|por|en) la noche\b", " @night "),
        (r"\btonight\b", " @d+0 @evening "),
        (
            r"\b(?:the )?end of (?:the |this )?month\b|\bmonth end\b|\bmahine ke (?:end|aakhir|akhir|ant)\b"
            r"|महीने के (?:आखिर|अंत|एंड)|மாச கடைசி(?:யில)?|மாதக் கடைசி(?:யில)?|\bfin(?:al)? de(?:l)? mes\b",
            " @monthend ",
        ),
        (r"\bque viene\b", " next "),
        (r"\bfrom now\b", " "),
        (r"\b(?:noon|midday)\b", " 12:00 pm "),
        (r"\bmidnight\b", " 0:00 "),
        (r"\b(?:o clock|oclock)\b", " oclock "),
        (r"\b(?:morning|subah|subha|सुबह|காலையில|காலைல|காலை)\b", " @morning "),
        (r"\b(?:afternoon|dopahar|dopehar|dophar|दोपहर|மதியம்)\b", " @afternoon "),
        (r"\b(?:evening|shaam|sham|शाम|சாயங்காலம்|மாலை)\b", " @evening "),
        (r"\b(?:night|raat|rat|रात|இரவு|ராத்திரி)\b", " @night "),
    ]
]
_AFTER = frozenset(lx.fold(w) for w in ("after", "baad", "bad", "बाद", "despues", "since", "கழித்து"))
_BEFORE = frozenset(lx.fold(w) for w in ("before", "until", "till", "antes", "pehle", "pahle", "पहले"))
_CLOCK_MARK = r"(?:am|pm|baje|बजे|oclock|மணிக்கு|மணி)"
_HOUR_MOD = r"(?:(?P<mod>saade|sade|saadhe|साढे|sava|sawa|सवा|paune|पौने)\s+)?"
_CLOCKS = [
    # 5:30 (pm), 17:00
    re.compile(_HOUR_MOD + r"(?<!\S)(?P<h>\d{1,2}):(?P<m>\d{2})\b(?:\s*(?P<mark>" + _CLOCK_MARK + r"))?"),
    # 5 pm, 5 30 pm, 5 baje, saade 5 baje, 5 மணிக்கு
    re.compile(
        _HOUR_MOD + r"(?<!\S)(?P<h>\d{1,2})(?:\s+(?P<m>\d{2}))?\s*(?P<mark>" + _CLOCK_MARK + r")(?!\S)"
    ),
    # at 5, a las 5, around 5 in the evening
    re.compile(
        r"\b(?:at|las|la)\s+(?P<h>\d{1,2})\b(?!\s*(?:\d|th|st|nd|rd|@d))"
        r"(?!\s+(?:" + "|".join(map(re.escape, sorted(lx.UNIT_WORDS))) + r")\b)"
    ),
    # 5 in the evening / shaam 5
    re.compile(r"(?<!\S)(?P<h>\d{1,2})\b(?=\s+(?:in\s+the\s+)?@(?:morning|afternoon|evening|night)\b)"),
    re.compile(r"@(?:morning|afternoon|evening|night)\s+(?:at\s+)?(?P<h>\d{1,2})\b(?!\s*(?:th|st|nd|rd))"),
]
_WEAK_ARTICLES = lx.ARTICLES - {"one", "ek", "एक", "ஒரு"}  # "a"/"un" are numbers only before a unit
_CALENDAR_TABLES = (lx.WEEKDAY_WORDS, lx.MONTH_WORDS, lx.DAY_WORDS, lx.UNIT_WORDS, lx.MODIFIER_WORDS)


def parse_temporal(text: str, reftime: dt.datetime, lang: str = "en") -> Temporal | None:
    """A :class:`Point` or :class:`Interval` for ``text`` relative to ``reftime`` (aware), or None."""
    local = require_aware(reftime)
    tokens = _digitise(lx.tokenize(text))
    s = " " + " ".join(tokens) + " "
    for pattern, replacement in _PHRASES:
        s = pattern.sub(replacement, s)

    clock, s = _extract_clock(s)
    part_of_day = None
    for name in _PARTS_OF_DAY:
        if f"@{name}" in s:
            part_of_day = name
            s = s.replace(f"@{name}", " ")
    words = s.split()
    direction = None
    if clock is not None:
        if any(w in _AFTER for w in words):
            direction = "from"
        elif any(w in _BEFORE for w in words):
            direction = "to"
        words = [w for w in words if w not in _AFTER and w not in _BEFORE]

    date: dt.date | None = None
    now_time: dt.time | None = None
    if any(w not in lx.DATE_FILLERS for w in words):
        resolved = _resolve_date(words, local)
        if resolved is None:
            resolved = _dateparser(text, local, lang)
            if resolved is None:
                return None
        date, now_time = resolved.date, resolved.time
        if clock is None and now_time is not None:
            clock = (now_time.hour, now_time.minute, False)

    if clock is not None:
        hour, minute, ambiguous = clock
        if part_of_day is not None:
            hour, ambiguous = _apply_part_of_day(hour, part_of_day), False
        if not (0 <= hour <= 23 and 0 <= minute <= 59):
            return None
        when = _next_occurrence(local, date, hour, minute, ambiguous)
        point = Point(when.date(), when.time())
        if direction == "from":
            return Interval(start=point)
        if direction == "to":
            return Interval(end=point)
        return point
    if part_of_day is not None:
        start_hour, end_hour = _PARTS_OF_DAY[part_of_day]
        day = date or (local.date() if local.hour < end_hour else local.date() + dt.timedelta(days=1))
        next_day = day + dt.timedelta(days=1)
        end = Point(next_day, dt.time(0)) if end_hour == 24 else Point(day, dt.time(end_hour))
        return Interval(Point(day, dt.time(start_hour)), end)
    if date is None:
        return None
    return Point(date, None)


def render(value: Temporal, entity_type: str, reftime: dt.datetime) -> str | dict[str, str] | None:
    """The JSON value of a parsed temporal for ``date`` / ``time`` / ``datetime`` (None: nothing to show,
    e.g. a ``time`` entity whose text names only a day)."""
    if isinstance(value, Interval):
        sides = {"from": value.start, "to": value.end}
        out = {key: _render_point(point, entity_type, reftime) for key, point in sides.items() if point}
        rendered = {key: text for key, text in out.items() if text is not None}
        return rendered or None
    return _render_point(value, entity_type, reftime)


def _render_point(point: Point, entity_type: str, reftime: dt.datetime) -> str | None:
    if entity_type == DATE:
        return point.date.isoformat() if point.date else None
    if entity_type == TIME:
        return point.time.strftime("%H:%M:%S") if point.time else None
    if entity_type == DATETIME:
        if point.date is None:
            return None
        moment = dt.datetime.combine(point.date, point.time or dt.time(0), tzinfo=reftime.tzinfo)
        return moment.isoformat(timespec="seconds")
    raise ValueError(f"not a temporal entity type: {entity_type!r}")


def require_aware(reftime: dt.datetime) -> dt.datetime:
    if not isinstance(reftime, dt.datetime):
        raise TypeError(f"reftime must be a datetime, got {type(reftime).__name__}: {reftime!r}")
    if reftime.tzinfo is None or reftime.utcoffset() is None:
        raise ValueError(
            f"reftime {reftime.isoformat()} has no timezone: pass it in the turn's timezone "
            "(e.g. datetime(..., tzinfo=ZoneInfo('Asia/Kolkata'))) so relative dates resolve locally"
        )
    return reftime


# -- tokens -------------------------------------------------------------------------------------------------


def _digitise(tokens: list[str]) -> list[str]:
    """Number words → digits ("five pm" → "5 pm", "twenty five" → "25"), calendar words untouched."""
    out: list[str] = []
    for token in tokens:
        value = None
        if token not in _WEAK_ARTICLES and not any(token in table for table in _CALENDAR_TABLES):
            value = word_value(token)
        if isinstance(value, int) and token not in ("oh", "nil"):
            if out and out[-1].isdigit() and int(out[-1]) in range(20, 100, 10) and 1 <= value <= 9:
                out[-1] = str(int(out[-1]) + value)
            else:
                out.append(str(value))
        else:
            out.append(token)
    return out


def _extract_clock(s: str) -> tuple[tuple[int, int, bool] | None, str]:
    """((hour, minute, ambiguous), text without the clock) for the first clock expression found."""
    for pattern in _CLOCKS:
        match = pattern.search(s)
        if not match:
            continue
        groups = match.groupdict()
        hour, minute = int(groups["h"]), int(groups.get("m") or 0)
        mark = groups.get("mark")
        modifier = lx.fold(groups.get("mod") or "")
        if modifier:
            delta = lx.NUMBER_MODIFIERS.get(modifier, 0.0)
            total = hour * 60 + int(float(delta) * 60)  # type: ignore[arg-type]
            hour, minute = divmod(total, 60)
        ambiguous = True
        if mark == "am":
            hour, ambiguous = (0 if hour == 12 else hour), False
        elif mark == "pm":
            hour, ambiguous = (hour if hour == 12 else hour + 12), False
        if hour == 0 or hour > 12:
            ambiguous = False
        return (hour, minute, ambiguous), s[: match.start()] + " " + s[match.end() :]
    return None, s


def _apply_part_of_day(hour: int, part: str) -> int:
    if hour > 12:
        return hour
    if part == "morning":
        return 0 if hour == 12 else hour
    if part == "afternoon":
        return hour if hour == 12 else hour + 12
    if part == "evening":
        return hour if hour == 12 else hour + 12
    # night: 6–11 → pm, 12 → midnight, 1–5 → early morning
    return hour + 12 if 6 <= hour < 12 else (0 if hour == 12 else hour)


def _next_occurrence(
    local: dt.datetime, date: dt.date | None, hour: int, minute: int, ambiguous: bool
) -> dt.datetime:
    """The clock time on ``date``; without a date, its next occurrence after ``local``.

    An ambiguous hour (``5`` with no am/pm) is the first reading after ``local`` on today's date, the first
    of the day on another named day, and otherwise the next one after ``local`` (possibly tomorrow).
    """
    hours = [hour, hour + 12] if ambiguous and hour < 12 else [hour]
    today = local.date()
    naive_now = local.replace(tzinfo=None)
    if date is not None:
        chosen = hours[0]
        if date == today:
            later = [h for h in hours if dt.datetime.combine(today, dt.time(h, minute)) > naive_now]
            chosen = later[0] if later else hours[-1]
        return dt.datetime.combine(date, dt.time(chosen, minute), tzinfo=local.tzinfo)
    for day in (today, today + dt.timedelta(days=1)):
        for h in hours:
            candidate = dt.datetime.combine(day, dt.time(h, minute))
            if candidate > naive_now:
                return candidate.replace(tzinfo=local.tzinfo)
    raise AssertionError("unreachable: tomorrow always has the hour")  # pragma: no cover


# -- dates --------------------------------------------------------------------------------------------------


def _classify(words: list[str]) -> list[tuple[str, object]] | None:
    items: list[tuple[str, object]] = []
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if word.startswith("@d"):
            items.append(("day", int(word[2:])))
        elif word == "@monthend":
            items.append(("monthend", None))
        elif word in lx.ARTICLES and following in lx.UNIT_WORDS:
            items.append(("num", 1))
        elif word.isdigit():
            items.append(("num", int(word)))
        elif word in lx.DAY_WORDS:
            items.append(("day", lx.DAY_WORDS[word]))
        elif word in lx.NOW_WORDS:
            items.append(("now", None))
        elif word in lx.WEEKDAY_WORDS:
            items.append(("wd", lx.WEEKDAY_WORDS[word]))
        elif word in lx.MONTH_WORDS:
            items.append(("month", lx.MONTH_WORDS[word]))
        elif word in lx.UNIT_WORDS:
            items.append(("unit", lx.UNIT_WORDS[word]))
        elif word in lx.MODIFIER_WORDS:
            items.append(("mod", lx.MODIFIER_WORDS[word]))
        elif word in lx.AGO_WORDS:
            items.append(("ago", None))
        elif word in lx.DATE_FILLERS:
            continue
        else:
            return None
    return items


def _resolve_date(words: list[str], local: dt.datetime) -> Point | None:
    """The grammar of relative dates; None sends the text to dateparser."""
    items = _classify(words)
    if items is None:
        return None
    today = local.date()
    kinds = [kind for kind, _ in items]
    values = [value for _, value in items]
    if not items:
        return None
    if kinds == ["day"]:
        return Point(today + dt.timedelta(days=int(values[0])))  # type: ignore[arg-type]
    if kinds == ["now"]:
        return Point(today, local.time().replace(microsecond=0, tzinfo=None))
    if kinds == ["monthend"]:
        return Point(today.replace(day=calendar.monthrange(today.year, today.month)[1]))
    if "wd" in kinds and kinds.count("wd") == 1:
        weekday = int(values[kinds.index("wd")])  # type: ignore[arg-type]
        rest = [k for k in kinds if k != "wd"]
        mods = [str(v) for k, v in items if k == "mod"]
        if rest == [] or (rest == ["mod"]):
            return Point(_weekday(today, weekday, mods[0] if mods else "this"))
        if sorted(rest) == ["mod", "unit"] and values[kinds.index("unit")] == "week" and mods[0] != "this":
            return Point(_weekday(today, weekday, mods[0]))  # "agle hafte shukravar"
        others = [(k, v) for k, v in items if k != "wd"]  # "friday the 15th": the date decides
        return _resolve_date_items(others, local)
    return _resolve_date_items(items, local)


def _resolve_date_items(items: list[tuple[str, object]], local: dt.datetime) -> Point | None:
    today = local.date()
    kinds = [kind for kind, _ in items]
    values = [value for _, value in items]
    nums = [int(v) for k, v in items if k == "num"]  # type: ignore[call-overload]
    # "in 5 days", "5 days", "do din mein", "2 weeks ago", "hace 3 dias", "a week ago"
    if kinds in (["num", "unit"], ["num", "unit", "ago"], ["ago", "num", "unit"], ["unit", "ago"]):
        unit = str(values[kinds.index("unit")])
        amount = (nums[0] if nums else 1) * (-1 if "ago" in kinds else 1)
        if unit in ("second", "minute", "hour"):
            # Elapsed time, so across a DST change "in 1 hour" is one real hour later (UTC arithmetic).
            elapsed = dt.timedelta(seconds=amount * lx.UNIT_SECONDS[unit])
            moment = (local.astimezone(dt.timezone.utc) + elapsed).astimezone(local.tzinfo)
            return Point(moment.date(), moment.time().replace(microsecond=0, tzinfo=None))
        return Point(_shift(today, unit, amount))
    # "next week", "pichle mahine", "agle saal": the start of that period
    if kinds == ["mod", "unit"]:
        mod, unit = str(values[0]), str(values[1])
        step = {"next": 1, "prev": -1, "this": 0}[mod]
        return Point(_period_start(today, unit, step)) if unit in ("day", "week", "month", "year") else None
    # "the 5th", "5 tarikh"
    if kinds == ["num"] and 1 <= nums[0] <= 31:
        return _day_of_month(today, nums[0])
    # "25 march", "march 25", "25 march 2025", "march 2025", "march"
    if kinds.count("month") == 1 and set(kinds) <= {"month", "num"} and len(kinds) <= 3:
        month = int(values[kinds.index("month")])  # type: ignore[call-overload]
        years = [n for n in nums if n >= 1900]
        days = [n for n in nums if 1 <= n <= 31]
        if len(years) + len(days) != len(nums) or len(years) > 1 or len(days) > 1:
            return None
        day = days[0] if days else 1
        if years:
            return _safe_date(years[0], month, day)
        for year in (today.year, today.year + 1):
            candidate = _safe_date(year, month, day)
            if candidate is not None and candidate.date >= (today if days else today.replace(day=1)):  # type: ignore[operator]
                return candidate
        return None
    return None


def _safe_date(year: int, month: int, day: int) -> Point | None:
    try:
        return Point(dt.date(year, month, day))
    except ValueError:
        return None


def _weekday(today: dt.date, weekday: int, mode: str) -> dt.date:
    if mode == "prev":
        return today - dt.timedelta(days=(today.weekday() - weekday) % 7 or 7)
    ahead = (weekday - today.weekday()) % 7 or 7
    if mode == "next" and today.weekday() + ahead < 7:  # the day of next calendar week
        ahead += 7
    return today + dt.timedelta(days=ahead)


def _day_of_month(today: dt.date, day: int) -> Point | None:
    year, month = today.year, today.month
    for _ in range(13):
        if day <= calendar.monthrange(year, month)[1] and dt.date(year, month, day) >= today:
            return Point(dt.date(year, month, day))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None  # pragma: no cover - every day 1..31 occurs within 13 months


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _shift(today: dt.date, unit: str, amount: int) -> dt.date:
    if unit == "day":
        return today + dt.timedelta(days=amount)
    if unit == "week":
        return today + dt.timedelta(weeks=amount)
    if unit == "fortnight":
        return today + dt.timedelta(weeks=2 * amount)
    if unit == "month":
        return _add_months(today, amount)
    if unit == "quarter":
        return _add_months(today, 3 * amount)
    return _add_months(today, 12 * amount)  # year


def _period_start(today: dt.date, unit: str, step: int) -> dt.date:
    if unit == "day":
        return today + dt.timedelta(days=step)
    if unit == "week":
        return today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=step)
    if unit == "month":
        return _add_months(today.replace(day=1), step)
    return dt.date(today.year + step, 1, 1)


# -- dateparser fallback ------------------------------------------------------------------------------------


def _dateparser(text: str, local: dt.datetime, lang: str) -> Point | None:
    """Absolute dates in any language and format; the time only when the text named one."""
    from dateparser.data.languages_info import language_order
    from dateparser.date import DateDataParser

    base = base_language(lang)
    known = frozenset(language_order)
    languages = [code for code in dict.fromkeys((base, "en")) if code in known]
    region = lang.replace("_", "-").split("-")[1].upper() if "-" in lang.replace("_", "-") else ""
    zone = getattr(local.tzinfo, "key", "")
    month_first = base == "en" and (region == "US" or (not region and zone.startswith("America/")))
    settings = {
        "RELATIVE_BASE": local.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "PREFER_DAY_OF_MONTH": "first",
        "RETURN_TIME_AS_PERIOD": True,
        "DATE_ORDER": "MDY" if month_first else "DMY",
    }
    data = DateDataParser(languages=languages, settings=settings).get_date_data(str(text))
    if data is None or data.date_obj is None:
        return None
    moment = data.date_obj
    if data.period == "time":
        return Point(moment.date(), moment.time().replace(microsecond=0))
    return Point(moment.date(), None)
