"""The HTTP API against a real uvicorn server: auth, runs on the local runner, webhooks, status, lists."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import jwt
import pytest

from skit_pipelines.api.settings import get_api_settings
from skit_pipelines.api.store import RunRecord, RunStore
from skit_pipelines.config import get_settings
from skit_pipelines.runner.base import RunState
from tests.api_helpers import DAY, PASSWORD, WEBHOOK_SECRET, ApiClient, ThreadedApi, WebhookReceiver, wait_for
from tests.conftest import SettingsEnv

if TYPE_CHECKING:
    from pathlib import Path

    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.api_fixtures", "tests.fakes.slack_server"]

pytestmark = pytest.mark.timeout(120)


# -- auth ----------------------------------------------------------------------------------------
def test_token_login_and_bad_credentials(client: ApiClient) -> None:
    ok = client.http.post("/token", data={"username": "alice", "password": PASSWORD})
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    claims = jwt.decode(body["access_token"], get_api_settings().jwt_key(), algorithms=["HS256"])
    assert claims["sub"] == "alice" and claims["exp"] - claims["iat"] == 3600
    assert client.http.post("/token", data={"username": "bob", "password": PASSWORD}).status_code == 200

    for username, password in (("alice", "wrong"), ("mallory", PASSWORD), ("", "")):
        bad = client.http.post("/token", data={"username": username, "password": password})
        assert bad.status_code in (400, 401), bad.text
        if username:
            assert bad.status_code == 401
            assert bad.json()["detail"] == "Incorrect username or password"
            assert bad.headers["www-authenticate"] == "Bearer"


def test_only_health_token_and_slack_answer_without_a_token(client: ApiClient) -> None:
    assert client.http.get("/").status_code == 200
    protected = [
        ("GET", "/pipelines"),
        ("GET", "/skit/pipelines/runs"),
        ("GET", "/skit/pipelines/runs/x"),
        ("POST", "/skit/pipelines/run/fetch_calls_pipeline/"),
        ("POST", "/skit/pipelines/run/nope/"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/redoc"),
    ]
    for method, path in protected:
        response = client.http.request(method, path, json={"lang": "en"})
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["status"] == "error"
    # With a token, the OpenAPI document lists one request schema per pipeline.
    schema = client.http.get("/openapi.json", headers=client.auth()).json()
    assert "/{namespace}/pipelines/run/fetch_calls_pipeline/" in schema["paths"]
    assert "FetchCallsPipelineRequest" in schema["components"]["schemas"]


def test_expired_forged_and_orphaned_tokens_are_refused(
    client: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = get_api_settings().jwt_key()
    now = dt.datetime.now(dt.timezone.utc)
    expired = jwt.encode(
        {"sub": "alice", "exp": int((now - dt.timedelta(seconds=5)).timestamp())}, key, "HS256"
    )
    forged = jwt.encode(
        {"sub": "alice", "exp": int((now + dt.timedelta(hours=1)).timestamp())},
        "another-secret-of-a-decent-length-0123456789",
        "HS256",
    )
    no_exp = jwt.encode({"sub": "alice"}, key, "HS256")
    ghost = jwt.encode({"sub": "ghost", "exp": int((now + dt.timedelta(hours=1)).timestamp())}, key, "HS256")
    for token in (expired, forged, no_exp, ghost, "not-a-jwt"):
        response = client.http.get("/pipelines", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
    response = client.http.get("/pipelines", headers={"Authorization": f"Bearer {expired}"})
    assert "expired" in response.json()["response"]["message"]
    assert client.http.get("/pipelines", headers=client.auth()).status_code == 200


def test_health_reports_database_and_runner(client: ApiClient) -> None:
    body = client.http.get("/").json()
    assert body["status"] == "ok"
    response = body["response"]
    assert response["database"] == {"ok": True, "backend": "sqlite"}
    assert response["runner"]["backend"] == "local" and response["runner"]["ok"] is True
    assert "users" not in response and "warning" not in response  # public: nothing about users


# -- creating runs -------------------------------------------------------------------------------
def test_run_over_http_completes_and_webhook_arrives_signed_once(
    client: ApiClient,
    warehouse: str,
) -> None:
    receiver = WebhookReceiver(fail_first=2).start()
    try:
        response = client.run(
            "fetch-calls-pipeline", {"lang": "en", "call_quantity": "5", **DAY, "webhook_uri": receiver.url}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "ok"
        created = body["response"]
        assert created["message"] == "Pipeline run created successfully."
        assert created["name"] == "fetch_calls_pipeline"
        assert created["run_url"] == f"http://127.0.0.1:9991/skit/pipelines/runs/{created['run_id']}"
        run_id = created["run_id"]

        final = client.wait_final(run_id)
        assert final["status"] == "ok", final
        result = final["response"]
        assert result["state"] == "SUCCEEDED"
        assert result["outputs"]["sampled_calls"] == 5 and result["outputs"]["matching_calls"] == 20
        calls_uri = result["outputs"]["calls_uri"]
        assert (
            result["uris"] == [calls_uri] and result["file_path"] == calls_uri and result["s3_path"] is None
        )
        assert result["steps"]["fetch-calls"] == "SUCCEEDED"
        assert result["arguments"]["call_quantity"] == 5 and result["created_by"] == "alice"

        settled = client.wait_delivery(run_id)
        note = settled["response"]["notifications"]["webhook"]
        assert note["status"] == "delivered"
        assert [(a["ok"], a["status_code"]) for a in note["attempts"]] == [
            (False, 500),
            (False, 500),
            (True, 200),
        ]
        wait_for(lambda: len(receiver.requests) >= 3, 5)
    finally:
        receiver.stop()

    assert len(receiver.requests) == 3 and len(receiver.delivered) == 1
    delivered = receiver.delivered[0]
    timestamp = delivered.headers["x-skit-timestamp"]
    expected = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + delivered.body, hashlib.sha256)
    assert delivered.headers["x-skit-signature"] == f"sha256={expected.hexdigest()}"
    assert delivered.headers["x-skit-delivery"] == run_id
    payload = delivered.json
    assert payload["status"] == "ok"
    assert payload["response"]["webhook"] is True
    assert payload["response"]["run_id"] == run_id and payload["response"]["uris"] == [calls_uri]
    assert {"message", "run_url", "file_path", "s3_path", "error_logs"} <= set(payload["response"])
    # Every attempt carried the same body and delivery id.
    assert {r.body for r in receiver.requests} == {delivered.body}


def test_failed_run_reports_error_logs_in_status_webhook_and_slack_thread(
    slack_server: FakeSlackServer,
    client: ApiClient,
    webhook: WebhookReceiver,
) -> None:
    response = client.run(
        "fail_pipeline", {"message": "the warehouse is on fire", "webhook_uri": webhook.url}
    )
    run_id = response.json()["response"]["run_id"]
    final = client.wait_final(run_id)
    assert final["status"] == "error"
    result = final["response"]
    assert result["state"] == "FAILED" and result["failed_step"] == "fail-step"
    assert result["error"] == "RuntimeError: the warehouse is on fire"
    assert "Traceback" in result["error_logs"] and "the warehouse is on fire" in result["error_logs"]

    client.wait_delivery(run_id)
    (payload,) = [r.json for r in webhook.delivered]
    assert payload["status"] == "error" and payload["response"]["message"] == "Run failed."
    assert "the warehouse is on fire" in payload["response"]["error_logs"]
    assert not slack_server.calls("chat.postMessage")  # no channel/thread: no Slack message


def test_completion_is_posted_in_the_slack_thread_with_error_logs_as_a_file(
    slack_server: FakeSlackServer,
    warehouse: str,
    client: ApiClient,
) -> None:
    # fetch_calls fails at run time when its warehouse table is missing: drop it first.
    import sqlalchemy as sa

    engine = sa.create_engine(warehouse)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE turns"))
    engine.dispose()
    response = client.run(
        "fetch_calls_pipeline",
        {"lang": "en", **DAY, "channel": "C0CHAN", "slack_thread": "1700000000.000001"},
    )
    run_id = response.json()["response"]["run_id"]
    final = client.wait_final(run_id)
    assert final["response"]["state"] == "FAILED"
    settled = client.wait_delivery(run_id, "slack")
    assert settled["response"]["notifications"]["slack"]["status"] == "delivered"

    (post,) = slack_server.calls("chat.postMessage")
    assert post.args["channel"] == "C0CHAN" and post.args["thread_ts"] == "1700000000.000001"
    assert f"/skit/pipelines/runs/{run_id}|fetch_calls_pipeline: Run failed.>" in post.args["text"]
    assert "Check error logs" in post.args["text"]
    (upload,) = slack_server.calls("files.getUploadURLExternal")
    (complete,) = slack_server.calls("files.completeUploadExternal")
    assert json.loads(complete.args["files"])[0]["title"] == "Error Logs"
    assert complete.args["thread_ts"] == "1700000000.000001"
    (content,) = slack_server.uploads.values()
    assert content.decode() == final["response"]["error_logs"] and "turns" in content.decode()


def test_validation_errors_name_each_field_and_create_nothing(client: ApiClient) -> None:
    cases = [
        ({"lang": "en", "colour": "red", "flavour": 1}, {"colour", "flavour"}, "unknown parameter"),
        ({"lang": "en", "call_quantity": "lots"}, {"call_quantity"}, "expected an integer"),
        ({"call_quantity": 3}, {"lang"}, "required parameter is missing"),
        ({"lang": "en", "start_date": "2026-02-30"}, {"start_date"}, "YYYY-MM-DD"),  # preflight
        ({"lang": "en", "webhook_uri": "ftp://x"}, {"webhook_uri"}, "http(s) URL"),
    ]
    for body, fields, words in cases:
        for spelling in ("fetch_calls_pipeline", "fetch-calls-pipeline", "Fetch-Calls-Pipeline"):
            response = client.run(spelling, body)
            assert response.status_code == 400, (spelling, body, response.text)
            error = response.json()
            assert error["status"] == "error"
            assert set(error["response"]["errors"]) == fields, (spelling, error)
            assert words in json.dumps(error["response"]["errors"]), error

    unknown = client.run("no_such_pipeline", {"lang": "en"})
    assert unknown.status_code == 400
    assert "fetch_calls_pipeline" in unknown.json()["response"]["message"]
    not_json = client.http.post(
        "/skit/pipelines/run/fetch_calls_pipeline/",
        content=b"{nope",
        headers={**client.auth(), "Content-Type": "application/json"},
    )
    assert not_json.status_code == 400
    listed = client.http.get("/skit/pipelines/runs", headers=client.auth()).json()
    assert listed["response"]["total"] == 0


def test_webhook_uri_with_nul_or_control_characters_is_a_400_on_postgresql(
    api_env: None, isolated_settings: Path, postgres_schema_url: str, settings_env: SettingsEnv
) -> None:
    from skit_pipelines.api.endpoints import create_app
    from tests.api_pipelines import TEST_PIPELINES

    settings_env(SKIT_DATABASE_URL=postgres_schema_url)  # PostgreSQL refuses NUL in text (a 500)
    server = ThreadedApi(create_app(pipelines=TEST_PIPELINES)).start()
    client = ApiClient(server.url)
    try:
        for uri in (
            "http://example.com/\\u0000hook",
            "http://example.com/\\ud800",
            "http://exa mple.com/",
            "http://e.com/\\nx",
        ):
            body = b'{"seconds": 0.1, "webhook_uri": "' + uri.encode() + b'"}'  # JSON escapes, as sent
            response = client.http.post(
                "/skit/pipelines/run/sleep_pipeline/",
                content=body,
                headers={**client.auth(), "Content-Type": "application/json"},
            )
            assert response.status_code == 400, (uri, response.text)
            problem = response.json()["response"]["errors"]["webhook_uri"]
            assert "control characters" in problem or "unicode" in problem, (
                problem
            )  # lone surrogate: pydantic
        listed = client.http.get("/skit/pipelines/runs", headers=client.auth()).json()
        assert listed["response"]["total"] == 0
    finally:
        client.http.close()
        server.stop()


@pytest.mark.parametrize(
    ("pipeline", "body", "field", "words"),
    [
        ("fetch_calls_pipeline", '{"lang": "en", "call_quantity": -5}', "call_quantity", "must be >= 0"),
        ("fetch_calls_pipeline", '{"lang": "en", "random_seed": -7}', "random_seed", "fresh seed"),
        ("fetch_calls_pipeline", '{"lang": "en", "timezone": "Mars/Base"}', "timezone", "unknown timezone"),
        ("tag_calls", '{"org_id": "1", "s3_path": "gs://b/c.csv", "job_ids": "4"}', "s3_path", "'gs://'"),
        ("tag_calls", '{"org_id": "1", "s3_path": "c.csv"}', "labelstudio_project_id", "no project"),
        ("irr_from_tog", '{"dataset_path": "gs://b/t.csv"}', "dataset_path", "'gs://'"),
        ("irr_from_tog", '{"job_id": "2", "end_date_offset": 99999999999}', "end_date_offset", "calendar"),
        # JSON escapes that decode to text no database or JSON answer can hold
        ("fetch_calls_pipeline", '{"lang": "en", "client_id": "\\ud800"}', "client_id", "lone surrogate"),
        ("fetch_calls_pipeline", '{"lang": "en", "channel": "C1\\u0000"}', "channel", "NUL character"),
    ],
)
def test_doomed_runs_get_a_400_naming_the_field(
    api_env: None,
    isolated_settings: Path,
    db_url: str,
    settings_env: SettingsEnv,
    pipeline: str,
    body: str,
    field: str,
    words: str,
) -> None:
    from skit_pipelines.api.endpoints import create_app
    from tests.api_helpers import ThreadedApi

    settings_env(SKIT_DATABASE_URL=db_url)
    server = ThreadedApi(create_app()).start()
    api_client = ApiClient(server.url)
    try:
        response = api_client.http.post(
            f"/skit/pipelines/run/{pipeline}/",
            content=body.encode(),
            headers={**api_client.auth(), "Content-Type": "application/json"},
        )
        assert response.status_code == 400, response.text
        errors = response.json()["response"]["errors"]
        assert set(errors) == {field} and words in errors[field], errors
        listed = api_client.http.get("/skit/pipelines/runs", headers=api_client.auth())
        assert listed.status_code == 200 and listed.json()["response"]["total"] == 0
    finally:
        api_client.http.close()
        server.stop()


def test_request_body_size_is_limited(api_env: None, isolated_settings, settings_env: SettingsEnv) -> None:
    from skit_pipelines.api.endpoints import create_app
    from tests.api_helpers import ThreadedApi

    settings_env(SKIT_API_MAX_BODY_BYTES="2000")
    server = ThreadedApi(create_app()).start()
    try:
        api_client = ApiClient(server.url)
        big = api_client.run("fetch_calls_pipeline", {"lang": "en", "client_id": "x" * 5000})
        assert big.status_code == 413
        assert "2000 bytes" in big.json()["response"]["message"]

        def chunks():  # no Content-Length: counted while streaming
            for _ in range(10):
                yield b"x" * 500

        streamed = httpx.post(
            server.url + "/skit/pipelines/run/fetch_calls_pipeline/",
            content=chunks(),
            headers=api_client.auth(),
        )
        assert streamed.status_code == 413
        small = api_client.run("fetch_calls_pipeline", {"lang": "en", "colour": "red"})
        assert small.status_code == 400  # under the limit: reaches validation
    finally:
        server.stop()


# -- namespaces, lists, catalogue ----------------------------------------------------------------
def _insert(store: RunStore, run_id: str, pipeline: str, state: RunState, namespace: str = "skit") -> None:
    store.insert_run(
        RunRecord(
            run_id=run_id, pipeline=pipeline, namespace=namespace, backend="local", state=RunState.PENDING
        )
    )
    if state.is_final:
        store.finish_run(run_id, state, outputs={"uri": f"/data/{run_id}.csv"}, notify=False)
    else:
        store.update_progress(run_id, state=state)


def test_runs_are_listed_by_namespace_pipeline_and_state_with_pages(
    api_env: None, isolated_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The runs are written straight to the database (no worker for them: the watcher is not started here).
    store = RunStore.from_url(get_settings().effective_database_url, create=True)
    for i, (pipeline, state) in enumerate(
        [
            ("fetch_calls_pipeline", RunState.SUCCEEDED),
            ("fetch_calls_pipeline", RunState.FAILED),
            ("sleep_pipeline", RunState.SUCCEEDED),
            ("fetch_calls_pipeline", RunState.SUCCEEDED),
            ("fetch_calls_pipeline", RunState.CANCELED),
        ]
    ):
        _insert(store, f"run-{i}", pipeline, state)
    _insert(store, "other-ns", "fetch_calls_pipeline", RunState.SUCCEEDED, namespace="team-b")
    store.dispose()

    from skit_pipelines.api.endpoints import create_app
    from tests.api_helpers import ThreadedApi

    server = ThreadedApi(create_app()).start()
    try:
        c = ApiClient(server.url)

        def ids(query: str, namespace: str = "skit", user: str = "alice") -> tuple[list[str], dict]:
            body = c.http.get(f"/{namespace}/pipelines/runs?{query}", headers=c.auth(user)).json()
            return [r["run_id"] for r in body["response"]["runs"]], body["response"]

        listed, page = ids("")
        assert listed == ["run-4", "run-3", "run-2", "run-1", "run-0"] and page["total"] == 5
        assert ids("pipeline=fetch-calls-pipeline&status=SUCCEEDED")[0] == ["run-3", "run-0"]
        assert ids("status=error")[0] == ["run-4", "run-1"]
        assert ids("status=failed,canceled")[0] == ["run-4", "run-1"]
        first, page1 = ids("limit=2")
        second, page2 = ids(f"limit=2&offset={page1['next_offset']}")
        third, page3 = ids(f"limit=2&offset={page2['next_offset']}")
        assert first + second + third == listed and page3["next_offset"] is None
        bad = c.http.get("/skit/pipelines/runs?status=DONE", headers=c.auth())
        assert bad.status_code == 400 and "status" in bad.json()["response"]["errors"]
        assert c.http.get("/skit/pipelines/runs?limit=0", headers=c.auth()).status_code == 400

        # Namespaces: a run is only visible in its own; bob may only use team-b.
        assert c.status("other-ns").status_code == 404
        assert c.status("other-ns", namespace="team-b").json()["response"]["state"] == "SUCCEEDED"
        assert c.status("run-0", namespace="team-b").status_code == 404
        assert ids("", namespace="team-b", user="bob")[0] == ["other-ns"]
        forbidden = c.http.get("/skit/pipelines/runs", headers=c.auth("bob"))
        assert forbidden.status_code == 403
        assert c.run("fetch_calls_pipeline", {"lang": "en"}, user="bob").status_code == 403
        assert c.http.get("/Not_A_Namespace/pipelines/runs", headers=c.auth()).status_code == 400
    finally:
        server.stop()


def test_catalogue_lists_pipelines_with_parameter_schemas(client: ApiClient) -> None:
    body = client.http.get("/pipelines", headers=client.auth()).json()
    entries = {p["name"]: p for p in body["response"]["pipelines"]}
    fetch = entries["fetch_calls_pipeline"]
    assert fetch["kebab_name"] == "fetch-calls-pipeline"
    params = {p["name"]: p for p in fetch["parameters"]}
    assert params["lang"]["required"] is True and params["call_quantity"]["default"] == 200
    assert params["call_quantity"]["type"] == "Integer"
    schema = fetch["request_schema"]
    assert schema["required"] == ["lang"] and schema["additionalProperties"] is False
    assert schema["properties"]["call_quantity"]["type"] == "integer"
    assert "webhook_uri" in schema["properties"]
    assert fetch["outputs"]["calls_uri"] == "String"
