"""Fixtures shared by the API test modules (listed in their ``pytest_plugins``).

``api_env`` configures users, a webhook secret and fast timings through ``SKIT_*`` variables; ``api``
serves the app (registry + the test pipelines) with a real uvicorn server on 127.0.0.1; ``client`` is an
httpx client for it that knows how to log in and wait for runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from skit_pipelines.api.auth import hash_password
from tests.api_helpers import PASSWORD, WEBHOOK_SECRET, ApiClient, ThreadedApi, WebhookReceiver
from tests.conftest import SettingsEnv
from tests.warehouse_factory import build_settings_warehouse


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def api_env(settings_env: SettingsEnv, password_hash: str) -> None:
    users = {
        "alice": password_hash,
        "bob": {"password_hash": password_hash, "namespaces": ["team-b"]},
    }
    settings_env(
        **{
            "SKIT_API_USERS": json.dumps(users),
            "SKIT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SKIT_API_WATCH_SECONDS": "0.05",
            "SKIT_API_HEARTBEAT_SECONDS": "0.5",
            "SKIT_WEBHOOK_BACKOFF_SECONDS": "0.05",
            "SKIT_WEBHOOK_BACKOFF_MAX_SECONDS": "0.2",
            "SKIT_WEBHOOK_TIMEOUT_SECONDS": "5",
            "SKIT_SLACK_SIGNING_SECRET": None,
            "SKIT_API_DOCS_PUBLIC": None,
            "SKIT_JWT_SECRET": None,
            "SKIT_API_WORKERS": None,
            "SKIT_API_MAX_BODY_BYTES": None,
            "SKIT_WEBHOOK_RETRY_SECONDS": None,
        }
    )


@pytest.fixture
def warehouse(isolated_settings: Path) -> str:
    return build_settings_warehouse(20)


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(fail_first=0) as receiver:
        yield receiver


@pytest.fixture
def api(api_env: None, isolated_settings: Path) -> Iterator[ThreadedApi]:
    from skit_pipelines.api.endpoints import create_app
    from skit_pipelines.pipelines import PIPELINES
    from tests.api_pipelines import TEST_PIPELINES

    server = ThreadedApi(create_app(pipelines={**PIPELINES, **TEST_PIPELINES})).start()
    yield server
    server.stop()


@pytest.fixture
def client(api: ThreadedApi) -> Iterator[ApiClient]:
    api_client = ApiClient(api.url)
    yield api_client
    api_client.http.close()
