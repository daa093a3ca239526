"""LLM situations as text: parsing, normalising and checking what users send (spec 8.2, issue 15).

A *situation* is the seed of a synthetic debt-collection conversation: ``situation::scenario::CATEGORY``,
e.g. ``customer lost job last month::asks for more time::PAYMENT_DELAY``. The registry
(``situation_scenario_mapper``, :mod:`skit_pipelines.stores.situations`) keeps one valid row per distinct
normalised entry; the pipelines ``add_llm_situations`` and ``invalidate_llm_situations_in_db`` write it.

Why a pure module: the pipeline checks (CLI, API, Slack), the steps and the tests all parse the same text the
same way, before anything touches a database. Nothing here reads files, settings or tables: the job reads
an artifact and hands its text to :func:`parse_situations_file`.

Normalisation is the reference's (``validate_and_add_situations_to_db``): situation and scenario lower-case,
category upper-case; on top of it, surrounding whitespace is stripped and runs of whitespace inside a part
become one space (so ``"Lost  job"`` and ``"lost job"`` name one situation, as a reader would expect).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from skit_pipelines.parameters import InvalidParameterError

__all__ = [
    "ENTRY_DELIMITERS",
    "PART_SEPARATOR",
    "InvalidationOutcome",
    "Situation",
    "parse_situation_ids",
    "parse_situations",
    "parse_situations_file",
    "situation_from_parts",
]

PART_SEPARATOR = "::"
"""Between the situation, the scenario and the category of one entry (the reference's separator)."""

ENTRY_DELIMITERS = ("\n", "|")
"""Between entries of the ``situations`` parameter: a new line or ``|`` (a JSON list of entries works too).

Why not a comma: situations are sentences and have commas in them; ``|`` never occurs in one in practice,
and is easy to type on a command line and in Slack."""

_ENTRY_SPLIT = re.compile(r"[\n|]")
_SPACES = re.compile(r"\s+")
MAX_CATEGORY_CHARS = 511  # scenario_category VARCHAR(511), the reference's column
MAX_PART_CHARS = 4000


@dataclass(frozen=True, order=True)
class Situation:
    """One normalised entry: what the registry stores and matches on."""

    situation: str
    scenario: str
    scenario_category: str

    def __str__(self) -> str:
        return PART_SEPARATOR.join((self.situation, self.scenario, self.scenario_category))


class InvalidationOutcome(str, Enum):
    """What invalidating one id did."""

    INVALIDATED = "invalidated"
    ALREADY_INVALID = "already invalid"
    NOT_FOUND = "not found"


def _clean(text: Any) -> str:
    return _SPACES.sub(" ", str(text if text is not None else "")).strip()


def situation_from_parts(situation: Any, scenario: Any, scenario_category: Any, *, where: str) -> Situation:
    """A :class:`Situation` from its three parts, normalised; an error naming ``where`` when one is empty."""
    parts = {
        "situation": _clean(situation),
        "scenario": _clean(scenario),
        "scenario_category": _clean(scenario_category),
    }
    missing = [name for name, value in parts.items() if not value]
    if missing:
        raise ValueError(f"{where}: empty {', '.join(missing)} (expected situation::scenario::CATEGORY)")
    too_long = [name for name, value in parts.items() if len(value) > MAX_PART_CHARS]
    if too_long or len(parts["scenario_category"]) > MAX_CATEGORY_CHARS:
        raise ValueError(
            f"{where}: too long ({', '.join(too_long) or 'scenario_category'}; at most {MAX_PART_CHARS} "
            f"characters per part, {MAX_CATEGORY_CHARS} for the category)"
        )
    return Situation(
        situation=parts["situation"].lower(),
        scenario=parts["scenario"].lower(),
        scenario_category=parts["scenario_category"].upper(),
    )


def _from_entry(entry: str, where: str) -> Situation:
    parts = entry.split(PART_SEPARATOR)
    if len(parts) != 3:
        raise ValueError(
            f"{where} {_shown(entry)} has {len(parts)} part(s); expected situation::scenario::CATEGORY"
        )
    return situation_from_parts(*parts, where=f"{where} {_shown(entry)}")


def _shown(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _unique(situations: Iterable[Situation]) -> tuple[Situation, ...]:
    return tuple(dict.fromkeys(situations))


def _entries(value: str) -> list[str]:
    text = value.strip()
    if text.startswith("["):  # a JSON list: what the Slack bot sends for a list of entries
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"looks like a JSON list but does not parse: {exc.msg} at {exc.pos}") from None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValueError("a JSON list of situations must hold strings (situation::scenario::CATEGORY)")
        return [item for item in items if item.strip()]
    return [part for part in _ENTRY_SPLIT.split(text) if part.strip()]


def parse_situations(value: str, parameter: str = "situations") -> tuple[Situation, ...]:
    """The entries of the ``situations`` parameter, normalised, duplicates (after normalising) once.

    Entries are separated by a new line or ``|`` (or given as a JSON list); each is
    ``situation::scenario::CATEGORY``. Every bad entry is named in one error (nothing is half-accepted).
    """
    try:
        entries = _entries(value or "")
    except ValueError as exc:
        raise InvalidParameterError(parameter, f"{parameter}: {exc}") from None
    if not entries:
        raise InvalidParameterError(
            parameter, f"{parameter}: no situations given (situation::scenario::CATEGORY)"
        )
    situations, problems = [], []
    for number, entry in enumerate(entries, start=1):
        try:
            situations.append(_from_entry(entry, f"entry {number}"))
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidParameterError(parameter, f"{parameter}: " + "; ".join(problems))
    return _unique(situations)


_COLUMNS = ("situation", "scenario", "scenario_category")


def _from_records(records: Sequence[Any], name: str) -> tuple[Situation, ...]:
    situations, problems = [], []
    for number, record in enumerate(records, start=1):
        where = f"{name} item {number}"
        try:
            if isinstance(record, str):
                situations.append(_from_entry(record, where))
            elif isinstance(record, dict):
                missing = [column for column in _COLUMNS if column not in record]
                if missing:
                    raise ValueError(f"{where}: missing {', '.join(missing)}")
                situations.append(situation_from_parts(*(record[c] for c in _COLUMNS), where=where))
            else:
                raise ValueError(f"{where}: expected a string or an object, got {type(record).__name__}")
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("; ".join(problems))
    if not situations:
        raise ValueError(f"{name}: no situations in the file")
    return _unique(situations)


def parse_situations_file(name: str, text: str) -> tuple[Situation, ...]:
    """The situations of a file's ``text``, by the extension of ``name``.

    - ``.csv``: a header with ``situation, scenario, scenario_category`` (other columns ignored);
    - ``.json``: a list of ``"situation::scenario::CATEGORY"`` strings or of objects with the three keys;
    - anything else: one ``situation::scenario::CATEGORY`` entry per line.
    Errors (ValueError) name the file and every bad row.
    """
    lower = name.lower().split("?")[0]
    if lower.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name}: not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, list):
            raise ValueError(f"{name}: expected a JSON list of situations")
        return _from_records(data, name)
    if lower.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        missing = [column for column in _COLUMNS if column not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(
                f"{name}: missing column(s) {', '.join(missing)} "
                f"(has {', '.join(reader.fieldnames or ()) or 'none'})"
            )
        rows = [row for row in reader if any((row.get(c) or "").strip() for c in _COLUMNS)]
        return _from_records(rows, name)
    lines = [line for line in text.splitlines() if line.strip()]
    return _from_records(lines, name)


def parse_situation_ids(situation_id_list: Any, parameter: str = "situation_id_list") -> tuple[int, ...]:
    """The ids of a comma list (``"3, 5,7"``), each once, in order; an error naming every bad item.

    Why strict: the reference turned each item with ``int()`` one by one and committed as it went, so a bad
    item in the middle left half of the list invalidated; here nothing is changed unless every item is a
    positive integer.
    """
    text = "" if situation_id_list is None else str(situation_id_list)
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        raise InvalidParameterError(
            parameter, f"{parameter}: required (a comma list of situation ids, e.g. 3,5)"
        )
    bad = [item for item in items if not item.isascii() or not item.isdigit() or int(item) <= 0]
    bad = [item for item in bad if item]  # "3,,5" and a trailing comma are forgiven
    if bad:
        raise InvalidParameterError(
            parameter,
            f"{parameter}: not positive integer ids: {', '.join(_shown(item, 40) for item in bad)}",
        )
    return tuple(dict.fromkeys(int(item) for item in items if item))
