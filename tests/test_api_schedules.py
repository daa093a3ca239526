"""Recurring runs of the API (schedules in the runs database) with a fake clock, on SQLite and PostgreSQL:
a slot fires once, on time, however many schedulers race for it; missed slots fire once; pause, resume,
delete and a restart behave; bad input is refused naming the field. Then the same over HTTP."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from skit_pipelines.api.schedules import ScheduleNotFound, Scheduler, ScheduleService, slot_key
from skit_pipelines.api.service import RunService, ServiceError
from skit_pipelines.api.settings import get_api_settings
from skit_pipelines.api.store import RunStore
from skit_pipelines.config import get_settings
from skit_pipelines.cron import CronError, check_cron, check_timezone, kfp_cron, next_slot
from skit_pipelines.pipelines import PIPELINES
from tests.api_helpers import ApiClient

pytest_plugins = ["tests.api_fixtures"]

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 01:00 UTC
PARAMS = {"lang": "en", "call_quantity": 5}
NAMESPACE = "skit"


class FakeClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def make_service(url: str, clock: FakeClock) -> ScheduleService:
    store = RunStore.from_url(url, create=True)
    service = RunService(store, get_settings(), get_api_settings(), dict(PIPELINES))
    return ScheduleService(service, clock=clock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def schedules(isolated_settings: Path, db_url: str, clock: FakeClock) -> Iterator[ScheduleService]:
    service = make_service(db_url, clock)
    yield service
    service.service.store.dispose()


def runs_of(schedules: ScheduleService) -> list:
    return schedules.service.store.list_runs(NAMESPACE, limit=200).runs


def daily(schedules: ScheduleService, cron: str = "0 3 * * *", **extra: object):
    return schedules.create(NAMESPACE, "fetch-calls-pipeline", PARAMS, cron=cron, created_by="alice", **extra)


def test_a_slot_fires_once_on_time(schedules: ScheduleService, clock: FakeClock) -> None:
    record = daily(schedules)
    assert record.next_fire_at == dt.datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    scheduler = Scheduler(schedules)

    clock.now = dt.datetime(2026, 3, 2, 2, 59, 59, tzinfo=UTC)
    assert scheduler.tick() == [] and runs_of(schedules) == []

    clock.now = dt.datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    (run_id,) = scheduler.tick()
    (run,) = runs_of(schedules)
    assert (run.run_id, run.pipeline, run.source, run.created_by) == (
        run_id,
        "fetch_calls_pipeline",
        "schedule",
        "alice",
    )
    assert run.arguments == PARAMS
    assert run.idempotency_key == slot_key(record.schedule_id, clock.now)

    clock.now += dt.timedelta(seconds=30)
    assert scheduler.tick() == []  # the same slot never fires twice
    after = schedules.get(NAMESPACE, record.schedule_id)
    assert after.next_fire_at == dt.datetime(2026, 3, 3, 3, 0, tzinfo=UTC)
    assert (after.last_run_id, after.fired_count, after.last_error) == (run_id, 1, "")

    clock.now = dt.datetime(2026, 3, 3, 3, 0, 5, tzinfo=UTC)
    assert len(scheduler.tick()) == 1 and len(runs_of(schedules)) == 2


def test_missed_slots_fire_once_then_the_schedule_continues_from_now(
    schedules: ScheduleService, clock: FakeClock
) -> None:
    record = daily(schedules)
    clock.now = dt.datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # down over five slots
    assert len(Scheduler(schedules).tick()) == 1
    assert Scheduler(schedules).tick() == []
    assert len(runs_of(schedules)) == 1
    assert schedules.get(NAMESPACE, record.schedule_id).next_fire_at == dt.datetime(
        2026, 3, 8, 3, 0, tzinfo=UTC
    )


def test_two_schedulers_racing_on_one_database_fire_each_slot_once(
    schedules: ScheduleService, clock: FakeClock, db_url: str
) -> None:
    every_minute = daily(schedules, cron="* * * * *")
    daily(schedules, cron="*/2 * * * *")
    others = [make_service(db_url, clock) for _ in range(3)]  # other API processes: own engines
    schedulers = [Scheduler(s) for s in [schedules, *others]]
    created: list[str] = []
    lock = threading.Lock()
    for minute in range(1, 7):
        clock.now = T0 + dt.timedelta(minutes=minute)
        barrier = threading.Barrier(len(schedulers))

        def race(scheduler: Scheduler, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            fired = scheduler.tick()
            with lock:
                created.extend(fired)

        threads = [threading.Thread(target=race, args=(s,)) for s in schedulers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    runs = runs_of(schedules)
    assert len(created) == len(set(created)) == len(runs) == 6 + 3
    keys = [r.idempotency_key for r in runs]
    assert len(set(keys)) == len(keys)
    assert schedules.get(NAMESPACE, every_minute.schedule_id).fired_count == 6
    for other in others:
        other.service.store.dispose()


def test_pause_resume_and_delete(schedules: ScheduleService, clock: FakeClock) -> None:
    record = daily(schedules)
    scheduler = Scheduler(schedules)
    paused = schedules.pause(NAMESPACE, record.schedule_id)
    assert paused.state == "paused" and paused.as_dict()["next_fire_at"] is None

    clock.now = dt.datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
    assert scheduler.tick() == []
    clock.now = dt.datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    resumed = schedules.resume(NAMESPACE, record.schedule_id)
    assert resumed.state == "active"
    assert resumed.next_fire_at == dt.datetime(2026, 3, 5, 3, 0, tzinfo=UTC)  # paused slots are not fired
    assert scheduler.tick() == [] and runs_of(schedules) == []

    schedules.delete(NAMESPACE, record.schedule_id)
    clock.now = dt.datetime(2026, 3, 6, 3, 0, tzinfo=UTC)
    assert scheduler.tick() == [] and schedules.list(NAMESPACE) == []
    with pytest.raises(ScheduleNotFound) as missing:
        schedules.get(NAMESPACE, record.schedule_id)
    assert missing.value.status_code == 404


def test_schedules_survive_a_restart(isolated_settings: Path, db_url: str, clock: FakeClock) -> None:
    first = make_service(db_url, clock)
    record = daily(first, timezone="Asia/Kolkata")  # 03:00 IST is 21:30 UTC the day before
    assert record.next_fire_at == dt.datetime(2026, 3, 2, 21, 30, tzinfo=UTC)
    first.service.store.dispose()

    clock.now = dt.datetime(2026, 3, 2, 21, 30, tzinfo=UTC)
    restarted = make_service(db_url, clock)
    (run_id,) = Scheduler(restarted).tick()
    assert restarted.get(NAMESPACE, record.schedule_id).last_run_id == run_id
    restarted.service.store.dispose()


def test_a_slot_whose_run_is_refused_records_why(schedules: ScheduleService, clock: FakeClock) -> None:
    record = daily(schedules)
    schedules.service.api_settings = schedules.service.api_settings.model_copy(update={"api_max_queued": 0})
    clock.now = dt.datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    assert Scheduler(schedules).tick() == []
    after = schedules.get(NAMESPACE, record.schedule_id)
    assert "already waiting for a worker" in after.last_error
    assert after.next_fire_at == dt.datetime(2026, 3, 3, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"cron": "0 3 * *"}, "cron", "4 fields; expected five"),
        ({"cron": "0 25 * * *"}, "cron", "not a valid cron expression"),
        ({"cron": "0 0 30 2 *"}, "cron", "never fires"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown timezone"),
        ({"payload": {"lang": "en", "call_quantity": "many"}}, "call_quantity", ""),
        ({"payload": {"lang": "en", "call_quantity": 5, "nope": 1}}, "nope", ""),
        ({"pipeline": "no_such_pipeline"}, "", "unknown pipeline"),
    ],
)
def test_bad_schedules_are_refused_naming_the_field(
    schedules: ScheduleService, changes: dict, field: str, words: str
) -> None:
    request: dict = {"pipeline": "fetch_calls_pipeline", "payload": PARAMS, "cron": "0 3 * * *"} | changes
    with pytest.raises(ServiceError) as refused:
        schedules.create(
            NAMESPACE,
            request["pipeline"],
            request["payload"],
            cron=request["cron"],
            timezone=changes.get("timezone", "UTC"),
            created_by="alice",
        )
    if field:
        assert field in refused.value.errors, refused.value.errors
        assert words in refused.value.errors[field]
    assert words in refused.value.message
    assert schedules.list(NAMESPACE) == []


def test_cron_helpers() -> None:
    assert check_cron(" 0  3 * * 1 ") == "0 3 * * 1"
    assert check_cron("@daily") == "0 0 * * *"
    assert kfp_cron("0 3 * * 1") == "0 0 3 * * 1"
    assert check_timezone("") == "UTC"
    with pytest.raises(CronError, match="6 fields"):
        check_cron("0 0 3 * * 1")
    # Daylight saving: 02:30 does not exist on 2026-03-08 in New York; croniter moves on, never repeats.
    after = dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    assert next_slot("30 2 * * *", "America/New_York", after) > after


# -- over HTTP ---------------------------------------------------------------------------------------------


def test_schedules_over_http(client: ApiClient) -> None:
    http, auth = client.http, client.auth()
    body = {"pipeline": "fetch_calls_pipeline", "cron": "0 3 * * 1", "parameters": PARAMS, "name": "weekly"}
    created = http.post("/skit/pipelines/schedules", json=body, headers=auth)
    assert created.status_code == 200, created.text
    schedule = created.json()["response"]
    assert (schedule["state"], schedule["cron"], schedule["name"]) == ("active", "0 3 * * 1", "weekly")
    assert schedule["created_by"] == "alice" and schedule["parameters"] == PARAMS
    sid = schedule["schedule_id"]

    listed = http.get("/skit/pipelines/schedules", headers=auth).json()["response"]["schedules"]
    assert [s["schedule_id"] for s in listed] == [sid]
    paused = http.patch(f"/skit/pipelines/schedules/{sid}", json={"state": "paused"}, headers=auth)
    assert paused.json()["response"]["state"] == "paused"
    resumed = http.patch(f"/skit/pipelines/schedules/{sid}", json={"state": "active"}, headers=auth)
    assert resumed.json()["response"]["next_fire_at"]

    # Namespace rules as for runs: bob may use team-b only; another namespace does not see it.
    bob = client.auth("bob")
    assert http.get("/skit/pipelines/schedules", headers=bob).status_code == 403
    assert http.get(f"/team-b/pipelines/schedules/{sid}", headers=bob).status_code == 404
    assert http.get("/skit/pipelines/schedules").status_code == 401

    bad = http.post("/skit/pipelines/schedules", json=body | {"cron": "every monday"}, headers=auth)
    assert bad.status_code == 400 and "cron" in bad.json()["response"]["errors"]
    bad_params = http.post(
        "/skit/pipelines/schedules",
        json=body | {"parameters": {"lang": "en", "call_quantity": "many"}},
        headers=auth,
    )
    assert bad_params.status_code == 400 and "call_quantity" in bad_params.json()["response"]["errors"]

    assert http.delete(f"/skit/pipelines/schedules/{sid}", headers=auth).status_code == 200
    assert http.get(f"/skit/pipelines/schedules/{sid}", headers=auth).status_code == 404
