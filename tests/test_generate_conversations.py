"""generate_and_tag_conversations: the job against a real Label Studio, the LLM as a loopback
chat-completions server (the real openai client), rows on SQLite and PostgreSQL, and the pipeline end to end
on kfp's local runner."""

import csv
import io
import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from skit_pipelines import storage
from skit_pipelines.annotation.client import LabelStudioClient
from skit_pipelines.conversations.request import generation_request_from
from skit_pipelines.jobs.generate_conversations import (
    LABELSTUDIO_COLUMNS,
    LLMGenerationError,
    generate_and_tag,
)
from skit_pipelines.llm.endpoint import LLMEndpoint
from skit_pipelines.parameters import InvalidParameterError
from skit_pipelines.runner.base import RunState, get_runner
from skit_pipelines.situations import Situation
from skit_pipelines.stores.conversations import (
    ConversationRow,
    read_generated_conversations,
    read_prompt_details,
    record_conversations,
)
from skit_pipelines.stores.situations import add_situations, invalidate_situations
from tests.fakes.openai_server import FakeChatCompletionsServer

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlackServer
    from tests.labelstudio_server import LabelStudioServer

pytest_plugins = ["tests.labelstudio_server", "tests.fakes.slack_server"]

LOST_JOB = Situation("customer lost job last month", "asks for more time", "PAYMENT_DELAY")
PAID = Situation("borrower already paid", "wants the calls to stop", "ALREADY_PAID")
BROKEN = Situation("broken answer please", "the model answers in prose", "PAYMENT_DELAY")
NO_LLM = LLMEndpoint(model="")


def _ids(*situations: Situation, url: str = "") -> list[int]:
    return [s.situation_id for s in add_situations(list(situations), url)]


def _title() -> str:
    return f"generated {uuid.uuid4().hex[:8]}"


def _run(ls: "LabelStudioServer", url: str = "", llm: LLMEndpoint = NO_LLM, **arguments: Any):
    request = generation_request_from(**arguments)
    return generate_and_tag(
        request, llm=llm, labelstudio_url=ls.url, labelstudio_token=ls.token, database_url=url
    )


def _tasks(ls: "LabelStudioServer", project_id: int) -> list[dict[str, Any]]:
    with LabelStudioClient(ls.url, ls.token) as client:
        return [t["data"] for t in client.iter_tasks(project_id, include="id,data")]


def _folder_files(uri: str) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in Path(uri).iterdir()}


def test_offline_generator_stores_records_uploads_and_reruns_idempotently(
    db_url: str, labelstudio_env: "LabelStudioServer"
) -> None:
    ids = _ids(LOST_JOB, PAID, url=db_url)
    arguments = dict(
        situation_id_list=",".join(map(str, ids)),
        project_title=_title(),
        client_id="105",
        template_id="7",
        project_name="exp 1",
        data_label="uat",
    )
    first = _run(labelstudio_env, db_url, **arguments)
    assert (len(first.outputs), len(first.valid), len(first.invalid)) == (4, 4, 0)
    assert (first.uploaded, first.skipped_duplicates, first.rows_added) == (4, 0, 4)
    assert (
        "with the offline template generator (demo-dialogue-v1 (template generator, no LLM)) - not an LLM"
        in (first.message)
    )
    assert "/llm_artifacts/generated_conversations/105_7/" in first.folder_uri

    files = _folder_files(first.folder_uri)
    table = list(csv.DictReader(io.StringIO(files["conversations.csv"])))
    assert len(table) == 4 and set(LABELSTUDIO_COLUMNS) <= set(table[0])
    assert {row["data_label"] for row in table} == {"UAT"}
    assert {row["generator"] for row in table} == {"template: demo-dialogue-v1 (template generator, no LLM)"}
    assert json.loads(files["summary.json"])["generator_label"].endswith("not an LLM")
    assert "invalid.jsonl" not in files
    one = json.loads(next(text for name, text in files.items() if name.startswith(f"{ids[0]}_")))
    assert one["situation"] == "customer lost job last month" and one["generator"] == "template"
    assert one["turns"][0]["speaker"] == "BOT"

    project_id = first.upload.project_id
    assert first.upload.created
    tasks = _tasks(labelstudio_env, project_id)
    assert sorted(t["situation_str"] for t in tasks) == sorted(
        [LOST_JOB.situation] * 2 + [PAID.situation] * 2
    )
    assert {t["scenario_category"] for t in tasks} == {"PAYMENT_DELAY", "ALREADY_PAID"}
    assert all(t["call"].startswith("BOT: Hello, this is ") for t in tasks)

    rows = read_generated_conversations(db_url)
    assert len(rows) == 4 and {r["generator"] for r in rows} == {"template"}
    assert {(r["client_id"], r["template_id"], r["project_name"], r["prompt_id"]) for r in rows} == {
        ("105", "7", "exp 1", None)
    }
    assert all(Path(r["generated_conversations_s3_link"]).is_file() for r in rows)
    assert {r["conversation_key"] for r in rows} == {t["conversation_id"] for t in tasks}

    again = _run(labelstudio_env, db_url, **arguments)
    assert (again.uploaded, again.skipped_duplicates, again.rows_added, again.rows_existing) == (0, 4, 0, 4)
    assert not again.upload.created and again.upload.project_id == project_id
    assert len(_tasks(labelstudio_env, project_id)) == 4 and len(read_generated_conversations(db_url)) == 4


def _conversation(body: dict[str, Any]) -> str:
    """A chat-completions answer: a valid conversation that names the request's situation and number, or
    prose for the situation that asks for a broken answer."""
    user = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
    if "broken answer" in user:
        return "Sorry, I cannot write that conversation."
    number = user.split("Write conversation ", 1)[1].split(" ", 1)[0]
    situation = user.split("Situation: ", 1)[1].splitlines()[0]
    turns = [
        {"speaker": "BOT", "text": f"Hello, this is Acme Loans. Conversation {number}."},
        {"speaker": "USER", "text": f"Hi. {situation}."},
        {"speaker": "BOT", "text": "I understand. Could you pay part of it next week?"},
        {"speaker": "USER", "text": "Maybe half."},
        {"speaker": "BOT", "text": "Thank you, goodbye."},
    ]
    return json.dumps({"turns": turns})


def test_llm_path_counts_malformed_answers_and_survives_a_429(
    labelstudio_env: "LabelStudioServer",
) -> None:
    ids = _ids(LOST_JOB, BROKEN)
    with FakeChatCompletionsServer(answer=_conversation) as server:
        server.fail_next(429, 1, retry_after="0")
        llm = LLMEndpoint(model="fake-gpt", base_url=server.v1_url, concurrency=2)
        arguments = dict(situation_id_list=",".join(map(str, ids)), project_title=_title(), n_choice=3)
        result = _run(labelstudio_env, llm=llm, **arguments)
        assert len(server.requests) == 7  # 6 conversations + the one answered 429
        assert any("Situation: customer lost job last month" in r.user_text for r in server.requests)
        assert all(r.body["response_format"] == {"type": "json_object"} for r in server.requests)

        assert (len(result.valid), len(result.invalid), result.uploaded) == (3, 3, 3)
        assert {o.situation_id for o in result.valid} == {ids[0]}
        assert all(o.problems[0].startswith("parse: no JSON object") for o in result.invalid)
        assert result.generator == "llm" and result.model == "fake-gpt" and result.usage.total_tokens > 0
        assert (
            "with the LLM fake-gpt (prompt conversation_generator v1): 3 valid, 3 invalid" in result.message
        )
        assert f"- situation {ids[1]} #1: parse: no JSON object" in result.message
        invalid = [
            json.loads(line) for line in _folder_files(result.folder_uri)["invalid.jsonl"].splitlines()
        ]
        assert [i["raw"] for i in invalid] == ["Sorry, I cannot write that conversation."] * 3
        tasks = _tasks(labelstudio_env, result.upload.project_id)
        assert sorted(t["call"].splitlines()[0] for t in tasks) == [
            f"BOT: Hello, this is Acme Loans. Conversation {n}." for n in (1, 2, 3)
        ]
        assert {t["generator"] for t in tasks} == {"llm: fake-gpt"}

        (prompt,) = read_prompt_details()
        assert (prompt["prompt_name"], prompt["prompt_version"]) == ("conversation_generator", "1")
        assert "You write realistic, synthetic phone conversations" in storage.read_text(
            prompt["links_to_prompt_in_s3"]
        )
        rows = read_generated_conversations()
        assert len(rows) == 3 and {(r["generator"], r["model"], r["prompt_id"]) for r in rows} == {
            ("llm", "fake-gpt", prompt["id"])
        }

        again = _run(labelstudio_env, llm=llm, **arguments)  # temperature 0: the same answers
        assert (again.uploaded, again.skipped_duplicates, again.rows_added) == (0, 3, 0)
        assert len(read_prompt_details()) == 1 and again.prompt_id == prompt["id"]


def test_a_users_prompt_file_is_used_and_versioned_by_its_content(
    labelstudio_env: "LabelStudioServer", tmp_path: Path
) -> None:
    (situation_id,) = _ids(LOST_JOB)
    prompt = tmp_path / "my_prompt.yaml"
    prompt.write_text(
        "name: conversation_generator\nversion: '7'\nuser: |\n  Situation: $situation\n"
        "  Write conversation $conversation_number of $conversations_total (house style).\n"
    )
    with FakeChatCompletionsServer(answer=_conversation) as server:
        llm = LLMEndpoint(model="configured", base_url=server.v1_url)
        result = _run(
            labelstudio_env,
            llm=llm,
            situation_id_list=str(situation_id),
            project_title=_title(),
            n_choice=1,
            model="override-model",
            prompt_file_path=str(prompt),
        )
        (request,) = server.requests
        assert request.body["model"] == "override-model" and "(house style)" in request.user_text
        assert request.body["messages"][0]["role"] == "user"  # the user's file has no system text
    assert result.prompt_version.startswith("7+") and len(result.prompt_version) == 10
    assert read_prompt_details()[0]["prompt_version"] == result.prompt_version

    wrong = tmp_path / "judge.yaml"
    wrong.write_text("name: compliance_judge\nversion: '1'\nuser: $transcript\n")
    with pytest.raises(InvalidParameterError) as info:
        _run(
            labelstudio_env,
            llm=llm,
            situation_id_list=str(situation_id),
            project_title=_title(),
            prompt_file_path=str(wrong),
        )
    assert info.value.parameter == "prompt_file_path" and "expected 'conversation_generator'" in str(
        info.value
    )


def test_every_llm_request_failing_fails_the_run(labelstudio_env: "LabelStudioServer") -> None:
    (situation_id,) = _ids(LOST_JOB)
    with FakeChatCompletionsServer(api_key="right") as server:
        llm = LLMEndpoint(model="m", base_url=server.v1_url, api_key="wrong")
        with pytest.raises(LLMGenerationError, match="every LLM request failed .* auth: HTTP 401"):
            _run(labelstudio_env, llm=llm, situation_id_list=str(situation_id), project_title=_title())
    assert read_generated_conversations() == []


def test_invalidated_situations_are_skipped_and_unknown_ids_refused(
    labelstudio_env: "LabelStudioServer",
) -> None:
    valid, invalid = _ids(LOST_JOB, PAID)
    invalidate_situations([invalid], reason="test")
    title = _title()
    result = _run(labelstudio_env, situation_id_list=f"{valid},{invalid}", project_title=title, n_choice=1)
    assert [o.situation_id for o in result.outputs] == [valid]
    assert f"Skipped invalidated situations: {invalid}." in result.message

    by_category = _run(labelstudio_env, scenario_category=" payment_delay", project_title=title, n_choice=1)
    assert [o.situation_id for o in by_category.outputs] == [valid] and by_category.skipped_duplicates == 1

    with pytest.raises(InvalidParameterError) as info:
        _run(labelstudio_env, situation_id_list=f"{valid},999999", project_title=title)
    assert info.value.parameter == "situation_id_list"
    assert "no situation with id 999999 in situation_scenario_mapper" in str(info.value)
    with pytest.raises(InvalidParameterError, match=f"every situation given is invalidated \\({invalid}\\)"):
        _run(labelstudio_env, situation_id_list=str(invalid), project_title=title)
    with pytest.raises(InvalidParameterError, match="no valid situation of category 'ALREADY_PAID'"):
        _run(labelstudio_env, scenario_category="already_paid", project_title=title)


def test_older_tables_get_the_new_columns_and_keep_their_rows(db_url: str) -> None:
    """Tables written before conversations were generated (the reference's columns) are upgraded in place."""
    legacy = sa.MetaData()
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    sa.Table(
        "situation_scenario_mapper",
        legacy,
        sa.Column("id", id_type, primary_key=True),
        sa.Column("situation", sa.Text, nullable=False),
        sa.Column("scenario", sa.Text),
        sa.Column("scenario_category", sa.String(511)),
    )
    sa.Table(
        "prompt_details", legacy, sa.Column("id", id_type, primary_key=True), sa.Column("client_id", sa.Text)
    )
    old = sa.Table(
        "generated_conversations",
        legacy,
        sa.Column("id", id_type, primary_key=True),
        sa.Column("situation_id", id_type, nullable=False),
        sa.Column("generated_conversations_s3_link", sa.Text),
    )
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            legacy.create_all(conn)
            mapper = legacy.tables["situation_scenario_mapper"]
            situation_id = conn.execute(
                mapper.insert()
                .values(situation="a", scenario="b", scenario_category="C")
                .returning(mapper.c.id)
            ).scalar_one()
            link = {"generated_conversations_s3_link": "s3://old"}
            conn.execute(old.insert().values(situation_id=situation_id, **link))
    finally:
        engine.dispose()
    row = ConversationRow("k" * 64, situation_id, "/tmp/x.json", "template", "demo")
    assert record_conversations([row, row], database_url=db_url) == (1, 1)
    assert record_conversations([row], database_url=db_url) == (0, 1)
    rows = read_generated_conversations(db_url)
    assert [(r["generated_conversations_s3_link"], r["conversation_key"]) for r in rows] == [
        ("s3://old", None),
        ("/tmp/x.json", "k" * 64),
    ]


@pytest.mark.slow
def test_pipeline_end_to_end_on_the_local_runner(
    labelstudio_env: "LabelStudioServer", slack_server: "FakeSlackServer"
) -> None:
    runner = get_runner()
    added = runner.run(
        "add_llm_situations", {"situations": "customer lost job::asks for more time::payment_delay"}
    )
    assert added.state == RunState.SUCCEEDED, added.error
    arguments = {
        "situation_id_list": added.outputs["situation_ids"],
        "project_title": _title(),
        "channel": "#llm",
        "data_label": "UAT",
    }
    run = runner.run("generate_and_tag_conversations", arguments)
    assert run.state == RunState.SUCCEEDED, run.error
    assert (run.outputs["generated"], run.outputs["valid"], run.outputs["uploaded"]) == (2, 2, 2)
    assert run.outputs["generator"] == "template"
    (post,) = slack_server.calls("chat.postMessage")
    assert "offline template generator" in post.args["text"] and "not an LLM" in post.args["text"]
    assert "Uploaded 2 conversations for tagging to labelstudio_project_id=" in post.args["text"]

    again = runner.run("generate_and_tag_conversations", arguments)
    assert again.state == RunState.SUCCEEDED, again.error
    assert (again.outputs["uploaded"], again.outputs["skipped_duplicates"], again.outputs["rows_added"]) == (
        0,
        2,
        0,
    )

    unknown = runner.run("generate_and_tag_conversations", {**arguments, "situation_id_list": "424242"})
    assert unknown.state == RunState.FAILED and "no situation with id 424242" in unknown.error
