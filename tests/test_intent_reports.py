"""PNG and HTML reports decode and carry the numbers; model comparison keeps every row."""

import io
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib import image as mpimg

from skit_pipelines.jobs.compare import compare_confusions, compare_reports, read_report
from skit_pipelines.metrics.intent.compare import to_csv, to_html, to_markdown
from skit_pipelines.metrics.intent.evaluation import evaluate_intents, html_report
from skit_pipelines.metrics.intent.oos import threshold_sweep
from skit_pipelines.metrics.intent.reports import (
    confusion_heatmap_png,
    threshold_sweep_png,
    top_confusions_png,
)
from skit_pipelines.metrics.intent.scores import classification_report, confusion_counts, report_frame


def decode_png(data: bytes) -> np.ndarray:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return mpimg.imread(io.BytesIO(data), format="png")


def random_confusion(k: int, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.array([f"intent_number_{i:03d}" for i in range(k)], dtype=object)
    truth = rng.integers(0, k, n)
    pred = np.where(rng.random(n) < 0.8, truth, rng.integers(0, k, n))
    return confusion_counts(labels[truth], labels[pred])


def test_heatmap_scales_with_labels_and_folds_the_tail() -> None:
    small = decode_png(confusion_heatmap_png(random_confusion(6, 300)))
    big = decode_png(confusion_heatmap_png(random_confusion(150, 20_000), max_labels=100))
    assert small.ndim == 3 and big.ndim == 3
    assert big.shape[0] > 3 * small.shape[0]  # the figure grows with the number of labels
    assert big.shape[0] < 4000  # ... but the tail is folded, so it stays viewable


def test_top_confusions_png_with_and_without_errors() -> None:
    assert decode_png(top_confusions_png(random_confusion(30, 2000))).shape[1] > 600
    assert decode_png(top_confusions_png(confusion_counts(["a", "b"], ["a", "b"]))).ndim == 3


def test_threshold_sweep_png_with_and_without_a_threshold() -> None:
    rng = np.random.default_rng(0)
    truth = rng.choice(["a", "b", "_oos_"], 200)
    model = np.where(rng.random(200) < 0.7, truth, "a")
    sweep = threshold_sweep(truth, model, rng.random(200), fallback_intent="_oos_", known_labels=["a", "b"])
    with_line = decode_png(threshold_sweep_png(sweep, threshold=0.42))
    without = decode_png(threshold_sweep_png(sweep))
    assert with_line.shape == without.shape and with_line.shape[1] > 500
    assert not np.array_equal(with_line, without)  # the dashed line of the threshold in use


def test_html_report_is_self_contained_and_has_the_numbers() -> None:
    data = pd.DataFrame(
        {
            "data_id": ["1", "2", "3", "4", "5"],
            "intent_y": ["_confirm_", "_cancel_", "<b>odd</b>", "_confirm_", None],
            "raw.intent": ["_confirm_", "_confirm_", "<b>odd</b>", "_confirm_", "_cancel_"],
            "alternatives": ['[[{"transcript": "yes"}]]', '[[{"transcript": "no way"}]]', "", "", ""],
        }
    )
    evaluation = evaluate_intents(data, groups={"smalltalk_intents": ["_confirm_", "_cancel_"]})
    images = {
        "heatmap": confusion_heatmap_png(evaluation.confusion),
        "top_confusions": top_confusions_png(evaluation.confusion),
    }
    page = html_report(
        evaluation,
        title="Demo & test",
        images=images,
        artifacts={"report_uri": "s3://b/k.csv"},
        details={"dataset": "t.csv"},
    )
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "Demo &amp; test" in page and "&lt;b&gt;odd&lt;/b&gt;" in page and "<b>odd</b>" not in page
    assert page.count("data:image/png;base64,") == 2
    assert "http://" not in page and "https://" not in page and "<script" not in page  # nothing to fetch
    assert f"{evaluation.accuracy:.3f}" == "0.600" and ">0.600<" in page  # accuracy 3/5
    assert f">{evaluation.weighted_f1:.3f}<" in page
    assert "no way" in page  # an error row with its text
    assert "1 rows: no true label (counted as &#x27;_&#x27;)" in page
    assert "Group: smalltalk_intents" in page and "smalltalk-intents" in page
    assert "s3://b/k.csv" in page


# ------------------------------------------------------------------------------------------ compare


NEW = classification_report(confusion_counts(list("aabbcc"), list("abbbca")))
PROD = classification_report(confusion_counts(list("aabbdd"), list("aabbdd")))


def test_compare_reports_keeps_row_zero_and_blanks_one_sided_labels() -> None:
    table = compare_reports(NEW, PROD)
    assert list(table.index) == ["a", "b", "c", "d", "accuracy", "macro avg", "weighted avg"]
    first = table.loc["a"]  # the reference lost the values of the first class row
    assert first["precision new"] == 0.5 and first["precision production"] == 1.0
    assert first["precision delta"] == -0.5 and first["support new"] == 2
    assert math.isnan(table.loc["c", "precision production"]) and math.isnan(table.loc["c", "f1-score delta"])
    assert math.isnan(table.loc["d", "recall new"]) and table.loc["d", "recall production"] == 1.0
    assert table.loc["accuracy", "f1-score delta"] == pytest.approx(4 / 6 - 1)
    csv_lines = to_csv(table).splitlines()
    assert csv_lines[1].startswith("a,0.5,1.0,-0.5")
    assert csv_lines[3].startswith("c,1.0,,,")
    markdown = to_markdown(table, "Comparison Classification Report (new, production)")
    assert "| a | 0.500 | 1.000 | -0.500 |" in markdown and "| d |  | 1.000 |" in markdown
    page = to_html({"Classification report": table})
    assert "class='n down'>-0.500" in page


def test_compare_reads_csv_reports_of_either_accuracy_layout(tmp_path) -> None:
    ours = tmp_path / "ours.csv"
    ours.write_text(report_frame(NEW).to_csv())
    sklearn_t = tmp_path / "sklearn.csv"  # DataFrame(report).T: accuracy repeated in every column
    pd.DataFrame(PROD).T.to_csv(sklearn_t)
    table = compare_reports(str(ours), sklearn_t.as_uri())  # a path and an artifact URI
    assert table.loc["accuracy", "f1-score production"] == 1.0
    assert table.loc["accuracy", "support production"] == 6
    assert math.isnan(table.loc["accuracy", "precision production"])
    assert read_report(str(ours)).loc["a", "recall"] == 0.5


def test_compare_without_production_leaves_blanks() -> None:
    table = compare_reports(NEW)
    assert table["precision new"].notna().sum() == 5 and table["precision production"].isna().all()


def test_compare_confusions_long_table() -> None:
    new = confusion_counts(list("aabbcc"), list("abbbca"))
    prod = confusion_counts(list("aabbdd"), list("aabbdd"))
    table = compare_confusions(new, prod)
    rows = {(t, p): (n, pr, d) for t, p, n, pr, d in table.itertuples(index=False)}
    assert rows[("a", "a")] == (1, 2, -1)
    assert rows[("a", "b")] == (1, 0, 1)  # both know a and b: production's 0 is a real 0
    assert rows[("c", "a")][0] == 1 and rows[("c", "a")][1] is pd.NA  # production has no label c
    assert rows[("d", "d")][0] is pd.NA and rows[("d", "d")][1] == 2
    assert ("b", "a") not in rows  # zero on both sides
    assert table.iloc[0]["delta"] in (-1, 1)  # largest change first
    assert "true,predicted,new,production,delta" in to_csv(table)
    assert "| c | a | 1 |  |  |" in to_markdown(table)
