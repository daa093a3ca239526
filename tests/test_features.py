"""Model text from ASR n-best (spec 6.1) and true labels: every input shape, hand-written expectations."""

import json

import pandas as pd
import pytest

from skit_pipelines.features import (
    FeatureError,
    Separators,
    build_model_texts,
    model_text,
    true_labels,
)

XLMR = Separators("<s>", "</s>")
BERT = Separators("[CLS]", "[SEP]")


def test_model_text_wraps_each_alternative_and_the_state() -> None:
    assert model_text(["yes", "yeah"], "", XLMR) == "<s> yes </s> <s> yeah </s>"
    assert model_text(["yes"], "COF", XLMR) == "<s> yes </s> <s> COF </s>"
    assert model_text(["yes"], "COF", BERT) == "[CLS] yes [SEP] [CLS] COF [SEP]"
    assert model_text([], "", XLMR) == ""


def test_separators_come_from_the_tokenizer() -> None:
    class Roberta:
        bos_token, eos_token, cls_token, sep_token = "<s>", "</s>", "<s>", "</s>"

    class Bert:
        bos_token, eos_token, cls_token, sep_token = None, None, "[CLS]", "[SEP]"

    class Bare:
        pass

    assert Separators.from_tokenizer(Roberta()) == XLMR
    assert Separators.from_tokenizer(Bert()) == BERT
    with pytest.raises(FeatureError, match="neither bos/eos nor cls/sep"):
        Separators.from_tokenizer(Bare())


def test_build_model_texts_reports_empty_rows_and_appends_state() -> None:
    frame = pd.DataFrame(
        {
            "alternatives": [json.dumps([[{"transcript": "hi"}]]), "[]", json.dumps([["x", "y"]])],
            "state": ["START", "COF", None],
        }
    )
    texts = build_model_texts(frame, XLMR, use_state=True)
    assert texts.texts == ["<s> hi </s> <s> START </s>", "<s> COF </s>", "<s> x </s> <s> y </s>"]
    assert texts.empty_rows == [1] and texts.source_column == "alternatives"
    without = build_model_texts(frame, XLMR, use_state=False)
    assert without.texts == ["<s> hi </s>", "", "<s> x </s> <s> y </s>"]


def test_utterances_win_over_alternatives_and_data_json_is_read() -> None:
    both = pd.DataFrame(
        {"utterances": ['[[{"transcript": "u"}]]'], "alternatives": ['[[{"transcript": "a"}]]']}
    )
    assert build_model_texts(both, XLMR).texts == ["<s> u </s>"]
    data = pd.DataFrame({"data": [json.dumps({"alternatives": [[{"transcript": "d"}]], "state": "S"})]})
    assert build_model_texts(data, XLMR, use_state=True).texts == ["<s> d </s> <s> S </s>"]
    plain = pd.DataFrame({"text": ["I lost my card"]})
    assert build_model_texts(plain, BERT).texts == ["[CLS] I lost my card [SEP]"]


def test_a_text_cell_that_looks_like_json_is_the_sentence_itself() -> None:
    """Only n-best columns are decoded: a plain text column keeps '"hello"' and '[1,2]' as written."""
    plain = pd.DataFrame({"text": ['"hello"', "[1,2]", '[[{"transcript": "x"}]]', "  ", None]})
    texts = build_model_texts(plain, XLMR)
    assert texts.texts[:3] == ['<s> "hello" </s>', "<s> [1,2] </s>", '<s> [[{"transcript": "x"}]] </s>']
    assert texts.empty_rows == [3, 4]
    # the same cells in an n-best column are decoded, as before
    nbest = build_model_texts(pd.DataFrame({"alternatives": ['"hello"', "[1,2]"]}), XLMR)
    assert nbest.texts == ["<s> hello </s>", ""]


def test_missing_columns_are_named() -> None:
    with pytest.raises(FeatureError, match="none of the ASR text columns utterances, alternatives"):
        build_model_texts(pd.DataFrame({"foo": [1]}), XLMR)
    with pytest.raises(FeatureError, match="use_state is true but the dataset has no 'state' column"):
        build_model_texts(pd.DataFrame({"text": ["a"]}), XLMR, use_state=True)


def test_true_labels_from_the_label_column_or_the_tag() -> None:
    assert true_labels(pd.DataFrame({"intent_y": ["a", " b ", "", None]})) == ["a", "b", None, None]
    tags = pd.DataFrame({"tag": ['{"choices": ["pay"]}', '[{"type": "yes"}]', "plain", None]})
    assert true_labels(tags) == ["pay", "yes", "plain", None]
    with pytest.raises(FeatureError, match="no label column 'label'"):
        true_labels(pd.DataFrame({"x": [1]}), "label")
