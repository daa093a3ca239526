"""The warehouse schema round-trips timezone-aware times and JSON on SQLite and PostgreSQL."""

import datetime as dt

import pytest
import sqlalchemy as sa

from skit_pipelines.warehouse import schema


def test_schema_round_trip(db_url: str) -> None:
    engine = schema.create_engine(db_url)
    schema.create_schema(engine)
    ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
    with engine.begin() as conn:
        call_id = conn.execute(
            schema.calls.insert().values(
                uuid="c1",
                client_id="7",
                language="en",
                call_type="INBOUND",
                start_time=dt.datetime(2026, 1, 1, 10, 0, tzinfo=ist),
                timezone="Asia/Kolkata",
            )
        ).inserted_primary_key[0]
        conn.execute(
            schema.turns.insert().values(
                uuid="t1",
                call_id=call_id,
                reftime=dt.datetime(2026, 1, 1, 10, 0, 5, tzinfo=ist),
                utterances=[[{"transcript": "yes", "confidence": 0.9}]],
            )
        )
        start = conn.execute(sa.select(schema.calls.c.start_time)).scalar_one()
        utterances = conn.execute(sa.select(schema.turns.c.utterances)).scalar_one()
    assert start == dt.datetime(2026, 1, 1, 4, 30, tzinfo=dt.UTC)
    assert start.tzinfo is not None
    assert utterances == [[{"transcript": "yes", "confidence": 0.9}]]
    engine.dispose()


def test_naive_datetime_is_rejected(tmp_path) -> None:
    engine = schema.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    schema.create_schema(engine)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), engine.begin() as conn:
        conn.execute(
            schema.calls.insert().values(
                uuid="c1",
                client_id="7",
                language="en",
                call_type="INBOUND",
                start_time=dt.datetime(2026, 1, 1),
                timezone="UTC",
            )
        )


def test_unknown_call_type_is_rejected(tmp_path) -> None:
    engine = schema.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    schema.create_schema(engine)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            schema.calls.insert().values(
                uuid="c1",
                client_id="7",
                language="en",
                call_type="PHONE",
                start_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                timezone="UTC",
            )
        )
