"""``fetch_calls`` end to end: validated parameters, exact samples, the artifact store, audio checks."""

import csv
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa

from skit_pipelines.warehouse import schema
from skit_pipelines.warehouse.fetch import NO_CALLS_MESSAGE, fetch_calls
from skit_pipelines.warehouse.filters import InvalidParameterError, build_call_filters, call_filters_from
from skit_pipelines.warehouse.sampling import TURN_COLUMNS
from tests.fakes.http import LoopbackHTTPServer, reply
from tests.warehouse_factory import build_settings_warehouse

DAY = {"start_date": "2026-03-10", "end_date": "2026-03-10", "timezone": "UTC"}
EN_DAY = build_call_filters(lang="en", **DAY)


def read_rows(uri: str) -> list[dict[str, str]]:
    with open(uri, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def warehouse(isolated_settings: Path) -> str:
    return build_settings_warehouse(30)


def test_sample_is_stored_in_the_artifact_store(warehouse: str, isolated_settings: Path) -> None:
    result = fetch_calls(
        build_call_filters(lang="en", client_id="7", **DAY),
        call_quantity=12,
        random_seed=5,
        warehouse_url=warehouse,
    )
    assert (result.matching_calls, result.sampled_calls, result.turns) == (30, 12, 36)
    assert result.calls_uri.startswith(str(isolated_settings.resolve()))
    name = Path(result.calls_uri).name
    assert "en-untagged" in name and name.endswith(".csv") and not set(name) & set(" :#,+")
    assert "7-2026-03-10-2026-03-10" in result.calls_uri
    rows = read_rows(result.calls_uri)
    assert len({r["call_uuid"] for r in rows}) == 12 and len(rows) == 36
    assert "sampled 12 of 30 matching calls" in result.message
    assert result.calls_uri in result.download_command
    assert result.random_seed == 5


def test_fresh_seed_is_reported_and_reproduces(warehouse: str) -> None:
    first = fetch_calls(EN_DAY, call_quantity=7, warehouse_url=warehouse)
    again = fetch_calls(EN_DAY, call_quantity=7, random_seed=first.random_seed, warehouse_url=warehouse)
    assert first.random_seed >= 0
    assert Path(first.calls_uri).read_text() == Path(again.calls_uri).read_text()


def test_no_matching_calls_is_not_a_failure(warehouse: str) -> None:
    result = fetch_calls(build_call_filters(lang="hi", **DAY), call_quantity=10, warehouse_url=warehouse)
    assert result.sampled_calls == 0 and result.turns == 0
    assert NO_CALLS_MESSAGE in result.message
    with open(result.calls_uri, newline="") as handle:
        assert next(csv.reader(handle)) == list(TURN_COLUMNS)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"call_quantity": -1}, "call_quantity"),
        ({"start_date": "10/03/2026"}, "start_date"),
        ({"timezone": "IST"}, "timezone"),
        ({"call_type": "PHONE"}, "call_type"),
        ({"random_seed": -5}, "random_seed"),
    ],
)
def test_bad_parameters_fail_before_any_query(kwargs: dict, parameter: str, tmp_path: Path) -> None:
    # A warehouse URL that cannot be opened proves that validation happens first.
    bad_url = f"sqlite:///{tmp_path / 'missing-dir' / 'nested' / 'x.db'}?mode=ro"
    raw = {"lang": "en", **DAY, **kwargs}  # a component's raw parameters
    sample = {name: raw[name] for name in ("call_quantity", "random_seed") if name in raw}
    with pytest.raises(InvalidParameterError) as info:
        fetch_calls(call_filters_from(raw), warehouse_url=bad_url, **sample)
    assert info.value.parameter == parameter


class _AudioServer(LoopbackHTTPServer):
    """Answers HEAD with 200 for the paths in ``available`` (set by the test), 404 for any other."""

    available: ClassVar[set[str]] = set()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        reply(handler, 200 if handler.path in self.available else 404)


@pytest.fixture
def audio_server() -> Iterator[str]:
    with _AudioServer() as server:
        yield server.base_url


def test_remove_empty_audios_drops_and_counts(warehouse: str, audio_server: str) -> None:
    engine = sa.create_engine(warehouse)
    with engine.begin() as conn:
        rows = conn.execute(sa.select(schema.turns.c.id)).scalars().all()
        for turn_id in rows:
            if turn_id % 3 == 0:
                audio = f"{audio_server}/ok/{turn_id}.flac"
            elif turn_id % 3 == 1:
                audio = f"{audio_server}/missing/{turn_id}.flac"
            else:
                audio = None
            conn.execute(schema.turns.update().where(schema.turns.c.id == turn_id).values(audio_url=audio))
    engine.dispose()
    _AudioServer.available = {f"/ok/{turn_id}.flac" for turn_id in rows if turn_id % 3 == 0}

    result = fetch_calls(
        EN_DAY, call_quantity=30, random_seed=1, remove_empty_audios=True, warehouse_url=warehouse
    )
    kept = read_rows(result.calls_uri)
    assert result.turns == len(kept) == 30
    assert result.dropped_audio_turns == 60
    assert all("/ok/" in r["audio_url"] for r in kept)
    assert "60 turns without audio dropped" in result.message


def test_window_uses_the_requested_timezone(warehouse: str) -> None:
    # Calls start at 10:01-10:30 UTC on 2026-03-10, i.e. 06:01-06:30 in New York (EDT since 8 March).
    assert (
        fetch_calls(
            build_call_filters(
                lang="en",
                start_date="2026-03-10",
                end_date="2026-03-10",
                timezone="America/New_York",
                start_time_offset=615,
            ),
            call_quantity=100,
            warehouse_url=warehouse,
        ).sampled_calls
        == 16
    )


def test_a_database_without_the_tables_is_named_and_left_alone(
    tmp_path: Path, postgres_schema_url: str
) -> None:
    empty_file = tmp_path / "empty.db"
    empty_file.touch()
    for url, shown in ((f"sqlite:///{empty_file}", str(empty_file)), (postgres_schema_url, "127.0.0.1:5432")):
        with pytest.raises(schema.WarehouseUnavailableError) as info:
            fetch_calls(EN_DAY, warehouse_url=url)
        message = str(info.value)
        assert shown in message and "has no calls and no turns table" in message
        assert "skit-pipelines demo-data" in message
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []  # nothing created
        engine.dispose()
    assert empty_file.stat().st_size == 0


def test_a_missing_sqlite_warehouse_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "calls.db"
    with pytest.raises(
        schema.WarehouseUnavailableError, match="does not exist; run `skit-pipelines demo-data`"
    ):
        fetch_calls(EN_DAY, warehouse_url=f"sqlite:///{path}")
    assert not path.parent.exists()
