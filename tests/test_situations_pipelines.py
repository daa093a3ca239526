"""add_llm_situations and invalidate_llm_situations_in_db: the jobs, and both pipelines end to end on kfp's
local runner (SQLite by default, and PostgreSQL through SKIT_DATABASE_URL), with Slack as a fake server."""

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from skit_pipelines import storage
from skit_pipelines.jobs.situations import (
    add_llm_situations,
    invalidate_llm_situations,
    invalidate_request_from,
)
from skit_pipelines.parameters import InvalidParameterError
from skit_pipelines.pipelines import get_pipeline
from skit_pipelines.pipelines.parameters import validate_arguments
from skit_pipelines.runner.base import RunState, get_runner
from skit_pipelines.situations import InvalidationOutcome
from skit_pipelines.stores.situations import UnknownSituationsError, read_situations

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.fakes.slack_server"]


def _csv_rows(uri: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(storage.read_text(uri))))


def test_add_job_reads_entries_and_a_file_and_writes_the_csv(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "situations.json"
    path.write_text(
        json.dumps([{"situation": "Angry", "scenario": "wants manager", "scenario_category": "escalation"}])
    )
    first = add_llm_situations("lost job::asks for time::delay", str(path), database_url=db_url)
    assert (first.added, first.reused) == (2, 0)
    rows = _csv_rows(first.uri)
    assert [(r["situation"], r["scenario"], r["scenario_category"], r["new"]) for r in rows] == [
        ("lost job", "asks for time", "DELAY", "True"),
        ("angry", "wants manager", "ESCALATION", "True"),
    ]
    assert first.ids == ",".join(r["situation_id"] for r in rows)

    again = add_llm_situations("Angry::Wants Manager::Escalation|new::one::X", database_url=db_url)
    assert (again.added, again.reused) == (1, 1)
    assert again.situations[0].situation_id == first.situations[1].situation_id
    assert again.message.startswith(
        "2 situation(s): 1 added, 1 already registered (reused). situation_id_list:"
    )


def test_add_job_errors_name_the_parameter(tmp_path: Path, db_url: str) -> None:
    bad = tmp_path / "situations.csv"
    bad.write_text("situation,scenario\na,b\n")
    with pytest.raises(InvalidParameterError) as info:
        add_llm_situations("", str(bad), database_url=db_url)
    assert info.value.parameter == "situations_path" and "missing column(s) scenario_category" in str(
        info.value
    )
    with pytest.raises(InvalidParameterError, match="situations: required, or situations_path"):
        add_llm_situations("", "", database_url=db_url)
    assert read_situations(db_url) == []


def test_invalidate_job_messages(db_url: str) -> None:
    added = add_llm_situations("a::b::c|d::e::f", database_url=db_url)
    ids = added.ids
    first = invalidate_llm_situations(
        invalidate_request_from(ids, reason=" dup ", notify="U1"), database_url=db_url
    )
    assert first.message.splitlines()[:2] == [
        f"is_valid has been set to False for the situations : {ids}",
        "2 invalidated, 0 already invalid, 0 not found.",
    ]
    assert json.loads(first.outcomes_json()) == {i: "invalidated" for i in ids.split(",")}
    rows = read_situations(db_url)
    assert {(r["invalidated_by"], r["invalidation_reason"]) for r in rows} == {("U1", "dup")}

    rerun = invalidate_llm_situations(invalidate_request_from(ids), database_url=db_url)
    assert rerun.message.startswith("Nothing changed")
    assert "0 invalidated, 2 already invalid, 0 not found." in rerun.message
    assert rerun.count(InvalidationOutcome.ALREADY_INVALID) == 2

    with pytest.raises(UnknownSituationsError):
        invalidate_llm_situations(invalidate_request_from(f"{ids},99999"), database_url=db_url)
    ignored = invalidate_llm_situations(
        invalidate_request_from("99999", ignore_missing=True), database_url=db_url
    )
    assert "Not found (ignored): 99999" in ignored.message
    assert invalidate_request_from("1").invalidated_by == "invalidate_llm_situations_in_db"


def test_the_faces_refuse_bad_arguments_before_a_run() -> None:
    from skit_pipelines.parameters import InvalidArgumentsError

    with pytest.raises(InvalidArgumentsError) as info:
        validate_arguments(
            "invalidate_llm_situations_in_db",
            get_pipeline("invalidate_llm_situations_in_db"),
            {"situation_id_list": "1,two"},
        )
    assert info.value.errors == {"situation_id_list": "situation_id_list: not positive integer ids: 'two'"}
    with pytest.raises(InvalidArgumentsError) as info:
        validate_arguments(
            "add_llm_situations", get_pipeline("add_llm_situations"), {"situations": "only one part"}
        )
    assert "has 1 part(s)" in info.value.errors["situations"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_both_pipelines_end_to_end(
    backend: str, request: pytest.FixtureRequest, settings_env, slack_server: "FakeSlackServer"
) -> None:
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_schema_url")
        settings_env(SKIT_DATABASE_URL=url)
    else:
        url = ""  # the embedded default: SQLite under SKIT_HOME
    runner = get_runner()
    added = runner.run(
        "add_llm_situations",
        {
            "situations": json.dumps(["Lost Job::asks for time::delay", "angry::wants manager::Escalation"]),
            "channel": "#llm",
        },
    )
    assert added.state == RunState.SUCCEEDED, added.error
    assert (added.outputs["situations_count"], added.outputs["added"], added.outputs["reused"]) == (2, 2, 0)
    ids = added.outputs["situation_ids"]
    assert [r["situation_id"] for r in _csv_rows(added.outputs["situations_uri"])] == ids.split(",")
    (post,) = slack_server.calls("chat.postMessage")
    assert f"situation_id_list: {ids}" in post.args["text"]

    invalidated = runner.run(
        "invalidate_llm_situations_in_db",
        {"situation_id_list": ids, "reason": "test", "notify": "U42", "channel": "#llm"},
    )
    assert invalidated.state == RunState.SUCCEEDED, invalidated.error
    assert (invalidated.outputs["invalidated"], invalidated.outputs["not_found"]) == (2, 0)
    post = slack_server.calls("chat.postMessage")[-1]
    assert f"is_valid has been set to False for the situations : {ids}" in post.args["text"]
    assert "2 invalidated, 0 already invalid, 0 not found." in post.args["text"]
    rows = read_situations(url)
    assert {(r["is_valid"], r["invalidated_by"], r["invalidation_reason"]) for r in rows} == {
        (False, "U42", "test")
    }

    unknown = runner.run("invalidate_llm_situations_in_db", {"situation_id_list": f"{ids},424242"})
    assert unknown.state == RunState.FAILED
    assert "no situation with id 424242" in unknown.error and "nothing was changed" in unknown.error

    rerun = runner.run("invalidate_llm_situations_in_db", {"situation_id_list": ids})
    assert rerun.state == RunState.SUCCEEDED, rerun.error
    assert (rerun.outputs["invalidated"], rerun.outputs["already_invalid"]) == (0, 2)
    assert rerun.step_messages["invalidate-situations-in-db"].startswith("Nothing changed")

    again = runner.run("add_llm_situations", {"situations": "lost job::asks for time::DELAY"})
    assert again.state == RunState.SUCCEEDED, again.error
    assert again.outputs["added"] == 1  # the invalidated row is not reused
