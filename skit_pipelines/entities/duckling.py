"""Entity values from a Duckling server (``SKIT_DUCKLING_URL``), mapped to our value formats.

Protocol (Duckling's ``exe/ExampleMain.hs``): ``POST {url}/parse`` with form fields ``text``, ``locale``
(``ll_RR``; Duckling falls back to English for anything else, so without a region we send only ``lang``),
``dims`` (a JSON list of dimension names), ``reftime`` (epoch milliseconds, an integer), ``tz`` (an IANA
name) and ``latent=true`` (the annotator already said the span *is* a time/number, so Duckling's latent
readings such as a bare ``5`` are wanted). The answer is a JSON list of ``{body, start, end, dim, latent,
value}``; values are ``{"type": "value", "value": ..., "grain"?, "unit"?}``, ``{"type": "interval", "from":
{...}, "to": {...}}``, and for durations ``{"value", "unit", "normalized": {"value": seconds, "unit":
"second"}}``.

Mapping: temporal values are converted into the turn's timezone and rendered like the in-process parser's
(a ``time`` needs an hour/minute/second grain); durations use ``normalized.value``, always seconds (the
reference mixed milliseconds and seconds); an ``amount`` asks for ``amount-of-money`` and ``number`` and
prefers money, so ``5000`` labelled as an amount still parses (currency ``None``). Duckling's
``$``/``£``/``€`` units become ``USD``/``GBP``/``EUR``.

Why httpx + tenacity: httpx is our HTTP client (pooled connections, timeouts); tenacity retries connection
errors and 5xx answers with exponential back-off. When retries are exhausted a :class:`DucklingError`
names the URL: an unreachable parser must fail the run, not turn every span into an "unparsed" problem.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import httpx
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from skit_pipelines.entities import lexicon as lx
from skit_pipelines.entities import temporal
from skit_pipelines.entities.model import (
    AMOUNT,
    DURATION,
    NUMBER,
    PARSED_TYPES,
    PEOPLE,
    TEMPORAL_TYPES,
    canonical_type,
)
from skit_pipelines.entities.numbers import base_language, tidy
from skit_pipelines.entities.parser import EntityParser, ParsedValue
from skit_pipelines.errors import SkitPipelinesError

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
ATTEMPTS = 3
_FINE_GRAINS = frozenset({"hour", "minute", "second"})
_INDIAN_LANGUAGES = frozenset({"hi", "ta", "te", "kn", "ml", "mr", "bn", "gu", "pa", "or", "as", "ur"})


class DucklingError(SkitPipelinesError, RuntimeError):
    """Duckling could not be reached, or answered something that is not its /parse protocol."""


class _ServerError(SkitPipelinesError):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}: {response.text[:200]}")
        self.response = response


def duckling_dims(entity_type: str) -> list[str]:
    """Duckling dimensions to ask for, in order of preference; empty for categorical types."""
    kind = canonical_type(entity_type)
    if kind in TEMPORAL_TYPES:
        return ["time"]
    if kind == DURATION:
        return ["duration"]
    if kind in (NUMBER, PEOPLE):
        return ["number"]
    if kind == AMOUNT:
        return ["amount-of-money", "number"]
    return []


def duckling_locale(lang: str, timezone: str = "") -> str | None:
    """``ll_RR`` for Duckling, or None when no region can be told (then only ``lang`` is sent).

    The region comes from ``lang`` (``en-US``, ``hi_IN``) or else the turn's timezone (Asia/Kolkata → IN,
    America/* → US, Europe/London → GB); Indian languages default to IN.
    """
    parts = lang.replace("-", "_").split("_") if lang else ["en"]
    base = base_language(lang)
    region = parts[1].upper() if len(parts) > 1 and parts[1] else ""
    if not region:
        if timezone in ("Asia/Kolkata", "Asia/Calcutta"):
            region = "IN"
        elif timezone.startswith("America/") and base == "en":
            region = "US"
        elif timezone == "Europe/London":
            region = "GB"
        elif base in _INDIAN_LANGUAGES:
            region = "IN"
    return f"{base}_{region}" if region else None


def timezone_name(reftime: dt.datetime) -> str:
    """The IANA name Duckling needs; a bare UTC offset other than 0 cannot be named."""
    temporal.require_aware(reftime)
    key = getattr(reftime.tzinfo, "key", None)
    if key:
        return str(key)
    if reftime.utcoffset() == dt.timedelta(0):
        return "UTC"
    raise ValueError(
        f"reftime {reftime.isoformat()} carries a fixed offset, not a named timezone; Duckling needs an IANA "
        "name (use zoneinfo.ZoneInfo('Asia/Kolkata') etc.)"
    )


class DucklingParser(EntityParser):
    """``parse_value`` through a Duckling server; see the module docstring for the protocol and mapping."""

    def __init__(
        self,
        url: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        attempts: int = ATTEMPTS,
        backoff: float = 0.2,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"SKIT_DUCKLING_URL must be an http(s) URL, got {url!r}")
        self.url = url.rstrip("/")
        self.attempts = attempts
        self.backoff = backoff
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    # -- protocol ------------------------------------------------------------------------------------
    def request(self, text: str, dims: list[str], reftime: dt.datetime, lang: str) -> list[dict[str, Any]]:
        """Duckling's raw answer for ``text`` (a list of entities)."""
        tz = timezone_name(reftime)
        form = {
            "text": text,
            "lang": base_language(lang),
            "dims": json.dumps(dims),
            "reftime": str(int(reftime.timestamp() * 1000)),
            "tz": tz,
            "latent": "true",
        }
        locale = duckling_locale(lang, tz)
        if locale:
            form["locale"] = locale
        endpoint = f"{self.url}/parse"

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, httpx.TransportError | _ServerError)

        def attempt() -> httpx.Response:
            response = self._http.post(endpoint, data=form)
            if response.status_code >= 500:
                raise _ServerError(response)
            return response

        retrying = Retrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=5.0),
            before_sleep=lambda state: logger.warning(
                "Duckling at %s failed (%s); retry %d of %d",
                self.url,
                state.outcome.exception() if state.outcome else "?",
                state.attempt_number,
                self.attempts - 1,
            ),
            reraise=False,
        )
        try:
            response = retrying(attempt)
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            raise DucklingError(
                f"Duckling at {self.url} is unreachable or failing after {self.attempts} attempts: "
                f"{type(cause).__name__}: {cause}"
            ) from cause
        if response.status_code != 200:
            raise DucklingError(
                f"Duckling at {self.url} rejected the request (HTTP {response.status_code}): "
                f"{response.text[:200]}"
            )
        try:
            answer = response.json()
        except ValueError as exc:
            raise DucklingError(f"Duckling at {self.url} answered non-JSON: {response.text[:200]!r}") from exc
        if not isinstance(answer, list):
            raise DucklingError(
                f"Duckling at {self.url} answered {type(answer).__name__}, expected a JSON list"
            )
        return answer

    # -- mapping -------------------------------------------------------------------------------------
    def parse_value(self, entity_type: str, text: str, reftime: dt.datetime, lang: str) -> ParsedValue | None:
        kind = canonical_type(entity_type)
        text = str(text).strip()
        if kind not in PARSED_TYPES:
            return ParsedValue(text) if text else None
        if not text:
            return None
        dims = duckling_dims(kind)
        answer = self.request(text, dims, reftime, lang)
        entities = [e for e in answer if isinstance(e, dict) and e.get("dim") in dims]
        if not entities:
            return None
        best = min(entities, key=lambda e: (dims.index(e["dim"]), -_span(e), e.get("start", 0)))
        value = best.get("value")
        if not isinstance(value, dict):
            return None
        return map_value(kind, value, reftime)


def _span(entity: dict[str, Any]) -> int:
    try:
        return int(entity.get("end", 0)) - int(entity.get("start", 0))
    except (TypeError, ValueError):
        return 0


def map_value(kind: str, value: dict[str, Any], reftime: dt.datetime) -> ParsedValue | None:
    """One Duckling value object → our value (None when it cannot stand for ``kind``)."""
    if kind in TEMPORAL_TYPES:
        resolved = _temporal(value, reftime)
        rendered = None if resolved is None else temporal.render(resolved, kind, reftime)
        return None if rendered is None else ParsedValue(rendered)
    if kind == DURATION:
        seconds = duration_seconds(value)
        return None if seconds is None else ParsedValue(seconds)
    if kind == AMOUNT:
        return _amount(value)
    number = _number(value)
    if number is None:
        return None
    if kind == PEOPLE:
        return ParsedValue(int(number)) if number == int(number) and number >= 0 else None
    return ParsedValue(number)


def _temporal(value: dict[str, Any], reftime: dt.datetime) -> temporal.Temporal | None:
    if value.get("type") == "interval":
        start = _point(value.get("from"), reftime)
        end = _point(value.get("to"), reftime)
        return temporal.Interval(start, end) if (start or end) else None
    return _point(value, reftime)


def _point(side: Any, reftime: dt.datetime) -> temporal.Point | None:
    if not isinstance(side, dict) or not isinstance(side.get("value"), str):
        return None
    try:
        moment = dt.datetime.fromisoformat(side["value"].replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment.astimezone(reftime.tzinfo) if moment.tzinfo else moment
    fine = side.get("grain", "second") in _FINE_GRAINS
    return temporal.Point(moment.date(), moment.time().replace(microsecond=0, tzinfo=None) if fine else None)


def duration_seconds(value: dict[str, Any]) -> int | float | None:
    """``normalized.value`` (seconds), or ``value`` × the unit's length without a normalisation."""
    normalized = value.get("normalized")
    if (
        isinstance(normalized, dict)
        and normalized.get("unit") == "second"
        and _is_number(normalized.get("value"))
    ):
        return tidy(float(normalized["value"]))
    unit = str(value.get("unit", ""))
    if unit in lx.UNIT_SECONDS and _is_number(value.get("value")):
        return tidy(float(value["value"]) * lx.UNIT_SECONDS[unit])
    return None


def _number(value: dict[str, Any]) -> int | float | None:
    return tidy(float(value["value"])) if _is_number(value.get("value")) else None


def currency_code(unit: Any) -> str | None:
    """ISO 4217 for a Duckling/production unit: ``$`` → ``USD``, ``inr`` → ``INR``; None when empty."""
    if not unit:
        return None
    text = str(unit).strip()
    return lx.DUCKLING_UNITS.get(text.lower(), text.upper())


def _amount(value: dict[str, Any]) -> ParsedValue | None:
    if value.get("type") == "interval":
        sides = {key: value[key] for key in ("from", "to") if isinstance(value.get(key), dict)}
        parsed = {key: _amount(side) for key, side in sides.items()}
        parsed = {key: side for key, side in parsed.items() if side is not None}
        if not parsed:
            return None
        units = {side.unit for side in parsed.values()}
        values = {key: side.value for key, side in parsed.items()}
        return ParsedValue(values, units.pop() if len(units) == 1 else None)
    number = _number(value)
    if number is None:
        return None
    currency = currency_code(value.get("unit"))
    if currency == "CENT":  # Duckling's "cent": a hundredth of an unnamed currency
        return ParsedValue(tidy(number / 100), None)
    return ParsedValue(number, currency)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
