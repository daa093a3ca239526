"""Reading and checking pipeline parameters: the one module every face and every step uses.

Why one module: the CLI, the HTTP API, the Slack bot and the steps themselves must agree on what a valid
argument is. The helpers that read a parameter (``split_list``, ``parse_date``, ``parse_timezone``,
``parse_project_ids``) and the small check kinds that the per-pipeline declarations in
:mod:`skit_pipelines.pipeline_checks` are built from live here, in plain Python (no kfp, no HTTP), so a
rule is written once and a bad value is refused with the parameter's name wherever it arrives.

Text values are untrusted: :func:`check_text` refuses NUL characters (PostgreSQL cannot store them), text
that is not valid UTF-8 (a lone surrogate such as ``"\\ud800"`` cannot be encoded, so every later JSON
answer about the run would fail) and values over :data:`MAX_TEXT_BYTES`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from skit_pipelines.errors import SkitPipelinesError

MAX_TEXT_BYTES = 64 * 1024  # per text value, UTF-8 encoded: far above any id, date, list or path we take

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class InvalidParameterError(SkitPipelinesError, ValueError):
    """A pipeline parameter that cannot be used; ``parameter`` names it for error reports and APIs."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(message if parameter in message else f"{parameter}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:  # keep ``parameter`` when pickled across processes
        return (type(self), (self.parameter, str(self)))


def problem_lines(errors: Mapping[str, str]) -> list[str]:
    """``<parameter>: <problem>`` per refused parameter (problems that already start so are kept as is)."""
    return [p if p.startswith(f"{name}: ") else f"{name}: {p}" for name, p in errors.items()]


class InvalidArgumentsError(SkitPipelinesError, ValueError):
    """Arguments a pipeline (or step) refuses; ``errors`` maps parameter → problem, all of them at once."""

    def __init__(self, pipeline: str, errors: dict[str, str]) -> None:
        self.pipeline = pipeline
        self.errors = errors
        details = "; ".join(problem_lines(errors))
        super().__init__(f"invalid arguments for {pipeline}: {details}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.pipeline, self.errors))


# ------------------------------------------------------------------------------------------ readers


def split_list(value: str | None) -> tuple[str, ...]:
    """``"a, b,,c"`` → ``("a", "b", "c")``: the one way every comma-list parameter is read."""
    if not value:
        return ()
    return tuple(dict.fromkeys(part.strip() for part in str(value).split(",") if part.strip()))


def parse_timezone(value: str, parameter: str = "timezone") -> str:
    """``value`` when it is an IANA timezone name, else an error naming ``parameter``."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameterError(
            parameter,
            f"{parameter}: unknown timezone {value!r} (expected an IANA name such as 'Asia/Kolkata')",
        ) from None
    return value


def effective_timezone(value: str, parameter: str = "timezone", default: str | None = None) -> str:
    """The one timezone rule of every pipeline: the parameter when given, else ``default``, else the
    configured ``SKIT_TIMEZONE`` (handed over by the entry point through :mod:`skit_pipelines.runtime`)."""
    text = (value or "").strip()
    if text:
        return parse_timezone(text, parameter)
    if default is not None:
        return default
    from skit_pipelines import runtime  # only when the parameter is empty

    return runtime.current().timezone


def parse_date(value: str, parameter: str, today: dt.date) -> dt.date:
    """``YYYY-MM-DD``; empty means ``today`` (in the filter's timezone)."""
    text = (value or "").strip()
    if not text:
        return today
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidParameterError(
            parameter, f"{parameter}: cannot read {value!r} as a date (expected YYYY-MM-DD, e.g. 2026-03-25)"
        ) from None


def parse_int(value: Any, parameter: str) -> int:
    """An integer (``"3"`` too; not a bool), else an error naming ``parameter``."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return int(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(parameter, f"{parameter}: expected an integer, got {value!r}") from None


_TRUE_WORDS = frozenset({"true", "1", "yes", "y", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "n", "off"})


def parse_optional_bool(value: Any, parameter: str) -> bool | None:
    """True/False from a bool or its words (``"true"``, ``"no"``, ...); empty (or None) is None: "not
    given", for parameters whose default follows something else (e.g. how a model archive was trained)."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if not text:
        return None
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    raise InvalidParameterError(
        parameter, f"{parameter}: expected true, false or empty (the default), got {value!r}"
    )


def parse_optional_fraction(value: Any, parameter: str) -> float | None:
    """A number in [0, 1] (``"0.4"`` too); empty (or None) is None: "not given"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            parameter, f"{parameter}: expected a number in [0, 1] or empty, got {value!r}"
        ) from None
    if not 0 <= number <= 1:  # NaN fails too
        raise InvalidParameterError(parameter, f"{parameter}: must be in [0, 1], got {value!r}")
    return number


# Keep a day of margin at both ends of the calendar: windows add a day, and timezones shift by hours.
_FIRST_DAY, _LAST_DAY = dt.date.min + dt.timedelta(days=1), dt.date.max - dt.timedelta(days=1)


def shifted_date(value: str, offset: Any, parameter: str, today: dt.date) -> dt.date:
    """:func:`parse_date` of ``value`` plus ``offset`` days (the parameter ``<parameter>_offset``); a shift
    off the calendar is an error naming the offset, not an OverflowError."""
    day = parse_date(value, parameter, today)
    name = f"{parameter}_offset"
    days = parse_int(offset, name)
    try:
        shifted = day + dt.timedelta(days=days)
    except OverflowError:
        shifted = None
    if shifted is None or not _FIRST_DAY <= shifted <= _LAST_DAY:
        raise InvalidParameterError(name, f"{name}: {days} days from {day} is outside the calendar")
    return shifted


def parse_project_ids(*values: str, parameter: str = "labelstudio_project_id") -> list[int]:
    """Comma lists of Label Studio project ids (several parameters merged, order kept, duplicates dropped)."""
    ids: dict[int, None] = {}
    for value in values:
        for part in split_list(str(value or "")):
            try:
                number = int(part)
            except ValueError:
                raise InvalidParameterError(
                    parameter,
                    f"{parameter}: {part!r} is not a Label Studio project id (expected integers, "
                    "comma-separated, e.g. 12,15)",
                ) from None
            if number <= 0:
                raise InvalidParameterError(parameter, f"{parameter}: project ids are positive, got {number}")
            ids[number] = None
    return list(ids)


def check_text(value: str, parameter: str, max_bytes: int = MAX_TEXT_BYTES) -> None:
    """Refuse text that cannot be stored or sent back: NUL, invalid UTF-8 (lone surrogates), too long."""
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidParameterError(
            parameter,
            f"{parameter}: not valid UTF-8 text (character {exc.start + 1} is a lone surrogate "
            f"{ascii(value[exc.start])})",
        ) from None
    if "\x00" in value:
        raise InvalidParameterError(
            parameter, f"{parameter}: contains a NUL character (at position {value.index(chr(0)) + 1})"
        )
    if size > max_bytes:
        raise InvalidParameterError(
            parameter, f"{parameter}: {size} bytes long (at most {max_bytes} bytes of UTF-8 text)"
        )


def check_uri(value: str, parameter: str, *, web: bool = False) -> None:
    """A location we can read or write: a local path, ``file://`` or ``s3://`` (and ``http(s)://`` where
    ``web``); other schemes such as ``gs://`` are refused now instead of failing inside a step."""
    match = _SCHEME.match((value or "").strip())
    if match is None:
        return
    scheme = match[1].lower()
    allowed = ("file", "s3", "http", "https") if web else ("file", "s3")
    if scheme not in allowed:
        kinds = "a local path, file://, s3://" + (" or http(s)://" if web else "")
        raise InvalidParameterError(
            parameter, f"{parameter}: unsupported URI scheme {scheme + '://'!r} (expected {kinds})"
        )
    if scheme == "s3" and not value.strip()[len("s3://") :].split("/", 1)[0]:
        raise InvalidParameterError(
            parameter, f"{parameter}: {value!r} has no bucket (expected s3://bucket/key)"
        )


# -------------------------------------------------------------------------------------- check kinds


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass(frozen=True)
class Check:
    """One rule over some parameters. It runs only when all of them are among the arguments (a step checks
    the parameters it receives); ``problems`` maps each offending parameter to what is wrong."""

    parameters: tuple[str, ...]

    def applies(self, arguments: Mapping[str, Any]) -> bool:
        return all(name in arguments for name in self.parameters)

    def problems(self, arguments: Mapping[str, Any]) -> dict[str, str]:
        try:
            self.check(arguments)
        except InvalidParameterError as exc:
            return {exc.parameter: str(exc)}
        except ValueError as exc:  # a reused rule that names its parameter at the start of the message
            message = str(exc)
            for name in self.parameters:
                if message.startswith(f"{name}:"):
                    return {name: message}
                if message.startswith(f"{name} "):  # "x must be ..." → "x: must be ...", like every other
                    return {name: f"{name}: {message[len(name) + 1 :]}"}
            return {self.parameters[0]: f"{self.parameters[0]}: {message}"}
        return {}

    def check(self, arguments: Mapping[str, Any]) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Range(Check):
    """A number in ``[minimum, maximum]`` (either bound optional); ``below`` makes ``maximum`` exclusive."""

    minimum: float | None = None
    maximum: float | None = None
    below: bool = False

    def check(self, arguments: Mapping[str, Any]) -> None:
        name = self.parameters[0]
        value = arguments[name]
        too_low = self.minimum is not None and value < self.minimum
        too_high = self.maximum is not None and (
            value >= self.maximum if self.below else value > self.maximum
        )
        if too_low or too_high:
            if self.minimum is not None and self.maximum is not None:
                expected = f"in [{self.minimum}, {self.maximum}{')' if self.below else ']'}"
            elif self.minimum is not None:
                expected = f">= {self.minimum}"
            else:
                expected = f"{'<' if self.below else '<='} {self.maximum}"
            raise InvalidParameterError(name, f"{name}: must be {expected}, got {value!r}")


@dataclass(frozen=True)
class Timezone(Check):
    """An IANA timezone name, or empty for ``SKIT_TIMEZONE``."""

    def check(self, arguments: Mapping[str, Any]) -> None:
        name = self.parameters[0]
        if not _empty(arguments[name]):
            parse_timezone(str(arguments[name]).strip(), name)


@dataclass(frozen=True)
class Uri(Check):
    """A local path, ``file://`` or ``s3://`` URI (``web``: also ``http(s)://``), or empty."""

    web: bool = False

    def check(self, arguments: Mapping[str, Any]) -> None:
        name = self.parameters[0]
        check_uri(str(arguments[name] or ""), name, web=self.web)


@dataclass(frozen=True)
class ProjectIds(Check):
    """A comma list of Label Studio project ids (positive integers), or empty."""

    def check(self, arguments: Mapping[str, Any]) -> None:
        name = self.parameters[0]
        parse_project_ids(str(arguments[name] or ""), parameter=name)


@dataclass(frozen=True)
class Required(Check):
    """A non-empty value."""

    what: str = ""

    def check(self, arguments: Mapping[str, Any]) -> None:
        name = self.parameters[0]
        if _empty(arguments[name]):
            raise InvalidParameterError(name, f"{name}: required" + (f" ({self.what})" if self.what else ""))


@dataclass(frozen=True)
class Rule(Check):
    """An existing domain rule reused as is: ``rule`` is called with these parameters as keywords and
    raises :class:`InvalidParameterError` (or ValueError) for a bad value — no second copy of the rule."""

    rule: Callable[..., Any] | None = None
    optional: tuple[str, ...] = ()  # passed on too where present (e.g. a step's extra switch)

    def check(self, arguments: Mapping[str, Any]) -> None:
        assert self.rule is not None
        names = self.parameters + tuple(name for name in self.optional if name in arguments)
        self.rule(**{name: arguments[name] for name in names})


def text_problems(arguments: Mapping[str, Any]) -> dict[str, str]:
    """:func:`check_text` of every text argument (and of every parameter name), by parameter."""
    problems: dict[str, str] = {}
    for name, value in arguments.items():
        for text in (name, value):
            if isinstance(text, str):
                try:
                    check_text(text, _printable(name))
                except InvalidParameterError as exc:
                    problems[exc.parameter] = str(exc)
                    break
    return problems


def _printable(name: str) -> str:
    """A parameter name that is safe to put in an error answer (escapes what cannot be encoded)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def check_problems(checks: tuple[Check, ...], arguments: Mapping[str, Any]) -> dict[str, str]:
    """Text problems, then the problems of every check that applies; the first problem of a parameter wins."""
    problems = text_problems(arguments)
    for check in checks:
        if check.applies(arguments) and not any(name in problems for name in check.parameters):
            for name, problem in check.problems(arguments).items():
                problems.setdefault(name, problem)
    return problems
