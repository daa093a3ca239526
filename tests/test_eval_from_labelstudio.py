"""irr_from_tog and eer_from_tog from a Label Studio project alone, end to end on the local runner.

Demo warehouse → fetch_n_tag_calls (a new turn project on a real Label Studio) → annotate through the API as
an annotator would: an intent per task (most agree with the production prediction, every fourth deliberately
not), number spans (one deliberately left untagged, one cut short so its value differs), one task annotated
twice, one annotation cancelled, one task untouched → irr_from_tog and eer_from_tog given only
``labelstudio_project_id`` → their numbers equal the ones computed here from the annotations made: sklearn
for intents, the documented all-entities counting (docs/pipelines/eer_from_tog.md) for entities.
"""

import datetime as dt
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

from skit_pipelines.annotation.client import LabelStudioClient
from skit_pipelines.annotation.download import download_request, fetch_tagged_dataset
from skit_pipelines.config import get_settings
from skit_pipelines.jobs.intent_eval import evaluate_tagged_dataset
from skit_pipelines.metrics.tags import parse_tag
from skit_pipelines.runner.base import RunResult, RunState, StepEvent, get_runner
from skit_pipelines.warehouse.demo_data import generate_demo_warehouse

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlackServer
    from tests.labelstudio_server import LabelStudioServer

pytest_plugins = ["tests.labelstudio_server", "tests.fakes.slack_server"]

SAMPLE = {
    "org_id": "acme",
    "lang": "en",
    "start_date": "2026-03-09",
    "end_date": "2026-03-11",
    "timezone": "UTC",
    "call_quantity": 6,
    "random_seed": 2,
}
DIGITS = re.compile(r"\d{2,}")


@dataclass
class Kept:
    """One task whose latest annotation is evaluated: what the annotator said, what production predicted."""

    intent: str
    predicted_intent: str
    truth: list[tuple[str, int]] = field(default_factory=list)  # (type, value) of the tagged spans
    predicted: list[tuple[str, Any]] = field(default_factory=list)  # (type, value) of raw.entities
    unplaced: int = 0  # predicted entities whose words do not occur in the task text (no span for them)


def _choice(value: str, name: str = "tag") -> dict[str, Any]:
    return {"from_name": name, "to_name": "transcript", "type": "choices", "value": {"choices": [value]}}


def _span(text: str, start: int, end: int, label: str) -> dict[str, Any]:
    value = {"start": start, "end": end, "text": text[start:end], "labels": [label]}
    return {"from_name": "entities", "to_name": "transcript", "type": "labels", "value": value}


def annotate(client: LabelStudioClient, tasks: list[dict[str, Any]]) -> dict[int, Kept]:
    """Annotate the project as described in the module docstring; the tasks whose annotation is kept."""
    intents = sorted({t["data"]["raw"]["intent"] for t in tasks if t["data"]["raw"]["intent"]})

    def another(intent: str) -> str:  # an intent the project offers, other than ``intent``
        return intents[(intents.index(intent) + 1) % len(intents)] if intent in intents else intents[0]

    untouched, cancelled, twice, *rest = tasks
    client.create_annotation(cancelled["id"], [], was_cancelled=True)
    kept: dict[int, Kept] = {}
    numbers_found = 0  # turns with a number that production found too
    for i, task in enumerate([twice, *rest]):
        raw, text = task["data"]["raw"], task["data"]["text"]
        intent = raw["intent"] or intents[0]
        if i % 4 == 1:
            intent = another(intent)  # deliberately not the prediction
        result = [_choice(intent), _choice("gold ready for training", "gold-data")]
        expected = Kept(intent, raw["intent"] or "_")
        for entity in json.loads(raw["entities"] or "[]"):
            expected.predicted.append((entity["type"], entity["value"]))
            words = str(entity.get("body") or entity.get("text") or "")
            expected.unplaced += not words or words.lower() not in text.lower()
        match = DIGITS.search(text)
        if match:
            start, end = match.span()
            if ("number", int(match.group())) in expected.predicted:
                numbers_found += 1
                if numbers_found == 2:
                    end -= 1  # cut short ("179" for "1791"): a mismatch
            if numbers_found != 1 or ("number", int(match.group())) not in expected.predicted:
                result.append(_span(text, start, end, "number"))  # (the first found number is not tagged)
                expected.truth.append(("number", int(text[start:end])))
        if task is twice:
            client.create_annotation(task["id"], [_choice(another(intent))])  # superseded by the next one
        client.create_annotation(task["id"], list(reversed(result)))  # gold first: never the intent
        kept[task["id"]] = expected
    return kept


def entity_outcomes(kept: list[Kept]) -> Counter[str]:
    """tp, mm, fn and fp by the documented all-entities rule: per turn and type, equal values pair as tp,
    the remaining ones pair in order as mm, the rest are fn (truth) or fp (prediction)."""
    outcomes: Counter[str] = Counter()
    for row in kept:
        truth: dict[str, list[Any]] = {}
        predicted: dict[str, list[Any]] = {}
        for kind, value in row.truth:
            truth.setdefault(kind, []).append(value)
        for kind, value in row.predicted:
            predicted.setdefault(kind, []).append(value)
        for kind in truth.keys() | predicted.keys():
            t, p = Counter(truth.get(kind, [])), Counter(predicted.get(kind, []))
            tp = sum((t & p).values())
            left_t, left_p = sum(t.values()) - tp, sum(p.values()) - tp
            mm = min(left_t, left_p)
            outcomes.update(tp=tp, mm=mm, fn=left_t - mm, fp=left_p - mm)
    return outcomes


def _run(name: str, args: dict[str, Any], **kwargs: Any) -> RunResult:
    result = get_runner().run(name, args, **kwargs)
    assert result.succeeded, result.error
    return result


@pytest.fixture
def warehouse(isolated_settings: Path) -> str:
    url = get_settings().effective_warehouse_url
    # seed: the sample predicts only number, date and amount entities and its annotations make every kind of
    # entity outcome (as asserted below); chosen for generator v3
    generate_demo_warehouse(url, calls=40, seed=14, end_date=dt.date(2026, 3, 10), days=1)
    return url


def test_evaluations_download_the_project_they_are_given(
    warehouse: str, labelstudio_env: "LabelStudioServer", slack_server: "FakeSlackServer"
) -> None:
    sampled = _run("fetch_n_tag_calls", {**SAMPLE, "project_title": f"eval {uuid.uuid4().hex[:8]}"}).outputs
    (project,) = (p["project_id"] for p in json.loads(sampled["summary"])["projects"])
    with LabelStudioClient(labelstudio_env.url, labelstudio_env.token) as client:
        tasks = sorted(client.iter_tasks(project, include="id,data"), key=lambda t: t["id"])
        kept = annotate(client, tasks)
    rows = list(kept.values())
    assert len(rows) == len(tasks) - 2  # the untouched task and the cancelled annotation are left out
    assert {kind for row in rows for kind, _ in row.predicted} <= {"number", "date", "amount_of_money"}

    # Intents: sklearn on the annotations made here vs the production predictions that were uploaded.
    y_true = [row.intent for row in rows]
    y_pred = [row.predicted_intent for row in rows]
    events: list[StepEvent] = []
    irr = _run(
        "irr_from_tog",
        {"labelstudio_project_id": str(project), "org_id": "acme", "notify": "U1", "channel": "#ml"},
        on_event=events.append,
    ).outputs
    assert irr["n"] == len(rows) and irr["data_notes"] == ""
    assert 0.5 < irr["accuracy"] < 1.0  # every fourth annotation disagrees on purpose
    assert irr["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert irr["weighted_f1"] == pytest.approx(f1_score(y_true, y_pred, average="weighted", zero_division=0))
    assert irr["kappa"] == pytest.approx(cohen_kappa_score(y_true, y_pred))
    assert [e.step for e in events if e.state == RunState.SUCCEEDED] == [
        "check-download-source",
        "fetch-tagged-dataset",
        "gen-irr-metrics",
        "slack-notification",
    ]
    assert {e.step for e in events if e.state == RunState.SKIPPED} == {"check-tagged-dataset"}
    (post,) = slack_server.calls("chat.postMessage")
    text = json.dumps(post.args["blocks"])
    assert f"Intent evaluation of job {project}" in text
    assert f"{len(rows)} rows from {len(tasks)} tasks and {len(rows) + 2} annotations" in text
    assert "1 unannotated tasks left out" in text and "1 cancelled annotations left out" in text
    assert "1 older annotations left out (latest per task kept)" in text

    # Entities: the spans tagged here (values are the digits) vs the production entities.
    outcomes = entity_outcomes(rows)
    assert min(outcomes[k] for k in ("tp", "mm", "fn", "fp")) >= 1, outcomes  # each kind of error, and hits
    reference = outcomes["tp"] + outcomes["mm"] + outcomes["fn"]
    assert reference == sum(len(row.truth) for row in rows)
    eer = _run("eer_from_tog", {"labelstudio_project_id": str(project), "org_id": "acme"}).outputs
    assert (eer["turns"], eer["skipped_rows"]) == (len(rows), 0)
    errors = outcomes["mm"] + outcomes["fn"] + outcomes["fp"]
    assert eer["entity_error_rate"] == pytest.approx(errors / reference)
    summary = json.loads(Path(eer["summary_uri"]).read_text())
    assert summary["dataset_info"]["dataset_job_id"] == str(project)
    # Production entities carry words, not offsets: the download places them in the task text, so span
    # scores see them (an exact digit match is a strict hit); only words missing from the text stay unplaced.
    assert eer["strict_f1"] > 0 and eer["partial_f1"] >= eer["strict_f1"]
    unplaced = sum(row.unplaced for row in rows)
    warning = "entities without usable start/end offsets (left out of the span scores)"
    assert summary["warnings"].get(warning, 0) == unplaced

    # The raw annotation JSON (the download's ``tag`` column, gold flag first) gives the same truth.
    tagged = fetch_tagged_dataset(
        download_request(labelstudio_project_id=str(project)),
        org_id="acme",
        url=labelstudio_env.url,
        token=labelstudio_env.token,
    )
    from_tag = evaluate_tagged_dataset(tagged.uri, true_label_column="tag")
    assert (from_tag.n, from_tag.accuracy, from_tag.issues) == (len(rows), irr["accuracy"], [])

    # The date parameters reach the download: a window before every annotation leaves nothing, and the
    # failure says why instead of only "no rows".
    arguments = {"labelstudio_project_id": str(project), "end_date": "2020-01-01"}
    result = get_runner().run("irr_from_tog", arguments)
    assert result.state == RunState.FAILED and result.failed_step == "gen-irr-metrics"
    assert "the dataset has no rows" in result.error
    assert f"{len(rows) + 1} annotations outside the date window left out" in result.error


# ------------------------------------------------------------------------ the truth of a raw Label Studio tag


RESULT = [
    _choice("gold ready for training", "gold-data"),
    {
        "from_name": "entities",
        "to_name": "transcript",
        "type": "labels",
        "value": {"start": 0, "end": 4, "text": "1103", "labels": ["number"]},
    },
    _choice("inform_digits"),
]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        (RESULT, ("inform_digits", "")),  # the intent control, not the gold flag listed first
        ([_choice("a"), _choice("b")], ("a", "tag with several labels (first kept)")),
        (
            [{"from_name": "tag", "type": "taxonomy", "value": {"taxonomy": [["billing", "x"]]}}],
            ("billing", ""),
        ),
        ([_choice("x", "intent")], ("x", "")),  # another label config: the choices of its items
        (RESULT[1:2], (None, "tag of unexpected shape")),  # only a span: no intent
    ],
)
def test_a_label_studio_result_gives_the_intent_control(
    tag: list[dict[str, Any]], expected: tuple[str | None, str]
) -> None:
    parsed = parse_tag(json.dumps(tag))
    assert (parsed.label, parsed.issue) == expected
