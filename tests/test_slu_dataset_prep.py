"""Dataset preparation of Retrain SLU (spec 7.3 d, g, i; issue 13 step 4) on tagged-CSV-shaped frames."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.slu.dataset_prep import PreparationOptions, PreviousDataset, prepare_datasets
from skit_pipelines.slu.dataset_steps import (
    DatasetPreparationError,
    drop_duplicates,
    ensure_intent_column,
    pick_first_tags,
    split_new_data,
    text_keys,
)
from tests.conftest import skip_or_fail


def ls_result(*intents: str, gold: bool = False) -> str:
    """The ``tag`` cell of our tagged CSV: a Label Studio annotation result (fetch_tagged_calls_dataset)."""
    items = [
        {"from_name": "tag", "to_name": "transcript", "type": "choices", "value": {"choices": list(intents)}}
    ]
    if gold:
        items.insert(
            0,
            {
                "from_name": "gold-data",
                "to_name": "transcript",
                "type": "choices",
                "value": {"choices": ["gold ready for training"]},
            },
        )
    return json.dumps(items)


def tagged(rows: list[tuple[str, str]], prediction: str = "") -> pd.DataFrame:
    """A tagged dataset as fetch_tagged_calls_dataset writes it (the columns the preparation reads)."""
    return pd.DataFrame(
        {
            "data_id": [f"d{i}" for i in range(len(rows))],
            "tag": [tag for _text, tag in rows],
            "intent_y": "",
            "alternatives": [json.dumps([{"transcript": text}]) for text, _tag in rows],
            "raw.intent": prediction,
        }
    )


def slu_csv(rows: list[tuple[str, str]]) -> pd.DataFrame:
    """An SLU project's train.csv / test.csv: text + plain intent in ``tag``."""
    return pd.DataFrame({"text": [text for text, _ in rows], "tag": [tag for _, tag in rows]})


def many(intent: str, n: int, prefix: str = "") -> list[tuple[str, str]]:
    return [(f"{prefix}{intent} utterance {i}", intent) for i in range(n)]


# ------------------------------------------------------------------------------------------ first tag


def test_first_tag_of_every_shape_with_drops_counted_by_reason() -> None:
    frame = tagged(
        [
            ("yes please", ls_result("confirm")),
            ("gold row", ls_result("deny", gold=True)),  # the gold flag is another control, not the intent
            ("two labels", ls_result("confirm", "deny")),
            ("tog shape", json.dumps({"type": "greet"})),
            ("plain", "goodbye"),
            ("nothing", ""),
            ("odd", json.dumps({"foo": 1})),
        ]
    )
    out, count = pick_first_tags(frame, "labelstudio project 7")
    assert out["tag"].tolist() == ["confirm", "deny", "confirm", "greet", "goodbye"]
    assert (count.rows, count.kept, count.several_labels) == (7, 5, 1)
    assert count.dropped == {"empty tag": 1, "tag of unexpected shape": 1}
    assert (
        "labelstudio project 7: 7 rows, 2 dropped (empty tag: 1, tag of unexpected shape: 1)" in count.line()
    )


def test_intent_y_is_the_intent_when_there_is_no_tag_column() -> None:
    frame = pd.DataFrame({"text": ["a", "b", "c"], "intent_y": ["x", "", "y"]})
    out, count = pick_first_tags(frame, "data.csv")
    assert out["tag"].tolist() == ["x", "y"]
    assert count.dropped == {"empty intent_y": 1}


def test_sources_without_intent_or_text_are_named_in_the_error() -> None:
    with pytest.raises(DatasetPreparationError, match=r"data\.csv: no 'tag' column \(nor 'intent_y'\)"):
        pick_first_tags(pd.DataFrame({"text": ["a"], "label": ["x"]}), "data.csv")
    with pytest.raises(DatasetPreparationError, match=r"data\.csv: none of the text columns"):
        pick_first_tags(pd.DataFrame({"sentence": ["a"], "tag": ["x"]}), "data.csv")


def test_no_new_data_is_an_error_naming_the_sources() -> None:
    empty = tagged([])
    with pytest.raises(
        DatasetPreparationError, match=r"every source is empty \(labelstudio, s3://b/x\.csv\)"
    ):
        prepare_datasets([("labelstudio", empty), ("s3://b/x.csv", empty)], PreparationOptions())
    untagged = tagged([("hello", ""), ("hi", "")])
    with pytest.raises(DatasetPreparationError, match="no new row has an intent: labelstudio: 2 rows"):
        prepare_datasets([("labelstudio", untagged)], PreparationOptions())


# ------------------------------------------------------------------------------------------ options


@pytest.mark.parametrize("percent", [0, 101, -5, True, 85.5, "85"])
def test_train_split_percent_outside_1_to_100_is_refused(percent: object) -> None:
    with pytest.raises(
        DatasetPreparationError, match="train_split_percent must be a whole number from 1 to 100"
    ):
        PreparationOptions(train_split_percent=percent)  # type: ignore[arg-type]


def test_an_intent_under_two_aliases_is_refused() -> None:
    with pytest.raises(DatasetPreparationError, match="'billing' under two aliases, 'money' and 'payments'"):
        PreparationOptions(aliases={"money": ["billing"], "payments": ["refund", "billing"]})


def test_text_lists_are_split_not_read_character_by_character() -> None:
    options = PreparationOptions(remove_intents="greet, bye", aliases={"money": "billing"})
    assert tuple(options.remove_intents) == ("greet", "bye")
    assert dict(options.aliases) == {"money": ("billing",)}
    source = [("csv", slu_csv(many("billing", 4) + many("greet", 4) + many("bye", 4) + many("b", 4)))]
    out = prepare_datasets(source, options)
    assert sorted(out.report.intents) == ["b", "money"]


def test_errors_derive_from_the_product_root() -> None:
    assert issubclass(DatasetPreparationError, SkitPipelinesError)
    assert issubclass(DatasetPreparationError, ValueError)


# ------------------------------------------------------------------------------------------ split


def test_split_counts_are_exact_integers() -> None:
    frame = slu_csv(many("a", 100))
    train, test, aside = split_new_data(frame, 29, seed=1)  # 0.29 * 100 is 28.999... in floating point
    assert (len(train), len(test), aside) == (29, 71, 0)


def test_stratified_split_keeps_each_intents_share_and_puts_single_row_intents_in_train() -> None:
    frame = slu_csv(many("a", 40) + many("b", 20) + many("lonely", 1))
    train, test, aside = split_new_data(frame, 75, stratify=True, seed=3)
    assert aside == 1
    assert "lonely" in set(train["tag"]) and "lonely" not in set(test["tag"])
    assert test["tag"].value_counts().to_dict() == {"a": 10, "b": 5}
    assert train["tag"].value_counts().to_dict() == {"a": 30, "b": 15, "lonely": 1}


def test_a_stratified_split_that_cannot_hold_every_intent_says_what_to_change() -> None:
    frame = slu_csv(many("a", 2) + many("b", 2) + many("c", 2))
    with pytest.raises(DatasetPreparationError, match="set stratify=false, or a train_split_percent"):
        split_new_data(frame, 90, stratify=True)


def test_shares_round_the_train_side_down_so_a_test_row_always_remains() -> None:
    assert [len(side) for side in split_new_data(slu_csv(many("a", 3)), 99)[:2]] == [2, 1]
    assert [len(side) for side in split_new_data(slu_csv(many("a", 3)), 30)[:2]] == [0, 3]


ROWS = st.lists(
    st.tuples(st.text(alphabet="abc ", min_size=1, max_size=6), st.sampled_from(["x", "y", "z", "w"])),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS, percent=st.integers(1, 100), seed=st.integers(0, 2**16), stratify=st.booleans())
def test_split_loses_and_duplicates_no_row_and_is_seeded(
    rows: list[tuple[str, str]], percent: int, seed: int, stratify: bool
) -> None:
    frame = slu_csv(rows)
    frame["row"] = range(len(frame))
    try:
        train, test, aside = split_new_data(frame, percent, stratify=stratify, seed=seed)
    except DatasetPreparationError as exc:  # only a stratified split may be impossible, and says why
        assert stratify and "stratify=false" in str(exc)
        return
    assert sorted(train["row"].tolist() + test["row"].tolist()) == list(range(len(frame)))
    stratifiable = len(frame) - aside
    assert len(train) - aside == stratifiable * percent // 100
    again = split_new_data(frame, percent, stratify=stratify, seed=seed)
    assert again[0]["row"].tolist() == train["row"].tolist()
    assert again[1]["row"].tolist() == test["row"].tolist()


def test_another_seed_gives_another_split() -> None:
    frame = slu_csv(many("a", 50) + many("b", 50))
    first = split_new_data(frame, 80, seed=1)[1]["text"].tolist()
    second = split_new_data(frame, 80, seed=2)[1]["text"].tolist()
    assert first != second


# ------------------------------------------------------------------------------------------ combine


def previous() -> PreviousDataset:
    return PreviousDataset(
        train=slu_csv(many("a", 6, "old ") + many("b", 6, "old ")),
        test=slu_csv(many("a", 2, "old test ") + many("b", 2, "old test ")).assign(intent="a"),
    )


def new_source(n: int = 10) -> list[tuple[str, pd.DataFrame]]:
    rows = [(f"new a {i}", ls_result("a")) for i in range(n)] + [
        (f"new b {i}", ls_result("b")) for i in range(n)
    ]
    return [("labelstudio project 3", tagged(rows, prediction="a"))]


def test_below_100_percent_old_and_new_train_and_test_are_combined() -> None:
    out = prepare_datasets(new_source(), PreparationOptions(train_split_percent=80, seed=5), previous())
    assert len(out.train) == 12 + 16 and len(out.test) == 4 + 4
    assert out.train["text"].head(12).str.startswith("old ").all()  # old rows first, as combine-data did
    assert out.evaluation is out.test
    assert out.report.used_previous and out.report.previous_train_rows == 12


def test_without_use_previous_dataset_only_new_rows_are_kept() -> None:
    options = PreparationOptions(train_split_percent=80, use_previous_dataset=False)
    out = prepare_datasets(new_source(), options, previous())
    assert (len(out.train), len(out.test)) == (16, 4)
    assert not out.report.used_previous
    assert "not used for training" in "\n".join(out.report.lines())


def test_at_100_percent_new_rows_join_train_and_the_old_test_set_stays() -> None:
    out = prepare_datasets(new_source(), PreparationOptions(train_split_percent=100), previous())
    assert len(out.train) == 12 + 20
    assert out.test["text"].tolist() == previous().test["text"].tolist()


def test_a_custom_test_set_means_every_new_row_trains_and_is_what_is_evaluated() -> None:
    custom = pd.DataFrame(
        {"text": ["held out a", "held out b"], "tag": [ls_result("a"), ls_result("b")], "raw.intent": "b"}
    )
    out = prepare_datasets(new_source(), PreparationOptions(train_split_percent=70), previous(), custom)
    assert out.report.train_split_percent == 100 and out.report.requested_split_percent == 70
    assert len(out.train) == 12 + 20
    assert out.test["text"].tolist() == previous().test["text"].tolist()  # test.csv keeps the old test set
    assert out.evaluation["text"].tolist() == ["held out a", "held out b"]
    assert out.evaluation["intent"].tolist() == ["b", "b"]  # the production prediction, from raw.intent
    assert "requested 70 %; a custom test set means 100 %" in "\n".join(out.report.lines())


def test_first_training_with_a_custom_test_set_stores_it_as_test_csv() -> None:
    custom = pd.DataFrame({"text": ["held out"], "tag": [ls_result("a")]})
    out = prepare_datasets(new_source(), PreparationOptions(), None, custom)
    assert out.test["text"].tolist() == ["held out"]
    assert "use_previous_dataset is true but there is no previous dataset" in "\n".join(out.report.lines())


def test_nothing_to_evaluate_on_is_an_error() -> None:
    with pytest.raises(DatasetPreparationError, match="no test rows to evaluate the model on"):
        prepare_datasets(new_source(), PreparationOptions(train_split_percent=100), None)


# ------------------------------------------------------------------------------ alias, remove, dedupe


def test_aliases_apply_before_remove_intents_on_train_and_test() -> None:
    old = PreviousDataset(
        train=slu_csv([("pay now", "billing"), ("refund me", "refund"), ("hi", "greet")]),
        test=slu_csv([("pay later", "billing"), ("hello", "greet")]),
    )
    source = [("csv", slu_csv([("bill", "billing"), ("bye", "goodbye"), ("ciao", "goodbye")]))]
    options = PreparationOptions(
        train_split_percent=100, aliases={"money": ["billing", "refund"]}, remove_intents=["goodbye"]
    )
    out = prepare_datasets(source, options, old)
    assert out.train["tag"].tolist() == ["money", "money", "greet", "money"]
    assert out.test["tag"].tolist() == ["money", "greet"]
    assert out.report.aliased == {"money": 4}
    assert out.report.removed == {"goodbye": 2}


def test_remove_intents_naming_an_unknown_or_aliased_intent_is_an_error() -> None:
    options = PreparationOptions(aliases={"money": ["billing"]}, remove_intents=["billing", "nope"])
    source = [("csv", slu_csv(many("billing", 5) + many("greet", 5)))]
    with pytest.raises(DatasetPreparationError) as info:
        prepare_datasets(source, options)
    message = str(info.value)
    assert "datasets do not have: billing, nope" in message
    assert "billing became an alias: name the alias instead" in message
    assert "known, after aliases: greet, money" in message


def test_removing_every_intent_is_an_error() -> None:
    options = PreparationOptions(remove_intents=["a", "b"])
    with pytest.raises(
        DatasetPreparationError, match=r"no intent is left in the training set after remove_intents"
    ):
        prepare_datasets(new_source(), options)


def test_identical_text_and_tag_rows_are_dropped_and_counted() -> None:
    frame = slu_csv([("hi", "greet"), ("hi", "greet"), ("hi", "bye"), ("yo", "greet"), ("hi", "greet")])
    out, dropped = drop_duplicates(frame)
    assert dropped == 2
    assert list(zip(out["text"], out["tag"], strict=True)) == [
        ("hi", "greet"),
        ("hi", "bye"),
        ("yo", "greet"),
    ]


def test_duplicates_across_old_and_new_rows_are_counted_in_the_report() -> None:
    old = PreviousDataset(train=slu_csv([("same words", "a"), ("other", "b")]), test=slu_csv([("t", "a")]))
    # the new row's text sits in another column (alternatives vs text): the text is compared, not the column
    new = pd.DataFrame({"tag": ["a", "b"], "text": ["same words", "fresh"]})
    out = prepare_datasets([("csv", new)], PreparationOptions(train_split_percent=100), old)
    assert out.report.duplicates_removed == {"train": 1, "test": 0}
    assert len(out.train) == 3


def test_previous_rows_without_an_intent_are_left_out_and_noted() -> None:
    old = PreviousDataset(train=slu_csv([("a", "x"), ("b", ""), ("c", None)]), test=slu_csv([("t", "x")]))  # type: ignore[list-item]
    out = prepare_datasets([("csv", slu_csv([("n", "x")]))], PreparationOptions(train_split_percent=100), old)
    assert out.train["text"].tolist() == ["a", "n"]
    assert "previous train.csv: 2 rows without an intent in 'tag' left out" in out.report.notes


def test_test_set_gets_the_intent_column_from_raw_intent_or_blank() -> None:
    frame = pd.DataFrame({"tag": ["a", "b"], "intent": ["a", None], "raw.intent": ["x", "y"]})
    assert ensure_intent_column(frame)["intent"].tolist() == ["a", "y"]
    assert ensure_intent_column(pd.DataFrame({"tag": ["a"]}))["intent"].tolist() == [""]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    new_rows=ROWS,
    old_rows=ROWS,
    percent=st.integers(1, 99),
    seed=st.integers(0, 1000),
    remove=st.sets(st.sampled_from(["x", "y", "z", "w"]), max_size=2),
)
def test_every_row_is_kept_removed_or_deduplicated_and_the_report_says_which(
    new_rows: list[tuple[str, str]],
    old_rows: list[tuple[str, str]],
    percent: int,
    seed: int,
    remove: set[str],
) -> None:
    old = PreviousDataset(train=slu_csv(old_rows), test=slu_csv(old_rows[:3]))
    present = {tag for _, tag in new_rows + old_rows}
    options = PreparationOptions(
        train_split_percent=percent, seed=seed, remove_intents=sorted(remove & present)
    )
    try:
        out = prepare_datasets([("csv", slu_csv(new_rows))], options, old)
    except DatasetPreparationError as exc:
        assert "no intent is left" in str(exc) or "no test row is left" in str(exc)
        return
    report = out.report
    total_in = len(new_rows) + len(old_rows) + min(3, len(old_rows))
    removed = sum(report.removed.values())
    deduplicated = sum(report.duplicates_removed.values())
    assert len(out.train) + len(out.test) == total_in - removed - deduplicated
    assert not (out.train["tag"].isin(remove).any() or out.test["tag"].isin(remove).any())
    assert not out.train.duplicated(["text", "tag"]).any() and not out.test.duplicated(["text", "tag"]).any()
    assert (report.train_rows, report.test_rows) == (len(out.train), len(out.test))


# ------------------------------------------------------------------------------------------ report


def test_report_lines_and_summary_name_sources_and_counts() -> None:
    source = new_source(5)
    source.append(("s3://bucket/extra.csv", slu_csv([("x", "a"), ("y", "")])))
    out = prepare_datasets(
        source, PreparationOptions(train_split_percent=80, stratify=True, seed=9), previous()
    )
    lines = out.report.lines()
    assert lines[0] == "new data: 11 rows kept from 2 source(s)"
    assert "  s3://bucket/extra.csv: 2 rows, 1 dropped (empty tag: 1)" in lines
    assert any(line.startswith("split: 80 % train, stratified, seed 9 -> ") for line in lines)
    assert out.report.summary().startswith("11 new rows from labelstudio project 3, s3://bucket/extra.csv; ")
    data = out.report.to_dict()
    assert data["sources"][1]["dropped"] == {"empty tag": 1}
    assert json.dumps(data)  # plain data for run records


# ------------------------------------------------------------------------------------------ real data


def test_a_tagged_csv_as_the_product_writes_it() -> None:
    """Turns -> Label Studio tasks (turn_task) -> annotations -> tagged CSV rows (annotation_row) -> CSV."""
    from skit_pipelines.annotation.flatten import annotation_row, columns_of
    from skit_pipelines.annotation.tasks import turn_task

    rows = []
    answers = ["confirm", "deny", None, "confirm", "greet", "deny"]
    for i, answer in enumerate(answers):
        turn = {
            "conversation_uuid": f"c{i}",
            "utterances": json.dumps([[{"transcript": f"utterance {i}", "confidence": 0.9}]]),
            "intent": "confirm",  # the production prediction
            "state": "COF",
        }
        task = {"id": i, "data": turn_task(turn, data_label="Live")["data"]}
        result = [] if answer is None else json.loads(ls_result(answer, gold=i == 0))
        annotation = {"id": 100 + i, "result": result, "created_at": "2026-03-10T10:00:00Z"}
        rows.append(annotation_row(task, annotation, project_id=12, zone=None, users={}))
    columns = columns_of(rows)
    text = pd.DataFrame(rows, columns=columns).to_csv(index=False)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)

    out = prepare_datasets(
        [("labelstudio project 12", frame)], PreparationOptions(train_split_percent=60, seed=1)
    )
    assert out.report.sources[0].dropped == {"empty tag": 1}
    assert sorted(out.train["tag"].tolist() + out.test["tag"].tolist()) == [
        "confirm",
        "confirm",
        "deny",
        "deny",
        "greet",
    ]
    assert (out.test["intent"] == "confirm").all()  # the prediction the calls were made with (raw.intent)
    assert text_keys(out.train).str.contains("utterance").all()  # the n-best text the trainer reads


def banking77() -> Path:
    """BANKING77 from the shared public datasets: shared/data next to the project or one of its parents."""
    root = Path(__file__).resolve().parents[1]
    for parent in [root, *root.parents]:
        candidate = parent / "shared" / "data" / "banking77" / "train.csv"
        if candidate.is_file():
            return candidate
    skip_or_fail("the shared public datasets (shared/data/banking77) are not next to the project")
    raise AssertionError  # unreachable: skip_or_fail raises


def test_banking77_stratified_split_keeps_every_intents_share() -> None:
    data = pd.read_csv(banking77()).rename(columns={"category": "tag"})
    options = PreparationOptions(train_split_percent=85, stratify=True, seed=42)
    out = prepare_datasets([("banking77 train.csv", data)], options)
    report = out.report
    assert len(report.intents) == 77
    assert report.duplicates_removed["train"] + report.duplicates_removed["test"] + len(out.train) + len(
        out.test
    ) == len(data)
    test_share = out.test["tag"].value_counts() / data["tag"].value_counts()
    assert test_share.between(0.13, 0.17).all()  # every intent keeps ~15 % in test, not just the total
    again = prepare_datasets([("banking77 train.csv", data)], options)
    assert again.test["text"].tolist() == out.test["text"].tolist()


def test_text_key_is_the_first_text_column_with_text_row_by_row() -> None:
    """TEXT_SOURCES order (utterances, alternatives, data, text); blanks fall through to the next column."""
    frame = pd.DataFrame(
        {
            "text": ["plain 0", "plain 1", "plain 2", None],
            "alternatives": ['[{"transcript": "asr"}]', " ", None, None],
            "tag": "a",
        }
    )
    assert text_keys(frame).tolist() == ['[{"transcript": "asr"}]', "plain 1", "plain 2", ""]
