"""The run tracker's database on SQLite and PostgreSQL: one winner per claim, a run final once, its
notifications queued with it, retries scheduled and recorded; and a whole run over HTTP on PostgreSQL (the
other API tests use SQLite)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from skit_pipelines.api.store import RunRecord, RunStore, now_utc
from skit_pipelines.api.webhooks import next_attempt, next_delay
from skit_pipelines.runner.base import RunState
from tests.api_helpers import ApiClient, ThreadedApi, WebhookReceiver
from tests.conftest import SettingsEnv

pytest_plugins = ["tests.api_fixtures"]


@pytest.fixture
def store(db_url: str) -> Iterator[RunStore]:
    store = RunStore.from_url(db_url, create=True)
    yield store
    store.dispose()


def record(run_id: str, **overrides: object) -> RunRecord:
    values: dict = {
        "run_id": run_id,
        "pipeline": "p",
        "namespace": "skit",
        "backend": "local",
        "state": RunState.PENDING,
    }
    values.update(overrides)
    return RunRecord(**values)


def race(times: int, action: Callable[[], Any]) -> list[Any]:
    """Call ``action`` from ``times`` threads at once; what each got."""
    barrier = threading.Barrier(times)
    results: list = [None] * times

    def go(index: int) -> None:
        barrier.wait()
        results[index] = action()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_a_queued_run_is_claimed_by_one_dispatcher(store: RunStore) -> None:
    store.insert_run(record("r1"))
    assert store.queued_local_runs(10) == ["r1"]
    assert sorted(race(6, lambda: store.claim_slots(5)), key=len) == [[]] * 5 + [["r1"]]
    run = store.get_run("r1")
    assert run is not None and run.state == RunState.RUNNING and run.started_at is not None
    assert store.queued_local_runs(10) == [] and store.count_local(RunState.RUNNING) == 1


def test_dispatchers_racing_share_the_worker_slots_of_the_database(store: RunStore) -> None:
    """Eight dispatchers (threads with their own connections, as separate API processes would have) claim at
    the same instant with 3 slots, one already taken: exactly 2 runs start, the oldest ones."""
    store.insert_run(record("busy", state=RunState.RUNNING))
    for index in range(10):
        store.insert_run(record(f"q{index}"))
    claimed = [run_id for got in race(8, lambda: store.claim_slots(3)) for run_id in got]
    assert sorted(claimed) == ["q0", "q1"]
    assert store.count_local(RunState.RUNNING) == 3
    assert store.claim_slots(3) == []


def test_a_run_becomes_final_once_with_its_notifications(store: RunStore) -> None:
    store.insert_run(record("r1", webhook_uri="http://127.0.0.1:1/h", channel="C1", slack_thread="17.1"))
    store.insert_run(record("r2"))  # nothing to notify
    assert store.finish_run("r1", RunState.FAILED, error="boom", error_logs="Traceback ...")
    assert not store.finish_run("r1", RunState.SUCCEEDED)  # a late report changes nothing
    store.update_progress("r1", state=RunState.RUNNING)  # nor does a late progress update
    run = store.get_run("r1")
    assert run is not None and run.state == RunState.FAILED and run.error_logs == "Traceback ..."
    assert [(d.kind, d.status) for d in store.deliveries_of("r1")] == [
        ("slack", "pending"),
        ("webhook", "pending"),
    ]
    assert store.finish_run("r2", RunState.SUCCEEDED, outputs={"uri": "s3://b/k"})
    assert store.deliveries_of("r2") == [] and store.get_run("r2").outputs == {"uri": "s3://b/k"}  # type: ignore[union-attr]


def test_a_delivery_is_claimed_once_and_its_attempts_recorded(store: RunStore) -> None:
    store.insert_run(record("r1", webhook_uri="http://127.0.0.1:1/h"))
    store.finish_run("r1", RunState.SUCCEEDED)
    claims = [c for c in race(6, lambda: store.claim_delivery("r1", "webhook", "me")) if c is not None]
    assert len(claims) == 1
    (delivery,) = claims
    assert store.claim_delivery("r1", "webhook", "other") is None  # being delivered
    later = now_utc() + dt.timedelta(hours=1)
    store.record_attempt(
        delivery,
        ok=False,
        status_code=503,
        error="HTTP 503",
        seconds=0.1,
        outcome="pending",
        next_attempt_at=later,
    )
    assert store.due_deliveries() == []  # not before its time
    assert store.claim_delivery("r1", "webhook", "me") is None
    (pending,) = store.deliveries_of("r1")
    assert pending.status == "pending" and pending.attempts == 1 and pending.last_error == "HTTP 503"

    # A sender that died mid-delivery: its claim goes back after the timeout.
    with store.engine.begin() as conn:
        from skit_pipelines.api import db

        conn.execute(db.deliveries.update().values(next_attempt_at=now_utc()))
    claimed = store.claim_delivery("r1", "webhook", "dead-host:1:x")
    assert claimed is not None
    assert store.release_stale_claims(dt.timedelta(hours=1)) == 0
    assert store.release_stale_claims(dt.timedelta(seconds=-1)) == 1
    again = store.claim_delivery("r1", "webhook", "me")
    assert again is not None and again.attempts == 1
    store.record_attempt(again, ok=True, status_code=200, error="", seconds=0.05, outcome="delivered")
    (done,) = store.deliveries_of("r1")
    assert done.status == "delivered" and done.attempts == 2 and done.delivered_at is not None
    assert [(a["attempt"], a["ok"], a["status_code"]) for a in store.attempts_of("r1", "webhook")] == [
        (1, False, 503),
        (2, True, 200),
    ]


def test_slack_events_are_seen_once(store: RunStore) -> None:
    assert sorted(race(4, lambda: store.first_sight_of_event("Ev1"))) == [False, False, False, True]


def test_retry_schedule_doubles_within_the_window() -> None:
    delays = [next_delay(n, initial=1.0, maximum=10.0) for n in range(1, 7)]
    for delay, base in zip(delays, [1, 2, 4, 8, 10, 10], strict=True):
        assert 0.75 * base <= delay <= 1.25 * base
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert next_attempt(start, 1, window=60, initial=1, maximum=10, now=start) is not None
    assert (
        next_attempt(start, 9, window=60, initial=1, maximum=10, now=start + dt.timedelta(seconds=55)) is None
    )


def test_a_run_over_http_on_postgresql(
    postgres_schema_url: str,
    api_env: None,
    isolated_settings: Path,
    settings_env: SettingsEnv,
) -> None:
    settings_env(SKIT_DATABASE_URL=postgres_schema_url)
    from skit_pipelines.api.endpoints import create_app
    from skit_pipelines.pipelines import PIPELINES
    from tests.api_pipelines import TEST_PIPELINES

    receiver = WebhookReceiver(fail_first=1).start()
    server = ThreadedApi(create_app(pipelines={**PIPELINES, **TEST_PIPELINES})).start()
    try:
        client = ApiClient(server.url)
        assert client.http.get("/").json()["response"]["database"]["backend"] == "postgresql"
        created = client.run("sleep_pipeline", {"seconds": 0.1, "webhook_uri": receiver.url}).json()[
            "response"
        ]
        final = client.wait_final(created["run_id"])
        assert final["response"]["state"] == "SUCCEEDED"
        assert final["response"]["uris"] == ["/tmp/skit-test-artifact.csv"]
        settled = client.wait_delivery(created["run_id"])
        assert len(settled["response"]["notifications"]["webhook"]["attempts"]) == 2
    finally:
        server.stop()
        receiver.stop()
    assert len(receiver.delivered) == 1


def test_text_with_nul_characters_is_stored_with_them_replaced(store: RunStore) -> None:
    """PostgreSQL refuses NUL in text: a step or worker log that printed one must still be recorded."""
    store.insert_run(record("r1", arguments={"note": "a\x00b"}, webhook_uri="http://127.0.0.1/\x00"))
    store.update_progress("r1", step_states={"s\x00": "RUNNING"}, run_dir="/runs/\x00")
    assert store.finish_run("r1", RunState.FAILED, error="bad \x00 byte", error_logs="log\x00tail")
    run = store.get_run("r1")
    assert run is not None and run.state == RunState.FAILED
    assert run.error == "bad \N{REPLACEMENT CHARACTER} byte"
    assert run.error_logs == "log\N{REPLACEMENT CHARACTER}tail"
    assert run.run_dir == "/runs/\N{REPLACEMENT CHARACTER}"
    assert run.arguments == {"note": "a\x00b"} and run.step_states == {"s\x00": "RUNNING"}  # JSON escapes it
