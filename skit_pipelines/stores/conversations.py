"""Generated conversations in the situations registry: which situations to use, prompts, one row each.

The tables are :mod:`skit_pipelines.stores.situations`' (spec 8.2), in ``SKIT_DATABASE_URL``:

- :func:`select_situations` reads the situations a run asked for and sorts them into valid, invalidated
  and unknown; the job fails on unknown ids and skips (and reports) invalidated ones.
- :func:`record_prompt`: one ``prompt_details`` row per prompt (name, version), found again on later runs
  (``INSERT ... ON CONFLICT DO NOTHING`` on the unique (name, version) index, then a read).
- :func:`record_conversations`: one ``generated_conversations`` row per conversation, keyed by its identity;
  a conversation already recorded (a re-run) is counted, not inserted again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from skit_pipelines.config import mask_url_password
from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.stores.situations import (
    SituationsStoreError,
    ensure_tables,
    generated_conversations,
    open_database,
    prompt_details,
    situation_scenario_mapper,
    writer_connection,
)
from skit_pipelines.stores.tables import dialect_insert, failure_summary

__all__ = [
    "ConversationRow",
    "SituationSelection",
    "StoredSituationText",
    "read_generated_conversations",
    "read_prompt_details",
    "record_conversations",
    "record_prompt",
    "select_situations",
]


@dataclass(frozen=True)
class StoredSituationText:
    """A registry row as the generator needs it."""

    situation_id: int
    situation: str
    scenario: str
    scenario_category: str
    is_valid: bool

    @property
    def situation_str(self) -> str:
        """The reference's ``situation_str`` column: the situation as registered."""
        return self.situation


@dataclass(frozen=True)
class SituationSelection:
    """The situations a run asked for: valid ones (by id), invalidated ids, unknown ids."""

    valid: tuple[StoredSituationText, ...]
    invalid: tuple[int, ...]
    missing: tuple[int, ...]


@dataclass(frozen=True)
class ConversationRow:
    """One ``generated_conversations`` row to record."""

    conversation_key: str
    situation_id: int
    link: str
    generator: str
    model: str
    prompt_id: int | None = None
    client_id: str = ""
    template_id: str = ""
    project_name: str = ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _failed(what: str, url: str, exc: Exception) -> SituationsStoreError:
    return SituationsStoreError(f"{what} in {mask_url_password(url)} failed: {failure_summary(exc)}")


def select_situations(
    ids: Sequence[int] = (), category: str = "", *, database_url: str = ""
) -> SituationSelection:
    """The rows of ``ids`` and the valid rows of ``category`` (both optional), by id."""
    table = situation_scenario_mapper
    engine, url = open_database(database_url)
    try:
        ensure_tables(engine)
        with engine.connect() as conn:
            found: dict[int, StoredSituationText] = {}
            conditions = []
            if ids:
                conditions.append(table.c.id.in_(list(ids)))
            if category:
                conditions.append(sa.and_(table.c.scenario_category == category, table.c.is_valid.is_(True)))
            query = sa.select(table).where(sa.or_(*conditions)).order_by(table.c.id) if conditions else None
            for row in conn.execute(query) if query is not None else ():
                found[int(row.id)] = StoredSituationText(
                    int(row.id),
                    row.situation or "",
                    row.scenario or "",
                    row.scenario_category or "",
                    bool(row.is_valid),
                )
    except SkitPipelinesError:
        raise
    except Exception as exc:
        raise _failed("reading situation_scenario_mapper", url, exc) from exc
    finally:
        engine.dispose()
    return SituationSelection(
        valid=tuple(s for s in found.values() if s.is_valid),
        invalid=tuple(i for i in ids if i in found and not found[i].is_valid),
        missing=tuple(i for i in ids if i not in found),
    )


def record_prompt(
    name: str,
    version: str,
    link: str,
    *,
    client_id: str = "",
    template_id: str = "",
    database_url: str = "",
) -> tuple[int, bool]:
    """(id of the ``prompt_details`` row of this prompt version, whether this call inserted it)."""
    table = prompt_details
    engine, url = open_database(database_url)
    try:
        ensure_tables(engine)
        with writer_connection(engine) as conn, conn.begin():
            now = _now()
            inserted = conn.execute(
                dialect_insert(conn.dialect.name, table)
                .values(
                    prompt_name=name,
                    prompt_version=version,
                    links_to_prompt_in_s3=link,
                    client_id=client_id or None,
                    template_id=template_id or None,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=[table.c.prompt_name, table.c.prompt_version])
                .returning(table.c.id)
            ).scalar_one_or_none()
            if inserted is not None:
                return int(inserted), True
            existing = conn.execute(
                sa.select(table.c.id).where(table.c.prompt_name == name, table.c.prompt_version == version)
            ).scalar_one()
            return int(existing), False
    except SkitPipelinesError:
        raise
    except Exception as exc:
        raise _failed("recording the prompt in prompt_details", url, exc) from exc
    finally:
        engine.dispose()


def record_conversations(rows: Sequence[ConversationRow], *, database_url: str = "") -> tuple[int, int]:
    """Insert one row per conversation not recorded yet, in one transaction: (inserted, already there)."""
    table = generated_conversations
    if not rows:
        return 0, 0
    engine, url = open_database(database_url)
    inserted = 0
    try:
        ensure_tables(engine)
        with writer_connection(engine) as conn, conn.begin():
            now = _now()
            for row in sorted(rows, key=lambda r: r.conversation_key):  # one lock order for racing runs
                result = conn.execute(
                    dialect_insert(conn.dialect.name, table)
                    .values(
                        conversation_key=row.conversation_key,
                        situation_id=row.situation_id,
                        prompt_id=row.prompt_id,
                        generated_conversations_s3_link=row.link,
                        generator=row.generator,
                        model=row.model,
                        client_id=row.client_id or None,
                        template_id=row.template_id or None,
                        project_name=row.project_name or None,
                        created_at=now,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=[table.c.conversation_key])
                    .returning(table.c.id)
                ).scalar_one_or_none()
                inserted += result is not None
    except SkitPipelinesError:
        raise
    except Exception as exc:
        raise _failed("recording generated_conversations", url, exc) from exc
    finally:
        engine.dispose()
    return inserted, len(rows) - inserted


def _read(table: sa.Table, database_url: str, where: Iterable[Any] = ()) -> list[dict[str, Any]]:
    engine, _ = open_database(database_url)
    try:
        if not sa.inspect(engine).has_table(table.name):
            return []
        with engine.connect() as conn:
            query = sa.select(table).where(*where).order_by(table.c.id)
            return [dict(row._mapping) for row in conn.execute(query)]
    finally:
        engine.dispose()


def read_generated_conversations(database_url: str = "") -> list[dict[str, Any]]:
    """Every ``generated_conversations`` row, by id ([] when there is no table)."""
    return _read(generated_conversations, database_url)


def read_prompt_details(database_url: str = "") -> list[dict[str, Any]]:
    """Every ``prompt_details`` row, by id ([] when there is no table)."""
    return _read(prompt_details, database_url)
