"""The LLM situations registry: situation_scenario_mapper, prompt_details, generated_conversations.

Tables of spec 8.2 in the database of ``SKIT_DATABASE_URL`` (SQLite embedded, PostgreSQL in production),
created when first used, like the metrics tables, and upgraded additively when an older table (the
reference's, which lacked ``is_valid`` altogether: spec 14 item 21) is found.

``situation_scenario_mapper`` has the reference's columns plus an audit trail of invalidation
(``invalidated_at``, ``invalidated_by``, ``invalidation_reason``) and ``situation_key``: a SHA-256 of the
normalised entry, unique among *valid* rows (a partial unique index). Why a key and not an index on the
three texts: PostgreSQL refuses b-tree keys over about 2.7 kB, and situations are sentences. Why the index:
two runs adding the same situation at the same time must end with one row. Inserts are
``INSERT ... ON CONFLICT (situation_key) WHERE is_valid DO NOTHING`` on both backends (SQLite writers are
serialised by ``BEGIN IMMEDIATE`` too), and the existing valid row is read back when nothing was inserted.
An invalidated row no longer holds its key in the index, so adding the same text again creates a fresh row,
as in the reference.

Invalidation runs in one transaction: the rows are locked (``FOR UPDATE`` on PostgreSQL), every id gets an
outcome, and when an id is unknown (and missing ids are not ignored) nothing is changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from skit_pipelines.config import mask_url_password
from skit_pipelines.db import UtcDateTime, create_engine, ensure_sqlite_parent
from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.situations import InvalidationOutcome, Situation, situation_from_parts
from skit_pipelines.stores.tables import database_url_or_default, dialect_insert, failure_summary

__all__ = [
    "Invalidation",
    "SituationsStoreError",
    "StoredSituation",
    "UnknownSituationsError",
    "add_situations",
    "ensure_tables",
    "generated_conversations",
    "invalidate_situations",
    "open_database",
    "prompt_details",
    "read_situations",
    "situation_key",
    "situation_scenario_mapper",
    "writer_connection",
]

metadata = sa.MetaData()

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

situation_scenario_mapper = sa.Table(
    "situation_scenario_mapper",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("situation", sa.Text, nullable=False),
    sa.Column("scenario", sa.Text),
    sa.Column("scenario_category", sa.String(511)),
    sa.Column("created_at", UtcDateTime()),
    sa.Column("updated_at", UtcDateTime()),
    sa.Column("is_valid", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("invalidated_at", UtcDateTime()),
    sa.Column("invalidated_by", sa.Text),
    sa.Column("invalidation_reason", sa.Text),
    sa.Column("situation_key", sa.String(64)),
)
_VALID_KEY = sa.Index(
    "uq_situation_scenario_mapper_valid_key",
    situation_scenario_mapper.c.situation_key,
    unique=True,
    postgresql_where=situation_scenario_mapper.c.is_valid,
    sqlite_where=situation_scenario_mapper.c.is_valid,
)

prompt_details = sa.Table(
    "prompt_details",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(200)),
    sa.Column("template_id", sa.String(200)),
    sa.Column("links_to_prompt_in_s3", sa.Text),
    sa.Column("created_at", UtcDateTime()),
    sa.Column("updated_at", UtcDateTime()),
    # which template (name, version) the row is: one row per prompt version (stores/conversations.py)
    sa.Column("prompt_name", sa.String(200)),
    sa.Column("prompt_version", sa.String(200)),
)
_PROMPT_VERSION = sa.Index(
    "uq_prompt_details_name_version",
    prompt_details.c.prompt_name,
    prompt_details.c.prompt_version,
    unique=True,
)

generated_conversations = sa.Table(
    "generated_conversations",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("situation_id", _ID, sa.ForeignKey("situation_scenario_mapper.id"), nullable=False),
    sa.Column("client_id", sa.String(200)),
    sa.Column("template_id", sa.String(200)),
    sa.Column("prompt_id", _ID, sa.ForeignKey("prompt_details.id")),
    sa.Column("generated_conversations_s3_link", sa.Text),
    sa.Column("project_name", sa.Text),
    sa.Column("created_at", UtcDateTime()),
    sa.Column("updated_at", UtcDateTime()),
    # one row per conversation: its identity (conversations.model.conversation_key) and what made it
    sa.Column("conversation_key", sa.String(64)),
    sa.Column("generator", sa.String(50)),
    sa.Column("model", sa.Text),
    sa.Index("ix_generated_conversations_situation_id", "situation_id"),
)
_CONVERSATION_KEY = sa.Index(
    "uq_generated_conversations_key", generated_conversations.c.conversation_key, unique=True
)

_LOCK_KEY = 0x5C1751  # pg_advisory_xact_lock key: one schema creation/upgrade at a time


class SituationsStoreError(SkitPipelinesError, RuntimeError):
    """The situations tables could not be opened, created or written; names the (masked) database."""


class UnknownSituationsError(SkitPipelinesError, LookupError):
    """Ids to invalidate that are not in ``situation_scenario_mapper``; nothing was changed."""

    def __init__(self, missing: Sequence[int]) -> None:
        self.missing = tuple(missing)
        super().__init__(
            f"situation_id_list: no situation with id {', '.join(map(str, self.missing))} in "
            "situation_scenario_mapper; nothing was changed (ignore_missing=true invalidates the others)"
        )

    def __str__(self) -> str:  # LookupError's KeyError-like quoting is not wanted
        return str(self.args[0])

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.missing,))


@dataclass(frozen=True)
class StoredSituation:
    """A row of the registry as ``add_llm_situations`` reports it; ``new``: inserted by this call."""

    situation_id: int
    situation: str
    scenario: str
    scenario_category: str
    new: bool


@dataclass(frozen=True)
class Invalidation:
    """What invalidating a list of ids did: each id's outcome, in the order given."""

    outcomes: tuple[tuple[int, InvalidationOutcome], ...]

    def ids(self, outcome: InvalidationOutcome) -> tuple[int, ...]:
        return tuple(situation_id for situation_id, got in self.outcomes if got is outcome)

    def count(self, outcome: InvalidationOutcome) -> int:
        return len(self.ids(outcome))


def situation_key(situation: Situation) -> str:
    """The identity of a normalised entry in the unique index (hex SHA-256 of its three parts)."""
    text = "\x1f".join((situation.situation, situation.scenario, situation.scenario_category))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def open_database(database_url: str) -> tuple[sa.Engine, str]:
    url = database_url_or_default(database_url)
    try:
        ensure_sqlite_parent(url)
        return create_engine(url), url
    except Exception as exc:
        raise SituationsStoreError(f"cannot open the database {mask_url_password(url)}: {exc}") from exc


def writer_connection(engine: sa.Engine) -> sa.Connection:
    """A connection whose transactions take SQLite's write lock at BEGIN (no-op on PostgreSQL)."""
    return engine.connect().execution_options(immediate=True)


def _backfill_keys(conn: sa.Connection) -> None:
    """Give legacy rows (written without ``situation_key``) their key, oldest row first.

    A row whose normalised entry is already held by an older valid row keeps no key: it stays as it was
    (the reference may have raced into duplicates) and is never matched; invalidating it still works.
    """
    table = situation_scenario_mapper
    taken = set(
        conn.execute(sa.select(table.c.situation_key).where(table.c.situation_key.is_not(None))).scalars()
    )
    legacy = conn.execute(
        sa.select(
            table.c.id, table.c.situation, table.c.scenario, table.c.scenario_category, table.c.is_valid
        )
        .where(table.c.situation_key.is_(None))
        .order_by(table.c.id)
    ).all()
    for row in legacy:
        try:
            key = situation_key(
                situation_from_parts(
                    row.situation, row.scenario, row.scenario_category, where=f"row {row.id}"
                )
            )
        except ValueError:
            continue  # an empty scenario or category: not an entry anyone can add again
        if row.is_valid and key in taken:
            continue
        if row.is_valid:
            taken.add(key)
        conn.execute(sa.update(table).where(table.c.id == row.id).values(situation_key=key))


def _add_missing_columns(conn: sa.Connection, table: sa.Table) -> None:
    """Columns an older ``table`` lacks, added (never dropped); new columns are nullable or defaulted."""
    present = {column["name"] for column in sa.inspect(conn).get_columns(table.name)}
    for column in table.columns:
        if column.name not in present:  # is_valid arrives NOT NULL DEFAULT TRUE: old rows are valid
            ddl = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {ddl}")


def _upgrade(conn: sa.Connection) -> None:
    """Columns and the index an older ``situation_scenario_mapper`` lacks, added (never dropped)."""
    table = situation_scenario_mapper
    _add_missing_columns(conn, table)
    if {index["name"] for index in sa.inspect(conn).get_indexes(table.name)} & {_VALID_KEY.name}:
        return
    _backfill_keys(conn)
    _VALID_KEY.create(conn, checkfirst=True)


def ensure_tables(engine: sa.Engine) -> None:
    """Create the three tables if absent and upgrade older ones, one process at a time.

    Older ``prompt_details`` / ``generated_conversations`` tables (the reference's, or this package's before
    conversations were generated) get the new columns and unique indexes; their old rows keep NULL there,
    which a unique index allows any number of times.
    """
    with writer_connection(engine) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))
        inspector = sa.inspect(conn)
        if inspector.has_table(situation_scenario_mapper.name):
            _upgrade(conn)
        for table, index in ((prompt_details, _PROMPT_VERSION), (generated_conversations, _CONVERSATION_KEY)):
            if inspector.has_table(table.name):
                _add_missing_columns(conn, table)
                index.create(conn, checkfirst=True)
        metadata.create_all(conn, checkfirst=True)


def _insert(dialect_name: str) -> Any:
    return dialect_insert(dialect_name, situation_scenario_mapper)


def _add_one(conn: sa.Connection, situation: Situation, key: str) -> tuple[int, bool]:
    table = situation_scenario_mapper
    now = _now()
    values = {
        "situation": situation.situation,
        "scenario": situation.scenario,
        "scenario_category": situation.scenario_category,
        "created_at": now,
        "updated_at": now,
        "is_valid": True,
        "situation_key": key,
    }
    statement = (
        _insert(conn.dialect.name)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[table.c.situation_key], index_where=table.c.is_valid)
        .returning(table.c.id)
    )
    inserted = conn.execute(statement).scalar_one_or_none()
    if inserted is not None:
        return int(inserted), True
    existing = conn.execute(
        sa.select(table.c.id).where(table.c.situation_key == key, table.c.is_valid.is_(True))
    ).scalar_one()
    return int(existing), False


def add_situations(situations: Sequence[Situation], database_url: str = "") -> list[StoredSituation]:
    """Each situation's id: its existing valid row, else a new one; in the order given, one transaction.

    Rows are inserted in key order, so two runs adding overlapping lists lock the index in the same order
    (no deadlock); a concurrent insert of the same key makes this one wait and then reuse that row.
    """
    engine, url = open_database(database_url)
    keys = {situation: situation_key(situation) for situation in situations}
    try:
        ensure_tables(engine)
        found: dict[Situation, tuple[int, bool]] = {}
        with writer_connection(engine) as conn, conn.begin():
            for situation in sorted(keys, key=keys.__getitem__):
                found[situation] = _add_one(conn, situation, keys[situation])
    except SkitPipelinesError:
        raise
    except Exception as exc:
        raise SituationsStoreError(
            f"adding {len(keys)} situations to situation_scenario_mapper in {mask_url_password(url)} "
            f"failed: {failure_summary(exc)}"
        ) from exc
    finally:
        engine.dispose()
    return [
        StoredSituation(found[s][0], s.situation, s.scenario, s.scenario_category, found[s][1])
        for s in situations
    ]


def invalidate_situations(
    ids: Sequence[int],
    *,
    reason: str = "",
    invalidated_by: str = "",
    ignore_missing: bool = False,
    database_url: str = "",
) -> Invalidation:
    """Set ``is_valid = FALSE`` (with who, when and why) on ``ids``, in one transaction.

    Each id is *invalidated*, *already invalid* (left as it was: its first invalidation's audit is kept)
    or *not found*. Unknown ids raise :class:`UnknownSituationsError` with nothing changed, unless
    ``ignore_missing``.
    """
    table = situation_scenario_mapper
    engine, url = open_database(database_url)
    try:
        ensure_tables(engine)
        with writer_connection(engine) as conn, conn.begin():
            query = sa.select(table.c.id, table.c.is_valid).where(table.c.id.in_(list(ids)))
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            state = {int(row.id): bool(row.is_valid) for row in conn.execute(query)}
            missing = [i for i in ids if i not in state]
            if missing and not ignore_missing:
                raise UnknownSituationsError(missing)
            valid = [i for i in ids if state.get(i)]
            if valid:
                now = _now()
                conn.execute(
                    sa.update(table)
                    .where(table.c.id.in_(valid), table.c.is_valid.is_(True))
                    .values(
                        is_valid=False,
                        updated_at=now,
                        invalidated_at=now,
                        invalidated_by=invalidated_by or None,
                        invalidation_reason=reason or None,
                    )
                )
    except SkitPipelinesError:
        raise
    except Exception as exc:
        raise SituationsStoreError(
            f"invalidating situations in {mask_url_password(url)} failed: {failure_summary(exc)}"
        ) from exc
    finally:
        engine.dispose()
    outcomes = tuple(
        (
            i,
            InvalidationOutcome.NOT_FOUND
            if i not in state
            else InvalidationOutcome.INVALIDATED
            if state[i]
            else InvalidationOutcome.ALREADY_INVALID,
        )
        for i in ids
    )
    return Invalidation(outcomes)


def read_situations(database_url: str = "", ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Rows of ``situation_scenario_mapper`` (optionally only ``ids``), by id; [] when there is no table."""
    table = situation_scenario_mapper
    engine, _ = open_database(database_url)
    try:
        if not sa.inspect(engine).has_table(table.name):
            return []
        query = sa.select(table).order_by(table.c.id)
        if ids is not None:
            query = query.where(table.c.id.in_(list(ids)))
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
    finally:
        engine.dispose()
