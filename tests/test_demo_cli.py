"""`demo-data` and `demo` never touch a user's warehouse; a missing warehouse is named, not made."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa

from skit_pipelines.warehouse import schema
from tests.cli_runner import cli, flat
from tests.conftest import SettingsEnv
from tests.warehouse_factory import build_warehouse, call_row


def count_calls(url: str) -> tuple[int, int]:
    engine = schema.create_engine(url)
    try:
        with engine.connect() as conn:
            calls = conn.execute(sa.select(sa.func.count()).select_from(schema.calls)).scalar()
            turns = conn.execute(sa.select(sa.func.count()).select_from(schema.turns)).scalar()
    finally:
        engine.dispose()
    return int(calls or 0), int(turns or 0)


@pytest.fixture
def production(tmp_path: Path) -> str:
    """A user's warehouse with 30 real (not demo) calls and 90 turns."""
    url = f"sqlite:///{tmp_path / 'production.db'}"
    build_warehouse(url, [call_row(i) for i in range(1, 31)]).dispose()
    return url


def test_demo_data_never_writes_to_the_configured_warehouse(
    production: str, isolated_settings: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text(f"SKIT_WAREHOUSE_URL={production}\n")  # configured in .env, not the env
    result = cli("demo-data", "--calls", "40", "--days", "2", cwd=project)
    assert result.returncode == 0, result.stderr
    demo_db = isolated_settings / "demo-warehouse.db"
    assert "SKIT_WAREHOUSE_URL is set" in flat(result.stderr) and str(demo_db) in flat(result.stderr)
    assert count_calls(production) == (30, 90)
    assert count_calls(f"sqlite:///{demo_db}")[0] == 40
    assert str(demo_db) in flat(result.stdout)  # the summary names where the data went


def test_demo_data_refuses_a_database_with_real_calls(postgres_schema_url: str) -> None:
    url = postgres_schema_url.replace("postgres@", "postgres:hunter2@", 1)  # trust auth ignores it
    build_warehouse(url, [call_row(i) for i in range(1, 31)]).dispose()
    refused = cli("demo-data", "--db", url, "--calls", "20", "--days", "2")
    assert refused.returncode == 2
    message = flat(refused.stderr)
    assert "holds 30 calls and 90 turns that are not demo data" in message and "--replace" in message
    assert "127.0.0.1:5432/test" in message and "hunter2" not in refused.stderr + refused.stdout
    assert count_calls(url) == (30, 90)

    replaced = cli("demo-data", "--db", url, "--calls", "20", "--days", "2", "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert count_calls(url)[0] == 20
    again = cli("demo-data", "--db", url, "--calls", "25", "--days", "2")  # demo data now: no flag needed
    assert again.returncode == 0, again.stderr
    assert count_calls(url)[0] == 25


def test_demo_samples_the_demo_warehouse_and_leaves_the_configured_one(
    production: str, isolated_settings: Path, settings_env: SettingsEnv
) -> None:
    settings_env(SKIT_WAREHOUSE_URL=production)
    result = cli("demo", "--calls", "200", "--call-quantity", "5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert count_calls(production) == (30, 90)
    assert count_calls(f"sqlite:///{isolated_settings / 'demo-warehouse.db'}")[0] == 200
    csv_path = flat(result.stdout).split("CSV: ", 1)[1].split()[0]
    with open(csv_path, newline="", encoding="utf-8") as handle:
        uuids = {row["call_uuid"] for row in csv.DictReader(handle)}
    assert len(uuids) == 5 and not any(u.startswith("call-") for u in uuids)  # demo calls, not production's


def test_run_from_another_folder_names_the_missing_warehouse_and_creates_none(
    tmp_path: Path, settings_env: SettingsEnv
) -> None:
    settings_env(SKIT_HOME=None)  # the default, relative .skit of the folder the user is in
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli("run", "fetch_calls_pipeline", "-p", "lang=en", cwd=elsewhere)
    assert result.returncode == 1
    expected = elsewhere / ".skit" / "demo-warehouse.db"
    message = flat(result.stdout)
    assert f"the call warehouse sqlite:///.skit/demo-warehouse.db ({expected}) does not exist" in message
    assert "skit-pipelines demo-data" in message and "SKIT_WAREHOUSE_URL" in message
    assert "no such table" not in message
    assert not expected.exists() and not (elsewhere / ".skit" / "warehouse.db").exists()


def test_demo_data_prints_square_brackets_of_a_path_as_typed(tmp_path: Path, production: str) -> None:
    """A path is user text: rich must not read ``[x]`` in it as markup (and drop it or crash)."""
    home = tmp_path / "[x]" / "home"
    home.mkdir(parents=True)
    env = {"SKIT_HOME": str(home), "SKIT_WAREHOUSE_URL": production}
    result = cli("demo-data", "--calls", "20", "--days", "1", env=env)
    assert result.returncode == 0, result.stderr
    assert f"demo data goes to sqlite:///{home}/demo-warehouse.db" in flat(result.stderr)
