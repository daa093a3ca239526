"""Shared fixtures: isolated settings per test (``settings_env`` changes them), the real PostgreSQL server.

PostgreSQL tests use ``SKIT_TEST_POSTGRES_URL`` (default: 127.0.0.1:5432, database ``test``). Where no
server answers they skip with the reason, except under ``CI=true`` where a missing server is a failure:
CI must never turn green by skipping the server tests.
"""

from __future__ import annotations

import importlib
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import boto3
import pytest
import sqlalchemy as sa
from moto.server import ThreadedMotoServer

from skit_pipelines import runtime
from skit_pipelines.api.settings import get_api_settings
from skit_pipelines.config import get_settings

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip where a server is optional (a user's laptop); fail in CI where it must be there."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def import_or_skip(module: str, reason: str) -> Any:
    """``pytest.importorskip`` that fails under CI=true: a missing extra (ml) or fixture package must not
    turn its tests into silent skips where everything is supposed to be installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        skip_or_fail(reason)


def forget_settings() -> None:
    """Make the next ``get_settings()`` / ``get_api_settings()`` read the environment again."""
    get_settings.cache_clear()
    get_api_settings.cache_clear()


class SettingsEnv(Protocol):
    def __call__(self, **variables: str | None) -> None: ...


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> SettingsEnv:
    """The one way a test changes settings: ``settings_env(SKIT_TIMEZONE="Asia/Kolkata", SKIT_X=None)``.

    Sets (a string) or removes (None) the variables for this test only, then clears the settings caches, so
    the next read sees them; storage, the read policy and the timezone default follow (see
    ``isolated_settings``). Subprocesses (pipeline steps) inherit the variables.
    """

    def change(**variables: str | None) -> None:
        for name, value in variables.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        forget_settings()

    return change


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own SKIT_HOME, so no test reads another's databases or artifacts.

    The settings caches are cleared before and after every test, so one test's settings never leak into
    the next; the runtime (storage, read policy, timezone default) is configured to follow the settings at
    each use, as an entry point would configure it from the settings it read."""
    home = tmp_path / "skit-home"
    monkeypatch.setenv("SKIT_HOME", str(home))
    for name in (
        "SKIT_WAREHOUSE_URL",
        "SKIT_DATABASE_URL",
        "SKIT_ARTIFACT_ROOT",
        "SKIT_KFP_HOST",
        "SKIT_SLACK_TOKEN",
        "SKIT_S3_ENDPOINT_URL",
        "SKIT_DUCKLING_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if (
            name.startswith(("SKIT_API_", "SKIT_WEBHOOK_", "SKIT_JWT_", "SKIT_LLM_"))
            or name == "SKIT_SLACK_SIGNING_SECRET"
        ):
            monkeypatch.delenv(name)
    forget_settings()
    runtime.configure(lambda: get_settings().runtime())
    yield home
    forget_settings()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a reachable PostgreSQL server (session-wide check)."""
    url = os.environ.get("SKIT_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:
        skip_or_fail(f"no PostgreSQL server at {url} ({type(exc).__name__}: {str(exc).splitlines()[0]})")
    return url


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test.

    Tests may create tables freely and run in parallel without seeing each other's rows.
    """
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run a test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_schema_url")


# ------------------------------------------------------------------ S3: a real moto server on 127.0.0.1


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings_env: SettingsEnv
) -> str:
    """A fresh bucket on the moto server, with settings pointing the artifact root at s3://bucket/prefix."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "NO_PROXY": "127.0.0.1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    bucket = f"skit-test-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    settings_env(SKIT_S3_ENDPOINT_URL=moto_endpoint, SKIT_ARTIFACT_ROOT=f"s3://{bucket}/prefix")
    return bucket
