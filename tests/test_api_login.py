"""Password guessing against ``POST /token``: rate limits shared by API processes, a bound on concurrent hash
checks, logged failures, uncached tokens, token versions and start-up warnings (real uvicorn servers)."""

from __future__ import annotations

import json
import logging
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from skit_pipelines.api.auth import AuthError, hash_password, issue_token, verify_token
from skit_pipelines.api.db import create_tables
from skit_pipelines.api.login_guard import SqlStorage
from skit_pipelines.api.settings import ApiSettings
from skit_pipelines.db import create_engine
from tests.api_helpers import PASSWORD, ApiClient, SubprocessApi, ThreadedApi
from tests.conftest import SettingsEnv, free_port

pytest_plugins = ["tests.api_fixtures"]

pytestmark = pytest.mark.timeout(180)

StartApi = Callable[..., ThreadedApi]


@pytest.fixture
def start_api(api_env: None, isolated_settings: Path, settings_env: SettingsEnv) -> Iterator[StartApi]:
    """Start the API with extra ``SKIT_*`` settings (stopped at the end of the test)."""
    from skit_pipelines.api.endpoints import create_app
    from tests.api_pipelines import TEST_PIPELINES

    servers: list[ThreadedApi] = []

    def start(**env: str) -> ThreadedApi:
        settings_env(**env)
        server = ThreadedApi(create_app(pipelines=TEST_PIPELINES)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def login(url: str, username: str, password: str) -> httpx.Response:
    return httpx.post(url + "/token", data={"username": username, "password": password}, timeout=60)


def test_failed_logins_are_limited_per_user_name_logged_and_never_cached(
    start_api: StartApi, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="skit_pipelines.api"):
        server = start_api(SKIT_API_LOGIN_LIMIT_PER_USER="3 per 5 minutes")
        ok = login(server.url, "alice", PASSWORD)
        assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
        for _ in range(3):
            wrong = login(server.url, "alice", "guess-123")
            assert wrong.status_code == 401 and wrong.headers["cache-control"] == "no-store"
        # The fourth attempt is refused before the password is checked, even the right one.
        limited = login(server.url, "alice", PASSWORD)
        assert limited.status_code == 429, limited.text
        assert 0 < int(limited.headers["retry-after"]) <= 300
        assert limited.headers["cache-control"] == "no-store"
        body = limited.json()
        assert body["status"] == "error" and "too many failed logins for this user" in body["detail"]
        assert login(server.url, "bob", PASSWORD).status_code == 200  # other users are not locked out

    failures = [r.getMessage() for r in caplog.records if r.getMessage().startswith("failed login")]
    assert len(failures) == 3
    assert all("known user 'alice' from 127.0.0.1" in line for line in failures)
    assert "login refused (too many failed logins for this user)" in caplog.text
    assert "guess-123" not in caplog.text and PASSWORD not in caplog.text


def test_failed_logins_are_limited_per_client_address(start_api: StartApi) -> None:
    server = start_api(SKIT_API_LOGIN_LIMIT_PER_CLIENT="4 per 5 minutes")
    for name in ("carol", "dave", "erin", "alice"):  # a new name each time: only the address is the same
        assert login(server.url, name, "guess").status_code == 401
    limited = login(server.url, "bob", PASSWORD)
    assert limited.status_code == 429 and "from this address" in limited.json()["detail"]
    assert int(limited.headers["retry-after"]) > 0


def test_limits_hold_across_api_processes(
    api_env: None,
    isolated_settings: Path,
    postgres_schema_url: str,
    tmp_path: Path,
    settings_env: SettingsEnv,
) -> None:
    settings_env(SKIT_DATABASE_URL=postgres_schema_url, SKIT_API_LOGIN_LIMIT_PER_USER="4 per 5 minutes")
    first = SubprocessApi("tests.api_app:app", free_port(), tmp_path / "api-1.log").start()
    second = SubprocessApi("tests.api_app:app", free_port(), tmp_path / "api-2.log").start()
    try:
        for server in (first, second, first, second):
            assert login(server.url, "alice", "guess").status_code == 401
        # Each process saw two failures; together they reached the limit.
        assert login(first.url, "alice", PASSWORD).status_code == 429
        assert login(second.url, "alice", PASSWORD).status_code == 429
    finally:
        first.kill()
        second.kill()
    assert "failed login for known user 'alice'" in (tmp_path / "api-2.log").read_text()


def test_concurrent_hash_checks_are_bounded_with_503_and_retry_after(start_api: StartApi) -> None:
    server = start_api(
        SKIT_API_LOGIN_CONCURRENCY="1",
        SKIT_API_LOGIN_LIMIT_PER_CLIENT="1000 per minute",
        SKIT_API_LOGIN_LIMIT_PER_USER="1000 per minute",
    )
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def guess(i: int) -> None:
        response = login(server.url, f"user{i}", "guess")
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    codes = sorted(r.status_code for r in answers)
    assert len(codes) == 24 and set(codes) == {401, 503}, codes
    # One check at a time plus four waiting: the rest are told to come back.
    assert codes.count(401) <= 12, codes
    busy = next(r for r in answers if r.status_code == 503)
    assert busy.headers["retry-after"] == "1" and busy.headers["cache-control"] == "no-store"
    assert login(server.url, "alice", PASSWORD).status_code == 200


def test_a_full_run_queue_answers_503_with_retry_after(start_api: StartApi) -> None:
    server = start_api(SKIT_API_WORKERS="1", SKIT_API_MAX_QUEUED="1")
    client = ApiClient(server.url)
    codes = [client.run("sleep_pipeline", {"seconds": 3}) for _ in range(3)]
    full = [r for r in codes if r.status_code == 503]
    assert full, [r.text for r in codes]
    assert full[0].headers["retry-after"] == "5" and "waiting for a worker" in full[0].json()["detail"]
    client.http.close()


def test_unknown_users_take_as_long_as_wrong_passwords(start_api: StartApi) -> None:
    server = start_api(
        SKIT_API_LOGIN_LIMIT_PER_CLIENT="1000 per minute", SKIT_API_LOGIN_LIMIT_PER_USER="1000 per minute"
    )

    def median_seconds(username: Callable[[int], str]) -> float:
        times = []
        for i in range(7):
            started = time.perf_counter()
            assert login(server.url, username(i), "guess").status_code == 401
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    login(server.url, "warm-up", "guess")
    wrong_password = median_seconds(lambda i: "alice")
    unknown_user = median_seconds(lambda i: f"nobody-{i}")
    # Both verify one argon2 hash (~0.1 s); without the dummy verify an unknown user answers in ~1 ms.
    assert wrong_password > 0.02
    assert 0.5 < unknown_user / wrong_password < 2, (unknown_user, wrong_password)


def test_start_up_warns_of_a_short_secret_and_health_tells_nothing_about_users(
    start_api: StartApi, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="skit_pipelines.api"):
        server = start_api(SKIT_JWT_SECRET="short-secret")
    assert "SKIT_JWT_SECRET is 12 bytes" in caplog.text
    health = httpx.get(server.url + "/", timeout=10).json()["response"]
    assert "users" not in json.dumps(health)


def test_start_up_warnings_name_each_weak_or_missing_setting(tmp_path: Path) -> None:
    weak = ApiSettings(home=tmp_path, jwt_secret="x" * 31, api_users="", webhook_secret="")
    warnings = " ".join(weak.start_up_warnings())
    for words in ("SKIT_JWT_SECRET is 31 bytes", "SKIT_API_USERS is empty", "SKIT_WEBHOOK_SECRET is not set"):
        assert words in warnings
    users = json.dumps({"alice": hash_password(PASSWORD)})
    strong = ApiSettings(home=tmp_path, jwt_secret="x" * 32, api_users=users, webhook_secret="s")
    assert strong.start_up_warnings() == []


def test_a_password_change_revokes_the_tokens_issued_before(tmp_path: Path) -> None:
    before = ApiSettings(home=tmp_path, api_users=json.dumps({"alice": hash_password("old password")}))
    token = issue_token(before, before.users["alice"]).access_token
    assert verify_token(before, token).name == "alice"
    after = ApiSettings(home=tmp_path, api_users=json.dumps({"alice": hash_password("new password")}))
    with pytest.raises(AuthError, match="password changed"):
        verify_token(after, token)
    assert verify_token(after, issue_token(after, after.users["alice"]).access_token).name == "alice"


def test_rate_limit_counters_are_atomic_across_connections(db_url: str) -> None:
    engine = create_engine(db_url)
    create_tables(engine)
    storage = SqlStorage(engine)
    counts: list[int] = []

    def hit() -> None:
        for _ in range(10):
            counts.append(storage.incr("k", 300))

    threads = [threading.Thread(target=hit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(counts) == list(range(1, 41))  # every increment seen once, none lost
    assert storage.get("k") == 40 and storage.get_expiry("k") > time.time() + 200
    # An expired window starts again from the increment.
    with engine.begin() as conn:
        conn.execute(sa.text("update api_rate_limits set expires_at = 0"))
    assert storage.get("k") == 0 and storage.incr("k", 300) == 1
    engine.dispose()
