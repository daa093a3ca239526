"""Numbers, amounts of money, durations and people counts from short spoken spans.

Why this mix of a library and small tables: ``number-parser`` (Zyte, the authors of dateparser) ships
CLDR-derived number words for English, Hindi (Devanagari, where 1–99 are irregular words), Spanish and
Russian, and we use it word by word as a lexicon. What it lacks and voicebot transcripts are full of —
romanised Hindi (``paanch hazaar``), Tamil, Indian scales (``lakh``, ``crore``), ``dedh``/``saade``
fractions, ``2.5k``, currency symbols and spelled-out account digits (``four five six seven``) — lives in
:mod:`skit_pipelines.entities.lexicon`, and the composition rules below (``fifteen hundred`` = 1500,
``two lakh fifty thousand`` = 250000) are the usual ones for English and Indian numbering.

Every function returns ``None`` when the span is not entirely understood: a wrong number is worse than a
reported failure, since callers list the unparsed spans.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from skit_pipelines.entities import lexicon as lx

_DECIMAL = re.compile(r"^\d+(?:\.\d+)?$")
#: number-parser's languages (it raises for others).
_NUMBER_PARSER_LANGS = ("en", "hi", "es", "ru")

Number = int | float


def tidy(value: float) -> Number:
    """An int when the value is whole (5000.0 → 5000), else the float rounded to 6 decimals."""
    if isinstance(value, int):
        return value
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return int(value)
    return round(value, 6)


def base_language(lang: str | None) -> str:
    """``"en-IN"`` / ``"hi_IN"`` / ``"HI"`` → ``"en"`` / ``"hi"``; empty → ``"en"``."""
    return re.split(r"[-_]", (lang or "en").strip().lower())[0] or "en"


@lru_cache(maxsize=4096)
def word_value(token: str, lang: str = "en") -> Number | None:
    """The number one folded word stands for (``"paanch"`` → 5, ``"veinticinco"`` → 25), or None."""
    if token in lx.NUMBER_WORDS:
        return lx.NUMBER_WORDS[token]  # type: ignore[return-value]
    if not any(ch.isalpha() for ch in token) or any(ch.isdigit() for ch in token):
        return None
    from number_parser import parse_number  # imported lazily: only needed for words outside our tables

    first = base_language(lang)
    for language in dict.fromkeys((first, "en", "hi", "es")):
        if language not in _NUMBER_PARSER_LANGS:
            continue
        try:
            value = parse_number(token, language=language)
        except (ValueError, KeyError):  # pragma: no cover - defensive: library refuses a language
            continue
        if value is not None:
            return value
    return None


def _classify(token: str, lang: str) -> tuple[str, Number | None]:
    if _DECIMAL.match(token):
        return ("digits", float(token) if "." in token else int(token))
    if token in lx.HUNDRED_WORDS:
        return ("hundred", 100)
    if token in lx.SCALE_WORDS:
        return ("scale", lx.SCALE_WORDS[token])  # type: ignore[return-value]
    if token in lx.NUMBER_MODIFIERS:
        return ("modifier", lx.NUMBER_MODIFIERS[token])  # type: ignore[return-value]
    if token in ("a", "an"):
        return ("article", 1)
    value = word_value(token, lang)
    if value is not None:
        if value >= 1000 and value % 1000 == 0 and token not in lx.NUMBER_WORDS:
            return ("scale", value)  # "mil", "हजार", "लाख" from number-parser
        if value == 100:
            return ("hundred", 100)
        return ("word", value)
    if token in lx.NUMBER_FILLERS:
        return ("filler", None)
    return ("unknown", None)


def parse_number_tokens(tokens: list[str], lang: str = "en") -> Number | None:
    """Compose folded tokens into one number; None if any token is not part of a number."""
    classes = [_classify(token, lang) for token in tokens]
    if any(kind == "unknown" for kind, _ in classes):
        return None
    classes = [(kind, value) for kind, value in classes if kind != "filler"]
    if not classes:
        return None
    # Digits read one by one ("4 5 6 7", "four five six seven", "12 34"): concatenate.
    if len(classes) >= 2 and all(
        (kind == "digits" and isinstance(value, int)) or (kind == "word" and value in range(10))
        for kind, value in classes
    ):
        return int("".join(str(value) for _, value in classes))

    total: float = 0
    current: float | None = None
    pending = 0.0
    seen_value = False
    previous = ""
    for index, (kind, value) in enumerate(classes):
        assert value is not None
        if kind == "article":
            following = classes[index + 1][0] if index + 1 < len(classes) else ""
            if following not in ("hundred", "scale"):
                return None
            current = (current or 0) + 1
        elif kind in ("digits", "word"):
            if previous in ("digits", "word") and current is not None and current < value:
                return None  # "five twenty" is not one number
            current = (current or 0) + value + pending
            pending = 0.0
            seen_value = True
        elif kind == "modifier":
            pending += value
        elif kind == "hundred":
            current = (current if current is not None else 1) * 100
            seen_value = True
        elif kind == "scale":
            total += (current if current is not None else 1) * value
            current = None
            seen_value = True
        previous = kind
    if not seen_value or pending:
        return None
    return tidy(total + (current or 0))


def parse_number(text: str, lang: str = "en") -> Number | None:
    """``"5,000"`` → 5000, ``"five thousand"`` → 5000, ``"paanch"`` → 5, ``"2.5k"`` → 2500,
    ``"dedh lakh"`` → 150000, ``"4 5 6 7"`` → 4567; None when the text is not a number."""
    return parse_number_tokens(lx.tokenize(text), lang)


def parse_amount(text: str, lang: str = "en") -> tuple[Number, str | None] | None:
    """(value, ISO currency or None): ``"₹5,000"`` → (5000, "INR"), ``"$250"`` → (250, "USD"),
    ``"paanch hazaar rupaye"`` → (5000, "INR"), ``"5000"`` → (5000, None)."""
    tokens = lx.tokenize(text)
    currencies = {lx.CURRENCY_WORDS[t] for t in tokens if t in lx.CURRENCY_WORDS}
    if len(currencies) > 1:
        return None
    value = parse_number_tokens([t for t in tokens if t not in lx.CURRENCY_WORDS], lang)
    if value is None:
        return None
    return value, (str(currencies.pop()) if currencies else None)


def parse_duration(text: str, lang: str = "en") -> Number | None:
    """Seconds (Duckling's normalisation: month = 30 days, year = 365 days): ``"three months"`` → 7776000,
    ``"dedh ghanta"`` → 5400, ``"an hour and a half"`` → 5400, ``"2 hrs 30 mins"`` → 9000."""
    folded = " ".join(lx.tokenize(text))
    folded = re.sub(r"\bhalf (an|a)\b", "half", folded)
    folded = re.sub(r"\b(and|aur|y) (a )?half\b|\by media\b", "+half", folded)
    folded = re.sub(r"மணி நேரம்", "மணிநேரம்", folded)
    tokens = folded.split()
    total = 0.0
    quantity: list[str] = []
    bonus = 0.0  # "one and a half hours": the half belongs to the quantity before the unit
    last_unit: str | None = None
    for token in tokens:
        if token in lx.UNIT_WORDS:
            unit = str(lx.UNIT_WORDS[token])
            count: Number | None = 1  # a bare unit ("an hour" after the article is dropped, "hour")
            if quantity:
                count = parse_number_tokens(quantity, lang)
                if count is None and quantity[-1] in lx.ARTICLES:
                    count = parse_number_tokens(quantity[:-1], lang) if len(quantity) > 1 else 1
            if count is None:
                return None
            total += (count + bonus) * lx.UNIT_SECONDS[unit]
            quantity, bonus, last_unit = [], 0.0, unit
        elif token == "+half":
            if quantity:
                bonus += 0.5
            elif last_unit is not None:
                total += 0.5 * lx.UNIT_SECONDS[last_unit]
            else:
                return None
        elif token in lx.DURATION_FILLERS and not quantity:
            continue
        else:
            quantity.append(token)
    if quantity or bonus or last_unit is None:
        return None  # a number without a unit, or no unit at all
    return tidy(total)


_PEOPLE_WORDS = frozenset(
    lx.fold(w)
    for w in (
        "people",
        "persons",
        "person",
        "log",
        "logon",
        "लोग",
        "लोगों",
        "adults",
        "adult",
        "guests",
        "guest",
        "members",
        "member",
        "pax",
        "personas",
        "persona",
        "gente",
        "பேர்",
        "நபர்கள்",
        "of",
        "us",
        "for",
        "hum",
        "हम",
        "we",
        "are",
        "jan",
        "जन",
    )
)


def parse_people(text: str, lang: str = "en") -> int | None:
    """A head count: ``"2 people"`` → 2, ``"teen log"`` → 3, ``"for four"`` → 4; None unless whole."""
    tokens = [t for t in lx.tokenize(text) if t not in _PEOPLE_WORDS]
    value = parse_number_tokens(tokens, lang)
    if value is None or value != int(value) or value < 0:
        return None
    return int(value)
