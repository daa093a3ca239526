"""``make bench`` / ``python -m bench``: run the benchmarks and print ratios against same-run baselines.

    python -m bench                 # everything; warehouse: 190k calls (~1M turns) on SQLite and PostgreSQL
    python -m bench --calls 10000   # a quicker pass
    python -m bench --only eval,api # groups: warehouse, runner, eval, annotation, api, retrain, compliance
    python -m bench --no-postgres   # where no PostgreSQL server is reachable

The model benchmark (BANKING77 training, ~15 min) is separate: ``make bench-models``.
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
    except Exception as exc:
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
    table = Table(
        "benchmark",
        "time",
        "baseline",
        "baseline time",
        "ratio",
        "details",
        title="benchmarks",
        title_justify="left",
    )
    for r in results:
        table.add_row(
            r.name,
            f"{r.seconds:.3f}s",
            r.baseline or "-",
            f"{r.baseline_seconds:.3f}s" if r.baseline_seconds else "-",
            f"{r.ratio:.2f}x" if r.ratio else "-",
            ", ".join(f"{k}={v}" for k, v in r.extra.items()),
        )
    return table


def _warehouse(args: argparse.Namespace) -> list[Measurement]:
    from bench.demo_data import bench_demo_data
    from bench.sampling import bench_sampling

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
    return results


GROUPS = ("warehouse", "runner", "eval", "annotation", "api", "retrain", "compliance")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--calls", type=int, default=190_000, help="calls in the benchmark warehouse (~1M turns)"
    )
    parser.add_argument("--sample", type=int, default=10_000, help="calls to sample")
    parser.add_argument(
        "--compliance-calls",
        type=int,
        default=5000,
        help="calls in the compliance benchmark's warehouse (~9%% of them debt-collection audit calls)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL benchmarks")
    parser.add_argument("--postgres-url", default=os.environ.get("SKIT_TEST_POSTGRES_URL", DEFAULT_POSTGRES))
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma list of groups: {', '.join(GROUPS)}")
    args = parser.parse_args()
    groups = {g.strip() for g in args.only.split(",") if g.strip()}
    unknown = groups - set(GROUPS)
    if unknown:
        parser.error(f"--only: unknown group(s) {', '.join(sorted(unknown))} (known: {', '.join(GROUPS)})")

    from skit_pipelines import runtime
    from skit_pipelines.config import get_settings

    # An entry point. The benchmarks switch SKIT_HOME / SKIT_ARTIFACT_ROOT between groups (and clear the
    # settings cache): the runtime follows the settings at each use, as in the test suite.
    runtime.configure(lambda: get_settings().runtime())

    from bench.annotation import bench_annotation_local
    from bench.api_load import bench_api_load, bench_login_flood
    from bench.compliance import bench_compliance
    from bench.entity_eval import bench_entity_eval
    from bench.intent_eval import bench_intent_eval
    from bench.retrain import bench_retrain
    from bench.runner_overhead import bench_runner_overhead

    console.print("machine: " + ", ".join(f"{k}={v}" for k, v in machine().items()))
    results: list[Measurement] = []
    if "warehouse" in groups:
        results += _warehouse(args)
    if "runner" in groups:
        console.print("local runner overhead ...")
        results.append(bench_runner_overhead())
    if "eval" in groups:
        console.print("intent evaluation, 1M rows x 300 labels ...")
        results.append(bench_intent_eval())
        console.print("entity evaluation, 1M turns ...")
        results.append(bench_entity_eval())
    if "annotation" in groups:
        console.print("Label Studio upload/download of 10k turns ...")
        results += bench_annotation_local()
    if "api" in groups:
        console.print("HTTP API under 50 concurrent clients ...")
        results += bench_api_load()
        console.print("HTTP API during a login flood of 60 connections ...")
        results += bench_login_flood()
    if "retrain" in groups:
        console.print("retrain_slu overhead around training (MiniLM, 1,500 rows, 2 epochs) ...")
        results.append(bench_retrain())
    if "compliance" in groups:
        console.print(f"compliance audit on the demo ground truth ({args.compliance_calls} calls) ...")
        results += bench_compliance(args.compliance_calls)

    console.print(_table(results))
    console.print(f"saved {save(results, 'bench')}")


if __name__ == "__main__":
    main()
