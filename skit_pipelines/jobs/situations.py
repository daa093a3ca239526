"""The steps of ``add_llm_situations`` and ``invalidate_llm_situations_in_db``: read, write, report.

Why a job: reading a situations file (an artifact), writing the registry (a store) and writing the CSV of
ids (an artifact) are I/O around the pure parsing of :mod:`skit_pipelines.situations`; components call one
function here, tests call it directly. The database is the metrics database (``SKIT_DATABASE_URL``),
passed in by the component from its settings (empty: the runtime configuration's).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from skit_pipelines import storage
from skit_pipelines.parameters import InvalidParameterError
from skit_pipelines.situations import (
    InvalidationOutcome,
    Situation,
    parse_situation_ids,
    parse_situations,
    parse_situations_file,
)
from skit_pipelines.stores.situations import (
    Invalidation,
    StoredSituation,
    add_situations,
    invalidate_situations,
)

__all__ = [
    "AddedSituations",
    "InvalidateRequest",
    "InvalidatedSituations",
    "add_llm_situations",
    "invalidate_llm_situations",
    "invalidate_request_from",
    "read_situations_input",
]

CSV_COLUMNS = ("situation_id", "situation", "scenario", "scenario_category", "new")
INVALIDATED_MESSAGE = "is_valid has been set to False for the situations : {ids}"
"""The reference's Slack text, kept word for word (people search their channels for it)."""


def read_situations_input(situations: str, situations_path: str) -> tuple[Situation, ...]:
    """The situations of the ``situations`` parameter and of the file at ``situations_path``, each once.

    Either may be empty, not both. A file that cannot be parsed fails naming the parameter and its rows.
    """
    found: list[Situation] = []
    if (situations or "").strip():
        found.extend(parse_situations(situations))
    if (situations_path or "").strip():
        text = storage.read_text(situations_path)
        try:
            found.extend(parse_situations_file(situations_path, text))
        except ValueError as exc:
            raise InvalidParameterError("situations_path", f"situations_path: {exc}") from None
    if not found:
        raise InvalidParameterError(
            "situations", "situations: required, or situations_path (situation::scenario::CATEGORY entries)"
        )
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class AddedSituations:
    """What ``add_llm_situations`` did: every situation's row, and where the CSV of them is."""

    situations: tuple[StoredSituation, ...]
    uri: str

    @property
    def added(self) -> int:
        return sum(s.new for s in self.situations)

    @property
    def reused(self) -> int:
        return len(self.situations) - self.added

    @property
    def ids(self) -> str:
        return ",".join(str(s.situation_id) for s in self.situations)

    @property
    def message(self) -> str:
        lines = [
            f"{len(self.situations)} situation(s): {self.added} added, {self.reused} already registered "
            f"(reused). situation_id_list: {self.ids}"
        ]
        for s in self.situations:
            lines.append(
                f"- {s.situation_id}{' (new)' if s.new else ''}: "
                f"{s.situation}::{s.scenario}::{s.scenario_category}"
            )
        return "\n".join(lines)


def _csv(rows: tuple[StoredSituation, ...]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow((row.situation_id, row.situation, row.scenario, row.scenario_category, row.new))
    return out.getvalue().encode("utf-8")


def add_llm_situations(
    situations: str = "",
    situations_path: str = "",
    *,
    database_url: str = "",
    reference: str = "llm_situations",
) -> AddedSituations:
    """Register the situations (an existing valid identical row is reused) and write the CSV of their ids."""
    wanted = read_situations_input(situations, situations_path)
    stored = tuple(add_situations(wanted, database_url))
    uri = storage.upload_bytes(_csv(stored), reference=reference, file_type="situations", ext=".csv")
    return AddedSituations(stored, uri)


@dataclass(frozen=True)
class InvalidateRequest:
    """What ``invalidate_llm_situations_in_db`` was asked, checked: built once in the component."""

    ids: tuple[int, ...]
    reason: str = ""
    invalidated_by: str = ""
    ignore_missing: bool = False


def invalidate_request_from(
    situation_id_list: str, reason: str = "", notify: str = "", ignore_missing: bool = False
) -> InvalidateRequest:
    """The request of the step's parameters; the ids are checked here, before any database is opened.

    ``invalidated_by`` is who asked: the Slack bot puts the requesting user in ``notify``; without it the
    audit says the pipeline did it.
    """
    return InvalidateRequest(
        ids=parse_situation_ids(situation_id_list),
        reason=(reason or "").strip(),
        invalidated_by=(notify or "").strip() or "invalidate_llm_situations_in_db",
        ignore_missing=bool(ignore_missing),
    )


@dataclass(frozen=True)
class InvalidatedSituations:
    """The outcome of one invalidation request, with its Slack text."""

    result: Invalidation

    def count(self, outcome: InvalidationOutcome) -> int:
        return self.result.count(outcome)

    @property
    def message(self) -> str:
        invalidated = self.result.ids(InvalidationOutcome.INVALIDATED)
        already = self.result.ids(InvalidationOutcome.ALREADY_INVALID)
        missing = self.result.ids(InvalidationOutcome.NOT_FOUND)
        counts = f"{len(invalidated)} invalidated, {len(already)} already invalid, {len(missing)} not found"
        lines = []
        if invalidated:
            lines.append(INVALIDATED_MESSAGE.format(ids=",".join(map(str, invalidated))))
        else:
            lines.append("Nothing changed: no valid situation among the ids given.")
        lines.append(counts + ".")
        if already:
            lines.append(f"Already invalid (left as they were): {','.join(map(str, already))}")
        if missing:
            lines.append(f"Not found (ignored): {','.join(map(str, missing))}")
        return "\n".join(lines)

    def outcomes_json(self) -> str:
        """``{id: outcome}`` as JSON (the step's ``outcomes`` output)."""
        return json.dumps({str(i): outcome.value for i, outcome in self.result.outcomes})


def invalidate_llm_situations(request: InvalidateRequest, *, database_url: str = "") -> InvalidatedSituations:
    """Invalidate the request's ids in one transaction (``stores.situations.invalidate_situations``)."""
    return InvalidatedSituations(
        invalidate_situations(
            request.ids,
            reason=request.reason,
            invalidated_by=request.invalidated_by,
            ignore_missing=request.ignore_missing,
            database_url=database_url,
        )
    )
