"""``make bench`` / ``python -m bench``: run the benchmarks and print ratios against same-run baselines.

    python -m bench                 # 190k calls (~1M turns) on SQLite and PostgreSQL
    python -m bench --calls 10000   # a quicker pass
    python -m bench --no-postgres   # where no PostgreSQL server is reachable
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from bench.common import Measurement, machine, save

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
END_DATE = dt.date(2026, 3, 31)
DAYS = 30
console = Console(highlight=False, width=200)


def _postgres_schema_url(base: str) -> tuple[str, str] | None:
    """A fresh schema on the PostgreSQL server (dropped at the end), or None if no server answers."""
    try:
        engine = sa.create_engine(base)
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "no server to benchmark"
        console.print(f"[yellow]PostgreSQL at {base} not reachable ({type(exc).__name__}); skipped[/]")
        return None
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def _drop_schema(base: str, schema: str) -> None:
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _table(results: list[Measurement]) -> Table:
    table = Table("benchmark", "time", "baseline", "baseline time", "ratio", "details", title="benchmarks",
                  title_justify="left")
    for r in results:
        table.add_row(
            r.name, f"{r.seconds:.3f}s", r.baseline or "-",
            f"{r.baseline_seconds:.3f}s" if r.baseline_seconds else "-",
            f"{r.ratio:.2f}x" if r.ratio else "-",
            ", ".join(f"{k}={v}" for k, v in r.extra.items()),
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=190_000, help="calls in the benchmark warehouse (~1M turns)")
    parser.add_argument("--sample", type=int, default=10_000, help="calls to sample")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL benchmarks")
    parser.add_argument("--postgres-url", default=os.environ.get("SKIT_TEST_POSTGRES_URL", DEFAULT_POSTGRES))
    args = parser.parse_args()

    from bench.demo_data import bench_demo_data
    from bench.runner_overhead import bench_runner_overhead
    from bench.sampling import bench_sampling

    console.print("machine: " + ", ".join(f"{k}={v}" for k, v in machine().items()))
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="skit-bench-") as work:
        sqlite_url = f"sqlite:///{Path(work) / 'warehouse.db'}"
        console.print(f"generating {args.calls} calls on SQLite ...")
        results.append(bench_demo_data(sqlite_url, "SQLite", args.calls, END_DATE, DAYS))
        console.print(f"sampling {args.sample} calls on SQLite ...")
        results.append(bench_sampling(sqlite_url, "SQLite", END_DATE, DAYS, args.sample))

        if not args.no_postgres and (pg := _postgres_schema_url(args.postgres_url)):
            pg_url, pg_schema = pg
            try:
                console.print(f"generating {args.calls} calls on PostgreSQL ...")
                results.append(bench_demo_data(pg_url, "PostgreSQL", args.calls, END_DATE, DAYS))
                console.print(f"sampling {args.sample} calls on PostgreSQL ...")
                results.append(bench_sampling(pg_url, "PostgreSQL", END_DATE, DAYS, args.sample))
            finally:
                _drop_schema(args.postgres_url, pg_schema)

        console.print("local runner overhead ...")
        results.append(bench_runner_overhead())

    console.print(_table(results))
    console.print(f"saved {save(results, 'bench')}")


if __name__ == "__main__":
    main()
