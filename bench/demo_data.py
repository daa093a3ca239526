"""(b) Demo-data generation rate, in turns per second, against a bulk insert of pre-built rows.

Baseline: inserting the same number of minimal turn rows (pre-built dicts, no generation) with the same
executemany path, so the ratio shows what the generator itself costs on top of the database's write speed.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from bench.common import Measurement, timed
from skit_pipelines.warehouse import schema
from skit_pipelines.warehouse.demo_data import generate_demo_warehouse

UTC = dt.timezone.utc


def _bulk_insert_baseline(url: str, calls: int, turns: int) -> None:
    engine = schema.create_engine(url)
    schema.drop_schema(engine)
    schema.create_schema(engine)
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    per_call = max(1, turns // calls)
    with engine.begin() as conn:
        for offset in range(0, calls, 5000):
            ids = range(offset + 1, min(calls, offset + 5000) + 1)
            conn.execute(
                schema.calls.insert(),
                [
                    {
                        "id": i,
                        "uuid": f"c{i}",
                        "client_id": "1",
                        "language": "en",
                        "call_type": "INBOUND",
                        "start_time": start,
                        "timezone": "UTC",
                    }
                    for i in ids
                ],
            )
            conn.execute(
                schema.turns.insert(),
                [
                    {
                        "id": i * 100 + k,
                        "uuid": f"t{i}-{k}",
                        "call_id": i,
                        "reftime": start,
                        "utterances": [[{"transcript": "yes", "confidence": 0.9}]],
                        "intent": "_confirm_",
                    }
                    for i in ids
                    for k in range(per_call)
                ],
            )
    engine.dispose()


def bench_demo_data(url: str, label: str, calls: int, end_date: dt.date, days: int) -> Measurement:
    seconds, summary = timed(
        lambda: generate_demo_warehouse(url, calls=calls, seed=1, end_date=end_date, days=days)
    )
    baseline_url = url + ("-baseline" if url.startswith("sqlite") else "")
    if url.startswith("sqlite"):
        baseline_url = url.removesuffix(".db") + "-baseline.db"
        baseline_seconds, _ = timed(lambda: _bulk_insert_baseline(baseline_url, calls, summary.turns))
    else:
        baseline_seconds = 0.0
    return Measurement(
        name=f"demo data: {calls} calls, {summary.turns} turns ({label})",
        seconds=seconds,
        baseline="bulk insert of as many minimal pre-built rows" if baseline_seconds else "",
        baseline_seconds=baseline_seconds,
        extra={
            "turns_per_second": round(summary.turns / seconds),
            "calls": summary.calls,
            "turns": summary.turns,
        },
    )


def count_turns(url: str) -> int:
    engine = schema.create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(schema.turns)).scalar_one()
    engine.dispose()
    return n
