"""Tagged datasets as evaluation input: tag shapes, bad input named, every oddity counted."""

import json

import numpy as np
import pandas as pd
import pytest

from skit_pipelines.metrics.intent.evaluation import evaluate_intents
from skit_pipelines.metrics.tagged import (
    InvalidDatasetError,
    dataset_info,
    errors_table,
    intent_data,
    read_tagged_csv,
)
from skit_pipelines.metrics.tags import EMPTY, SEVERAL, UNEXPECTED, intents_from_tags, parse_tag, pick_1st_tag


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ('[{"type": "_confirm_"}]', "_confirm_"),  # tog
        ('{"choices": ["_cancel_"]}', "_cancel_"),  # Label Studio
        ('[{"choices": ["a", "b"]}]', "a"),
        ('{"taxonomy": [["billing", "refund"]]}', "billing"),
        (json.dumps(json.dumps([{"type": "x"}])), "x"),  # double-encoded
        ("inform_pay_later", "inform_pay_later"),  # already flattened: not JSON
        ("123", "123"),  # a JSON scalar is a label, not None
        ('{"value": {"choices": ["v"]}}', "v"),
        ("", None),
        ("[]", None),
        (None, None),
        (float("nan"), None),
        ('{"foo": 1}', None),
    ],
)
def test_pick_1st_tag(tag: object, expected: str | None) -> None:
    assert pick_1st_tag(tag) == expected


def test_parse_tag_names_the_oddity() -> None:
    several = parse_tag('[{"type": "a"}, {"type": "b"}]')
    assert (several.label, several.issue, several.labels) == ("a", SEVERAL, ("a", "b"))
    assert parse_tag('[{"type": "a"}, {"type": "a"}]').issue == ""
    assert parse_tag('{"foo": 1}').issue == UNEXPECTED
    assert parse_tag("  ").issue == EMPTY


def test_intents_from_tags_counts_each_reason() -> None:
    tags = pd.Series(['[{"type": "a"}]', '[{"type": "a"}, {"type": "b"}]', None, '{"foo": 1}', '{"foo": 1}'])
    labels, reasons = intents_from_tags(tags)
    assert labels.tolist() == ["a", "a", None, None, None]
    assert reasons == {SEVERAL: 1, EMPTY: 1, UNEXPECTED: 2}


def frame(**columns: list) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_missing_columns_are_named() -> None:
    data = frame(data_id=["1"], intent_y=["a"], intent=["a"])
    expected = r"'raw.intent' \(pred_label_column\).*similar columns: intent"
    with pytest.raises(InvalidDatasetError, match=expected):
        intent_data(data)
    with pytest.raises(InvalidDatasetError, match="'label'.*true_label_column"):
        intent_data(frame(data_id=["1"], **{"raw.intent": ["a"]}), true_label_column="label")


def test_empty_dataset_and_all_missing_labels_are_errors(tmp_path) -> None:
    with pytest.raises(InvalidDatasetError, match="no rows"):
        intent_data(pd.DataFrame(columns=["data_id", "intent_y", "raw.intent"]))
    with pytest.raises(InvalidDatasetError, match="'intent_y' has no label in any of the 2 rows"):
        intent_data(frame(data_id=["1", "2"], intent_y=[None, ""], **{"raw.intent": ["a", "b"]}))
    with pytest.raises(InvalidDatasetError, match="'intent_y' has no label in any of the 2 rows"):
        intent_data(
            frame(data_id=["1", "2"], intent_y=[None, " "], **{"raw.intent": ["a", "b"]}),
            normalise_labels=True,
        )
    with pytest.raises(InvalidDatasetError, match="'raw.intent' has no label"):
        intent_data(frame(data_id=["1"], intent_y=["a"], **{"raw.intent": [None]}))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InvalidDatasetError, match="empty"):
        read_tagged_csv(empty)


def test_missing_labels_are_counted_as_underscore_and_reported() -> None:
    data = intent_data(
        frame(
            data_id=["1", "2", "3", "3"],
            intent_y=["a", None, "b", "b"],
            **{"raw.intent": ["a", "b", "", "b"]},
        )
    )
    assert data.frame["true"].tolist() == ["a", "_", "b", "b"]
    assert data.frame["predicted"].tolist() == ["a", "b", "_", "b"]
    assert data.issues == {
        "no true label (counted as '_')": 1,
        "no predicted label (counted as '_')": 1,
        "duplicate data_id (each row evaluated)": 1,
    }
    assert "1 rows: no true label (counted as '_')" in data.issue_lines()


def test_truth_from_tag_when_intent_y_is_absent() -> None:
    data = intent_data(
        frame(
            data_id=["1", "2", "3"],
            tag=['[{"type": "a"}]', '{"choices": ["b", "c"]}', "[]"],
            **{"raw.intent": ["a", "b", "a"]},
        )
    )
    assert data.frame["true"].tolist() == ["a", "b", "_"]
    assert data.issues == {SEVERAL: 1, f"{EMPTY} (counted as '_')": 1}
    assert data.notes and "'tag'" in data.notes[0]


def test_labels_named_like_missing_values_stay_labels(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("data_id,intent_y,raw.intent\n1,NA,null\n2,None,\n")
    data = intent_data(read_tagged_csv(path))
    assert data.frame["true"].tolist() == ["NA", "None"]
    assert data.frame["predicted"].tolist() == ["null", "_"]


def test_labels_are_kept_as_given_unless_normalised(tmp_path) -> None:
    """The reference compared labels as pandas read them: spaces kept, 5 and "5" never merged."""
    path = tmp_path / "t.csv"
    path.write_text("data_id,intent_y,raw.intent\n1, greet,greet\n2,5,5\n3,bye ,bye\n")
    as_given = intent_data(read_tagged_csv(path))
    assert as_given.frame["true"].tolist() == [" greet", "5", "bye "]
    assert as_given.frame["predicted"].tolist() == ["greet", "5", "bye"]
    normalised = intent_data(read_tagged_csv(path), normalise_labels=True)
    assert (
        normalised.frame["true"].tolist() == normalised.frame["predicted"].tolist() == ["greet", "5", "bye"]
    )

    typed = frame(data_id=["1", "2"], intent_y=[5, "a"], **{"raw.intent": ["5", "a"]})
    with pytest.raises(ValueError, match="print the same.*normalise_labels=true"):
        evaluate_intents(typed)
    assert evaluate_intents(typed, normalise_labels=True).accuracy == 1.0
    assert (
        evaluate_intents(frame(data_id=["1"], tag=['[{"type": " a"}]'], **{"raw.intent": ["a"]})).accuracy
        == 0
    )


def test_errors_table_has_text_and_confidence() -> None:
    source = frame(
        data_id=["u1", "u2", "u3"],
        intent_y=["a", "b", "c"],
        **{
            "raw.intent": ["a", "c", "b"],
            "alternatives": ['[[{"transcript": "hi"}]]', '[[{"transcript": "x"}]]', ""],
            "raw.prediction": ["{}", '{"intents": [{"name": "c", "score": 0.42}]}', "oops"],
        },
    )
    data = intent_data(source)
    table = errors_table(data, data.frame["true"].to_numpy(), data.frame["predicted"].to_numpy())
    assert table["id"].tolist() == ["u2", "u3"]
    assert table["text"].tolist() == ["x", ""]
    assert table["confidence"].tolist()[0] == 0.42 and np.isnan(table["confidence"].tolist()[1])
    assert "true_original" not in table.columns


def test_dataset_info() -> None:
    data = frame(
        data_id=["1", "2", "3"],
        **{
            "raw.language": [None, "hi", "en"],
            "raw.call_uuid": ["c1", "c1", "c2"],
            "raw.conversation_uuid": ["t1", "t2", "t2"],
        },
        reftime=["2026-03-01T10:00:00+05:30", "2026-03-02 09:00:00", "bad"],
        tagged_time=["2026-03-05T00:00:00Z", None, "2026-03-04T12:00:00Z"],
    )
    info = dataset_info(data, "Asia/Kolkata")
    assert (info.language, info.n_calls, info.n_turns, info.duplicate_turns) == ("hi", 2, 2, 1)
    assert info.calls_from_date.isoformat() == "2026-03-01T10:00:00+05:30"
    assert info.calls_to_date.isoformat() == "2026-03-02T09:00:00+05:30"  # naive → the given timezone
    assert info.tagged_from_date.isoformat() == "2026-03-04T17:30:00+05:30"
    assert info.tagged_to_date.isoformat() == "2026-03-05T05:30:00+05:30"
