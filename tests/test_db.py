"""One engine factory and one UTC timestamp type for every table in ``SKIT_DATABASE_URL`` (issue 12.4).

The run tracker, the call warehouse and the metrics tables may share one database: their timestamps must
follow one convention, and rows written under the old ones must still read back as the same instants.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from skit_pipelines.api import db as api_db
from skit_pipelines.db import UtcDateTime, create_engine
from skit_pipelines.stores import entity_metrics as entity_store
from skit_pipelines.stores import intent_metrics as metrics_store
from skit_pipelines.warehouse import schema

ALL_METADATA = (schema.metadata, api_db.metadata, metrics_store.metadata, entity_store.metadata)


def test_every_timestamp_column_uses_the_one_utc_type() -> None:
    columns = [
        f"{table.name}.{column.name}"
        for metadata in ALL_METADATA
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, sa.DateTime) and not isinstance(column.type, UtcDateTime)
    ]
    timestamps = [
        column
        for metadata in ALL_METADATA
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, UtcDateTime)
    ]
    assert columns == []
    assert len(timestamps) > 10  # the walk saw the API's, the warehouse's and the metrics' timestamps


def test_rows_of_both_old_conventions_read_back_as_the_same_utc_instants(db_url: str) -> None:
    """The API stored ``DateTime(timezone=True)``, the warehouse naive UTC on SQLite: both read back aware."""
    engine = create_engine(db_url)
    old = sa.MetaData()
    sa.Table(
        "old_rows",
        old,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("api_style", sa.DateTime(timezone=True)),
        sa.Column("warehouse_style", sa.DateTime()),
    )
    instant = dt.datetime(2026, 3, 12, 4, 30, 15, 250000, tzinfo=dt.timezone.utc)
    try:
        old.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                old.tables["old_rows"].insert(),
                {"id": 1, "api_style": instant, "warehouse_style": instant.replace(tzinfo=None)},
            )
        new = sa.Table(
            "old_rows",
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("api_style", UtcDateTime()),
        )
        with engine.connect() as conn:
            row = conn.execute(sa.select(new.c.api_style)).one()
            later = conn.execute(
                sa.select(new.c.id).where(new.c.api_style < instant + dt.timedelta(seconds=1))
            )
            assert later.scalars().all() == [1]  # a bound aware instant compares with the old rows
        assert row.api_style == instant and row.api_style.tzinfo == dt.timezone.utc
        if engine.dialect.name == "sqlite":  # same text on disk under both conventions
            with engine.connect() as conn:
                raw = conn.exec_driver_sql("SELECT api_style, warehouse_style FROM old_rows").one()
            assert raw[0] == raw[1] == "2026-03-12 04:30:15.250000"
    finally:
        engine.dispose()


def test_naive_datetimes_are_refused_with_the_value_named(db_url: str) -> None:
    engine = create_engine(db_url)
    table = sa.Table("stamps", sa.MetaData(), sa.Column("at", UtcDateTime()))
    try:
        table.metadata.create_all(engine)
        with pytest.raises(sa.exc.StatementError, match="naive datetime .*2026, 3, 12"):
            with engine.begin() as conn:
                conn.execute(table.insert(), {"at": dt.datetime(2026, 3, 12)})
    finally:
        engine.dispose()


def _pragmas(engine: sa.Engine) -> dict[str, object]:
    with engine.connect() as conn:
        return {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
        }


def test_one_sqlite_engine_for_the_warehouse_and_the_api(tmp_path: Path) -> None:
    """The warehouse engine now also waits for a locked database (it used to fail at once: busy_timeout 0);
    only bulk loaders relax ``synchronous``."""
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    tracker = create_engine(url)
    schema.create_schema(tracker)
    warehouse = schema.open_warehouse(url)
    try:
        assert _pragmas(tracker) == {
            "journal_mode": "wal",
            "busy_timeout": 30000,
            "foreign_keys": 1,
            "synchronous": 2,
        }
        assert _pragmas(warehouse) == {
            "journal_mode": "wal",
            "busy_timeout": 30000,
            "foreign_keys": 1,
            "synchronous": 1,
        }
    finally:
        tracker.dispose()
        warehouse.dispose()


def test_immediate_writers_take_the_lock_at_begin(tmp_path: Path) -> None:
    """``immediate=True`` starts BEGIN IMMEDIATE on every engine of ours: a second writer waits (here: times
    out quickly) instead of deadlocking later when both upgrade read locks."""
    url = f"sqlite:///{tmp_path / 'locks.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    try:
        with engine.connect() as first:
            first.execution_options(immediate=True)
            with first.begin():
                with engine.connect() as second:
                    second.connection.driver_connection.execute("PRAGMA busy_timeout=50")
                    second.execution_options(immediate=True)
                    with pytest.raises(sa.exc.OperationalError, match="locked"):
                        second.begin()
    finally:
        engine.dispose()
