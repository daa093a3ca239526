"""(a) Sampling 10k calls from a ~1M-turn warehouse vs the raw select of the same rows written with csv.

Baseline: the same turns (same sampled call ids, same columns, one query) fetched through the plain DBAPI
cursor and written with ``csv.writer`` without any conversion. The ratio is the price of everything
``sample_calls_to_csv`` adds: finding matching calls, the seeded reservoir, chunked reads, timezone
conversion and the convenience columns. On PostgreSQL the baseline's driver parses the five JSONB columns into
dicts, which sampling reads as text, so the ratio there is below 1 once the tables have planner statistics
(the demo load runs ``ANALYZE``; see docs/benchmarks.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from pathlib import Path

import sqlalchemy as sa

from bench.common import Measurement, timed
from skit_pipelines.warehouse import schema
from skit_pipelines.warehouse.filters import build_call_filters
from skit_pipelines.warehouse.sampling import sample_call_ids, sample_calls_to_csv

RAW_COLUMNS = (
    "t.call_id, c.uuid, t.id, t.uuid, t.audio_url, t.reftime, t.state, t.utterances, t.context, "
    "t.bot_response, "
    "t.prediction, t.intent, t.intent_score, t.slots, t.entities, c.call_url, c.call_type, c.language, "
    "c.asr_provider, c.call_end_status, c.disposition, c.virtual_number, c.flow_version, c.flow_id, "
    "c.flow_name, c.flow_uuid, c.template_id, c.client_id, c.client_uuid, c.use_case, c.caller_number, "
    "c.reported, t.asr_latency, t.slu_latency, c.call_duration"
)


def raw_select_to_csv(engine: sa.Engine, call_ids: list[int], path: Path) -> int:
    placeholders = ", ".join(str(int(i)) for i in call_ids)  # ints only: safe to inline
    query = (
        f"SELECT {RAW_COLUMNS} FROM turns t JOIN calls c ON c.id = t.call_id "
        f"WHERE t.call_id IN ({placeholders}) ORDER BY c.start_time, t.call_id, t.reftime, t.id"
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(query)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            rows = 0
            while batch := cursor.fetchmany(5000):
                writer.writerows(batch)
                rows += len(batch)
        cursor.close()
        return rows
    finally:
        raw.close()


def bench_sampling(
    url: str, label: str, end_date: dt.date, days: int, quantity: int = 10_000, repeat: int = 3
) -> Measurement:
    engine = schema.create_engine(url)
    filters = build_call_filters(
        lang="en",
        start_date=(end_date - dt.timedelta(days=days - 1)).isoformat(),
        end_date=end_date.isoformat(),
        timezone="UTC",
        end_date_offset=1,
    )
    with tempfile.TemporaryDirectory() as work:
        ours_path, raw_path = Path(work) / "ours.csv", Path(work) / "raw.csv"
        ours_seconds, sample = timed(
            lambda: sample_calls_to_csv(engine, filters, quantity, ours_path, seed=1), repeat
        )
        call_ids, _ = sample_call_ids(engine, filters, quantity, seed=1)
        raw_seconds, raw_rows = timed(lambda: raw_select_to_csv(engine, call_ids, raw_path), repeat)
        size_mb = ours_path.stat().st_size / 1e6
    with engine.connect() as conn:
        total_turns = conn.execute(sa.select(sa.func.count()).select_from(schema.turns)).scalar_one()
    engine.dispose()
    if raw_rows != sample.turns:
        raise AssertionError(f"baseline read {raw_rows} rows, sampling wrote {sample.turns}")
    return Measurement(
        name=f"sample {quantity} calls ({label})",
        seconds=ours_seconds,
        baseline="raw select of the same rows + csv.writer",
        baseline_seconds=raw_seconds,
        extra={
            "warehouse_turns": total_turns,
            "matching_calls": sample.matching_calls,
            "sampled_calls": sample.sampled_calls,
            "turns_written": sample.turns,
            "csv_mb": round(size_mb, 1),
        },
    )
