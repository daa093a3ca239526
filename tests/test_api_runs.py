"""Run control on real servers: worker slots shared by API processes on one database, a watcher that a
poisoned row cannot stall (and a health check that says when the queue does stall), canceling, idempotent
creation, the "started" webhook, failure payloads and runs whose worker was killed."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from skit_pipelines.api import db
from skit_pipelines.api.store import DISPATCH_LOCK_KEY, RunRecord, RunStore
from skit_pipelines.api.workers import pid_alive
from skit_pipelines.config import get_settings
from skit_pipelines.db import create_engine
from skit_pipelines.runner.base import RunState
from tests.api_helpers import ApiClient, SubprocessApi, ThreadedApi, WebhookReceiver, wait_for
from tests.conftest import SettingsEnv, free_port

if TYPE_CHECKING:
    from tests.fakes.kfp_server import FakeKfpServer
    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.api_fixtures", "tests.fakes.kfp_server", "tests.fakes.slack_server"]

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def database(request: pytest.FixtureRequest, settings_env: SettingsEnv, tmp_path: Path) -> str:
    """The API's database: ``sqlite`` (a file) or ``postgresql`` (a fresh schema), as parametrised."""
    if request.param == "postgresql":
        settings_env(SKIT_DATABASE_URL=request.getfixturevalue("postgres_schema_url"))
    else:
        settings_env(SKIT_DATABASE_URL=f"sqlite:///{tmp_path / 'runs.db'}")
    return get_settings().effective_database_url


def threaded_api() -> ThreadedApi:
    from skit_pipelines.api.endpoints import create_app
    from skit_pipelines.pipelines import PIPELINES
    from tests.api_pipelines import TEST_PIPELINES

    return ThreadedApi(create_app(pipelines={**PIPELINES, **TEST_PIPELINES})).start()


@pytest.fixture
def served(api_env: None, isolated_settings: Path, database: str) -> Iterator[tuple[ThreadedApi, ApiClient]]:
    server = threaded_api()
    client = ApiClient(server.url)
    yield server, client
    client.http.close()
    server.stop()


def most_at_once(journal: Path) -> int:
    """The most steps running at the same instant, from the start/end lines the steps appended."""
    events = []
    for line in journal.read_text().splitlines():
        event, at = line.split()
        events.append((float(at), 1 if event == "start" else -1))
    current = peak = 0
    for _, change in sorted(events):  # an end and a start at the same instant: the end first
        current += change
        peak = max(peak, current)
    return peak


def worker_of(store: RunStore, run_id: str) -> RunRecord:
    return wait_for(
        lambda: (run := store.get_run(run_id)) is not None and run.worker_pid and run, 60, what="a worker"
    )


# -- 11.2: one worker limit per database -------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_two_api_processes_on_one_database_share_its_worker_slots(
    api_env: None, isolated_settings: Path, database: str, tmp_path: Path, settings_env: SettingsEnv
) -> None:
    settings_env(SKIT_API_WORKERS="2")
    store = RunStore.from_url(database, create=True)
    apis = [SubprocessApi("tests.api_app:app", free_port(), tmp_path / f"api-{i}.log") for i in range(2)]
    try:
        clients = [ApiClient(api.start().url) for api in apis]
        run_ids = []
        journal = tmp_path / "steps.journal"
        for index in range(6):
            response = clients[index % 2].run("sleep_pipeline", {"seconds": 3.0, "journal": str(journal)})
            assert response.status_code == 200, response.text
            run_ids.append(response.json()["response"]["run_id"])
        for run_id in run_ids:
            assert clients[0].wait_final(run_id, timeout=200)["response"]["state"] == "SUCCEEDED"
        assert len(journal.read_text().splitlines()) == 12
        assert most_at_once(journal) == 2  # both slots used, never a third run
    finally:
        for api in apis:
            api.kill()
        store.dispose()


# -- 11.4: a poisoned row does not stall the queue; health says when the queue stalls ---------------------
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_nul_in_a_dead_workers_log_does_not_stall_the_queue(
    served: tuple[ThreadedApi, ApiClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, client = served
    store = server.app.state.ctx.service.store
    poisoned = client.run("sleep_pipeline", {"seconds": 120}).json()["response"]["run_id"]
    run = worker_of(store, poisoned)
    wait_for(lambda: client.status(poisoned).json()["response"]["steps"].get("sleep-step") == "RUNNING", 60)
    log = server.app.state.ctx.watcher.pool.log_path(poisoned)
    with open(log, "ab") as handle:  # what a crashing native library may print
        handle.write(b"segfault in \x00\x00 libfoo\n")
    queued = [client.run("sleep_pipeline", {"seconds": 0.1}).json()["response"]["run_id"] for _ in range(2)]
    os.killpg(run.worker_pid, signal.SIGKILL)

    final = client.wait_final(poisoned, timeout=60)["response"]
    assert final["state"] == "FAILED"
    assert "segfault in \N{REPLACEMENT CHARACTER}\N{REPLACEMENT CHARACTER} libfoo" in final["error_logs"]
    for run_id in queued:
        assert client.wait_final(run_id, timeout=120)["response"]["state"] == "SUCCEEDED"
    queue = client.http.get("/").json()["response"]["queue"]
    assert queue["ok"] is True and queue["state"] == "moving" and "failing" not in queue


@contextmanager
def dispatch_lock_held(url: str) -> Iterator[None]:
    """Hold what every dispatcher needs to claim a slot, as a stuck dispatcher in another process would:
    SQLite's write lock, or PostgreSQL's dispatch advisory lock."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sa.engine.make_url(url).database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_lock(DISPATCH_LOCK_KEY)))
        try:
            yield
        finally:
            conn.execute(sa.select(sa.func.pg_advisory_unlock(DISPATCH_LOCK_KEY)))
    engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_health_reports_a_queue_whose_watcher_cannot_move(
    served: tuple[ThreadedApi, ApiClient], database: str
) -> None:
    server, client = served
    assert client.http.get("/").json()["response"]["queue"]["state"] == "moving"
    stall_after = server.app.state.ctx.watcher.stall_after
    with dispatch_lock_held(database):

        def stalled() -> dict[str, Any] | None:
            answer = client.http.get("/")
            return answer.json() if answer.status_code == 503 else None

        body = wait_for(stalled, stall_after + 30, 0.2, "health to report the stalled queue")
        queue = body["response"]["queue"]
        assert body["status"] == "error" and queue["ok"] is False and queue["state"] == "stalled"
        assert "queue" in body["response"]["message"]
        assert "has not completed a cycle" in queue["error"] or "has failed" in queue["error"]
    wait_for(lambda: client.http.get("/").status_code == 200, 60, 0.2, "health to recover")


# -- 11.8: canceling ------------------------------------------------------------------------------------
def cancel(client: ApiClient, run_id: str, namespace: str = "skit") -> Any:
    return client.http.post(f"/{namespace}/pipelines/runs/{run_id}/cancel", headers=client.auth())


def test_queued_and_running_local_runs_are_canceled_and_their_callers_told_once(
    api_env: None, isolated_settings: Path, settings_env: SettingsEnv, webhook: WebhookReceiver
) -> None:
    settings_env(SKIT_API_WORKERS="1")  # the second run waits in the queue
    server = threaded_api()
    client = ApiClient(server.url)
    try:
        store = server.app.state.ctx.service.store
        running = client.run("sleep_pipeline", {"seconds": 120, "webhook_uri": webhook.url}).json()
        queued = client.run("sleep_pipeline", {"seconds": 120, "webhook_uri": webhook.url}).json()
        running_id, queued_id = running["response"]["run_id"], queued["response"]["run_id"]
        worker = worker_of(store, running_id)
        wait_for(lambda: client.status(running_id).json()["response"]["steps"].get("sleep-step") == "RUNNING")

        answer = cancel(client, queued_id)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "error" and answer.json()["response"]["state"] == "CANCELED"
        answer = cancel(client, running_id)
        assert answer.status_code == 200, answer.text
        result = answer.json()["response"]
        assert result["state"] == "CANCELED" and result["message"] == "Run canceled."
        assert result["steps"] == {"sleep-step": "CANCELED"} and result["failed_step"] == "sleep-step"
        assert result["file_path"] is None and result["s3_path"] is None
        # The worker and its step are stopped, not left running beside a CANCELED run.
        wait_for(lambda: not pid_alive(worker.worker_pid), 30, what="the worker to stop")

        again = cancel(client, running_id)
        assert again.status_code == 409
        assert "already finished (CANCELED)" in again.json()["response"]["message"]
        assert cancel(client, "no-such-run").status_code == 404

        for run_id in (queued_id, running_id):
            client.wait_delivery(run_id)
        never_started = store.get_run(queued_id)
        assert never_started is not None and never_started.started_at is None and not never_started.worker_pid
        client.wait_final(running_id)  # a late result from the dying worker cannot change the state
        assert client.status(running_id).json()["response"]["state"] == "CANCELED"
        bodies = sorted((r.json for r in webhook.delivered), key=lambda b: b["response"]["run_id"])
        assert [b["response"]["run_id"] for b in bodies] == sorted([queued_id, running_id])
        for body in bodies:
            assert body["status"] == "error" and body["response"]["message"] == "Run canceled."
    finally:
        client.http.close()
        server.stop()
    assert len(webhook.requests) == 2


def test_a_worker_stops_its_steps_when_its_run_is_canceled_by_an_api_on_another_host(
    client: ApiClient, api: ThreadedApi
) -> None:
    store = api.app.state.ctx.service.store
    run_id = client.run("sleep_pipeline", {"seconds": 120}).json()["response"]["run_id"]
    worker = worker_of(store, run_id)
    wait_for(lambda: client.status(run_id).json()["response"]["steps"].get("sleep-step") == "RUNNING", 60)
    process = api.app.state.ctx.watcher.pool.processes[run_id]
    # What a cancel on another host writes (it cannot signal a process here): the run is final.
    assert store.finish_run(run_id, RunState.CANCELED, error="Run canceled.")
    assert process.wait(30) != 0  # stopped at its next heartbeat (every 0.5 s here)
    wait_for(lambda: not group_alive(worker.worker_pid), 30, what="the step processes to stop")
    assert client.status(run_id).json()["response"]["state"] == "CANCELED"


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_kubeflow_run_is_terminated_on_the_cluster_when_canceled(
    kfp_server: FakeKfpServer, slack_server: FakeSlackServer, client: ApiClient, webhook: WebhookReceiver
) -> None:
    kfp_server.script_run(("RUNNING", {"fetch-calls": "RUNNING"}), run_id="kfp-run-7")
    thread = {"channel": "C0CHAN", "slack_thread": "1700000000.000001"}
    body = {"lang": "en", "webhook_uri": webhook.url, **thread}
    created = client.run("fetch_calls_pipeline", body).json()["response"]
    wait_for(lambda: client.status(created["run_id"]).json()["response"]["state"] == "RUNNING", 30)

    answer = cancel(client, created["run_id"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["response"]["state"] in ("CANCELING", "CANCELED")
    assert len(kfp_server.calls("POST", r"/apis/v2beta1/runs/kfp-run-7:terminate")) == 1

    final = client.wait_final(created["run_id"])["response"]
    assert final["state"] == "CANCELED" and final["message"] == "Run canceled."
    client.wait_delivery(created["run_id"])
    (payload,) = [r.json for r in webhook.delivered]
    assert payload["status"] == "error" and payload["response"]["message"] == "Run canceled."
    assert cancel(client, created["run_id"]).status_code == 409
    client.wait_delivery(created["run_id"], "slack")
    (post,) = slack_server.calls("chat.postMessage")  # the Slack thread is told too, once
    assert post.args["thread_ts"] == thread["slack_thread"]
    assert "fetch_calls_pipeline: Run canceled.>" in post.args["text"]


# -- retry --
def retry(client: ApiClient, run_id: str, namespace: str = "skit", user: str = "alice") -> Any:
    return client.http.post(f"/{namespace}/pipelines/runs/{run_id}/retry", headers=client.auth(user))


def test_retry_starts_a_new_run_with_byte_identical_arguments_under_the_cancel_rules(
    client: ApiClient, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    text = 'python3 {{$.inputs}} "q" \\ tab\t é 🙂 \n line '
    out = tmp_path / "echo.json"
    body = {"text": text, "out_path": str(out), "webhook_uri": webhook.url}
    first = client.run("echo_pipeline", body).json()["response"]["run_id"]
    client.wait_final(first)
    out.unlink()

    answer = retry(client, first)
    assert answer.status_code == 200, answer.text
    created = answer.json()["response"]
    assert created["retry_of"] == first and created["run_id"] != first and created["name"] == "echo_pipeline"
    final = client.wait_final(created["run_id"])["response"]
    original = client.status(first).json()["response"]
    assert final["state"] == "SUCCEEDED"
    assert json.dumps(final["arguments"], sort_keys=True) == json.dumps(original["arguments"], sort_keys=True)
    assert json.loads(out.read_text(encoding="utf-8"))["text"].encode() == text.encode()
    assert final["source"] == original["source"] and final["webhook_uri"] == original["webhook_uri"]
    client.wait_delivery(created["run_id"])  # the retried run tells the same webhook

    assert retry(client, "no-such-run").status_code == 404
    assert retry(client, first, namespace="team-b").status_code == 404  # runs live in their namespace
    refused = retry(client, first, user="bob")  # bob may use team-b only
    assert refused.status_code == 403, refused.text
    assert client.http.post(f"/skit/pipelines/runs/{first}/retry").status_code == 401


# -- 11.8: idempotent creation ---------------------------------------------------------------------------
def create(
    client: ApiClient, body: dict[str, Any], key: str, user: str = "alice", namespace: str = "skit"
) -> Any:
    return client.http.post(
        f"/{namespace}/pipelines/run/sleep_pipeline/",
        json=body,
        headers={**client.auth(user), "Idempotency-Key": key},
    )


def test_an_idempotency_key_returns_the_first_run_and_refuses_a_different_body(client: ApiClient) -> None:
    first = create(client, {"seconds": 0.1}, "order-42")
    assert first.status_code == 200, first.text
    run_id = first.json()["response"]["run_id"]
    again = create(client, {"seconds": 0.1}, "order-42")
    assert again.status_code == 200 and again.json()["response"]["run_id"] == run_id
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers

    other = create(client, {"seconds": 0.2}, "order-42")
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["response"]["message"]
    # Keys belong to a user in a namespace: the same key elsewhere is a new run.
    elsewhere = create(client, {"seconds": 0.1}, "order-42", user="bob", namespace="team-b")
    assert elsewhere.status_code == 200 and elsewhere.json()["response"]["run_id"] != run_id

    too_long = create(client, {"seconds": 0.1}, "k" * 201)
    assert too_long.status_code == 400 and "Idempotency-Key" in too_long.json()["response"]["errors"]

    # Concurrent retries of one request create one run.
    from tests.test_api_store import race

    answers = race(6, lambda: create(ApiClient(client.url), {"seconds": 0.1}, "order-43"))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["response"]["run_id"] for a in answers}) == 1
    listed = client.http.get("/skit/pipelines/runs", headers=client.auth()).json()["response"]
    assert listed["total"] == 2


# -- 11.8: the "pending" webhook and the failure payload -------------------------------------------------
def test_a_run_that_asks_for_it_gets_a_pending_webhook_first_and_null_paths_on_failure(
    client: ApiClient, webhook: WebhookReceiver
) -> None:
    missing = client.run("fail_pipeline", {"notify_pending": True})
    assert missing.status_code == 400 and "notify_pending" in missing.json()["response"]["errors"]

    created = client.run(
        "fail_pipeline", {"message": "no", "webhook_uri": webhook.url, "notify_pending": True}
    )
    run_id = created.json()["response"]["run_id"]
    client.wait_final(run_id)
    settled = client.wait_delivery(run_id)["response"]["notifications"]
    assert settled["webhook_pending"]["status"] == "delivered" and settled["webhook"]["status"] == "delivered"

    started, final = [r for r in webhook.delivered]
    assert started.headers["x-skit-delivery"] == f"{run_id}:pending"
    assert started.json["status"] == "pending"
    assert started.json["response"]["message"] == "Run in progress."
    assert started.json["response"]["state"] == "RUNNING" and started.json["response"]["run_id"] == run_id
    assert final.headers["x-skit-delivery"] == run_id
    assert final.json["status"] == "error" and final.json["response"]["state"] == "FAILED"
    assert final.json["response"]["file_path"] is None and final.json["response"]["s3_path"] is None

    plain = client.run("sleep_pipeline", {"seconds": 0.1, "webhook_uri": webhook.url}).json()["response"]
    client.wait_final(plain["run_id"])
    client.wait_delivery(plain["run_id"])
    assert [
        r.json["status"] for r in webhook.delivered if r.json["response"]["run_id"] == plain["run_id"]
    ] == ["ok"]


# -- schema upgrade ---------------------------------------------------------------------------------------
NEW_COLUMNS = ("idempotency_key", "request_hash", "notify_pending", "progress")


def test_a_database_of_the_previous_version_is_upgraded_and_keeps_its_runs(db_url: str) -> None:
    engine = create_engine(db_url)
    db.create_tables(engine)
    with engine.begin() as conn:  # back to the previous version's runs table, with one of its runs
        conn.exec_driver_sql("DROP INDEX ux_api_runs_idempotency")
        for column in NEW_COLUMNS:
            conn.exec_driver_sql(f"ALTER TABLE api_runs DROP COLUMN {column}")
        old_runs = sa.Table("api_runs", sa.MetaData(), autoload_with=conn)
        when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        text_columns = {c.name: "" for c in old_runs.columns if isinstance(c.type, sa.String)}
        conn.execute(
            old_runs.insert().values(
                text_columns
                | {"run_id": "old-1", "pipeline": "p", "namespace": "skit", "backend": "local"}
                | {"state": "PENDING", "arguments": "{}", "outputs": "{}", "step_states": "{}"}
                | {"created_at": when, "updated_at": when}
            )
        )
    assert not {c["name"] for c in sa.inspect(engine).get_columns("api_runs")} & set(NEW_COLUMNS)
    engine.dispose()

    store = RunStore.from_url(db_url, create=True)
    try:
        old = store.get_run("old-1")
        assert old is not None and old.idempotency_key is None and old.notify_pending is False
        assert old.progress == {}
        assert store.claim_slots(2) == ["old-1"]
        keyed = RunRecord("new-1", "p", "skit", "local", RunState.PENDING, idempotency_key="k1")
        store.insert_run(keyed)
        assert store.run_by_idempotency_key("", "skit", "k1") is not None
        with pytest.raises(sa.exc.IntegrityError):  # the unique constraint came with the upgrade
            store.insert_run(RunRecord("new-2", "p", "skit", "local", RunState.PENDING, idempotency_key="k1"))
        assert db.upgrade(store.engine) == []  # a second start changes nothing
    finally:
        store.dispose()
