"""Latest SLU model vs production on the same test set: tables, summary, Markdown MR description, HTML."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skit_pipelines.metrics.intent.scores import (
    Confusion,
    classification_report,
    confusion_counts,
    report_frame,
)
from skit_pipelines.slu.comparison import (
    CONFUSION_TITLE,
    FIRST_TRAINING,
    REPORT_TITLE,
    ComparisonError,
    compare_with_production,
    read_metrics_csv,
)
from skit_pipelines.slu.layout import SluLayout

INTENTS = ["billing", "cancel", "greet", "refund", "talk_to_agent"]


def predictions(truth: np.ndarray, accuracy: float, seed: int) -> np.ndarray:
    """A model's predictions: right with probability ``accuracy``, else a random other intent."""
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(truth)) > accuracy
    noise = rng.choice(INTENTS, len(truth))
    return np.where(wrong, noise, truth)


@pytest.fixture
def evaluations() -> tuple[Confusion, Confusion]:
    rng = np.random.default_rng(0)
    truth = rng.choice(INTENTS, 400)
    return confusion_counts(truth, predictions(truth, 0.9, 1)), confusion_counts(
        truth, predictions(truth, 0.7, 2)
    )


def test_every_intent_has_latest_production_and_delta_including_the_first_row(
    evaluations: tuple[Confusion, Confusion],
) -> None:
    latest, production = evaluations
    latest_report, production_report = classification_report(latest), classification_report(production)
    comparison = compare_with_production(latest_report, latest, production_report, production)
    report = comparison.report
    first = sorted(INTENTS)[0]
    assert report.index[0] == first  # the reference's row-0 bug lost exactly this row's values
    for label in INTENTS:
        for metric in ("precision", "recall", "f1-score"):
            new = latest_report[label][metric]
            old = production_report[label][metric]
            assert report.loc[label, f"{metric} latest"] == pytest.approx(new)
            assert report.loc[label, f"{metric} production"] == pytest.approx(old)
            assert report.loc[label, f"{metric} delta"] == pytest.approx(new - old)
        assert report.loc[label, "support latest"] == latest_report[label]["support"]
    assert list(report.index[-3:]) == ["accuracy", "macro avg", "weighted avg"]


def test_summary_gives_accuracy_macro_f1_and_intents_better_or_worse(
    evaluations: tuple[Confusion, Confusion],
) -> None:
    latest, production = evaluations
    comparison = compare_with_production(
        classification_report(latest),
        latest,
        classification_report(production),
        production,
        production_ref="master",
    )
    lines = comparison.summary_lines()
    assert lines[0] == "Production model (master) evaluated on the same test set as the latest model."
    expected = f"Accuracy: {latest.accuracy:.3f} latest, {production.accuracy:.3f} production "
    assert lines[1].startswith(expected) and lines[1].endswith(
        f"({latest.accuracy - production.accuracy:+.3f})"
    )
    assert lines[2].startswith("Macro F1: ")
    changes = comparison.intent_changes()
    f1_delta = comparison.report.loc[INTENTS, "f1-score delta"]
    assert sorted(changes["better"]) == sorted(f1_delta[f1_delta > 0.0005].index)
    assert sorted(changes["worse"]) == sorted(f1_delta[f1_delta < -0.0005].index)
    assert f"F1 per intent: {len(changes['better'])} better" in lines[3]


def test_intents_known_to_one_side_only_are_blank_on_the_other() -> None:
    latest = confusion_counts(["a", "b", "new"], ["a", "b", "new"])
    production = confusion_counts(["a", "b", "old"], ["a", "a", "old"])
    comparison = compare_with_production(
        classification_report(latest), latest, classification_report(production), production
    )
    report = comparison.report
    assert pd.isna(report.loc["new", "f1-score production"]) and pd.isna(report.loc["new", "f1-score delta"])
    assert pd.isna(report.loc["old", "f1-score latest"])
    assert comparison.intent_changes()["new"] == ["new"] and comparison.intent_changes()["gone"] == ["old"]
    pairs = comparison.confusion.set_index(["true", "predicted"])
    assert pairs.loc[("b", "a"), "latest"] == 0 and pairs.loc[("b", "a"), "production"] == 1
    assert pd.isna(pairs.loc[("new", "new"), "production"])  # production never saw "new": blank, not 0
    text = "\n".join(comparison.summary_lines())
    assert "Intents production does not know: new" in text
    assert "Intents the latest model does not know: old" in text


def test_first_training_says_so_and_leaves_production_blank(evaluations: tuple[Confusion, Confusion]) -> None:
    latest, _ = evaluations
    comparison = compare_with_production(classification_report(latest), latest)
    assert not comparison.has_production
    assert comparison.report[[c for c in comparison.report.columns if "production" in c]].isna().all().all()
    assert comparison.confusion["production"].isna().all()
    markdown = comparison.markdown()
    assert markdown.startswith(f"- {FIRST_TRAINING}\n")
    assert f"## {REPORT_TITLE}" in markdown and f"## {CONFUSION_TITLE}" in markdown
    assert comparison.intent_changes() == {"better": [], "worse": [], "unchanged": [], "new": [], "gone": []}


def test_production_needs_both_its_report_and_its_confusion_matrix(
    evaluations: tuple[Confusion, Confusion],
) -> None:
    latest, production = evaluations
    with pytest.raises(
        ComparisonError, match="production model's classification report was given without its"
    ):
        compare_with_production(
            classification_report(latest), latest, classification_report(production), None
        )
    with pytest.raises(ComparisonError, match="production model's confusion matrix was given without its"):
        compare_with_production(classification_report(latest), latest, "", production)


def test_reports_read_from_a_metrics_run_folder(
    tmp_path: Path, evaluations: tuple[Confusion, Confusion]
) -> None:
    """The CSVs as the project stores them (first column = label), for both models."""
    latest, production = evaluations
    paths = {}
    for side, confusion in (("latest", latest), ("production", production)):
        layout = SluLayout(tmp_path / side)
        run = "2026-01-01-00-00-00"
        layout.metrics_run_dir(run).mkdir(parents=True)
        report_frame(classification_report(confusion)).to_csv(layout.classification_report(run))
        confusion.to_frame().to_csv(layout.confusion_matrix(run))
        paths[side] = (str(layout.classification_report(run)), str(layout.confusion_matrix(run)))
    frames = [
        read_metrics_csv(Path(path).read_text()) for side in ("latest", "production") for path in paths[side]
    ]
    from_files = compare_with_production(*frames)
    in_memory = compare_with_production(
        classification_report(latest), latest, classification_report(production), production
    )
    pd.testing.assert_frame_equal(from_files.report, in_memory.report, check_exact=False)
    pd.testing.assert_frame_equal(from_files.confusion, in_memory.confusion)


def test_a_label_that_pandas_would_read_as_missing_stays_a_label() -> None:
    frame = read_metrics_csv(",precision,recall,f1-score,support\nNA,1.0,0.5,,2\nNone,0.0,0.0,0.0,1\n")
    assert list(frame.index) == ["NA", "None"]
    assert pd.isna(frame.loc["NA", "f1-score"])


def test_csv_outputs_read_back_to_the_same_numbers(evaluations: tuple[Confusion, Confusion]) -> None:
    latest, production = evaluations
    comparison = compare_with_production(
        classification_report(latest), latest, classification_report(production), production
    )
    report = pd.read_csv(io.StringIO(comparison.report_csv()), index_col=0)
    assert list(report.index) == list(comparison.report.index)
    assert report.loc["greet", "recall delta"] == pytest.approx(
        comparison.report.loc["greet", "recall delta"]
    )
    confusion = pd.read_csv(io.StringIO(comparison.confusion_csv()))
    assert list(confusion.columns) == ["true", "predicted", "latest", "production", "delta"]
    assert int(confusion["latest"].sum()) == latest.n and int(confusion["production"].sum()) == production.n


def test_markdown_lists_the_largest_confusion_changes_and_points_to_the_csv(
    evaluations: tuple[Confusion, Confusion],
) -> None:
    latest, production = evaluations
    comparison = compare_with_production(
        classification_report(latest), latest, classification_report(production), production
    )
    markdown = comparison.markdown(heading="Auto retrained changes", max_confusion_rows=5)
    assert markdown.startswith("# Auto retrained changes\n")
    section = markdown.split(f"## {CONFUSION_TITLE}")[1]
    table_rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(table_rows) == 1 + 5  # header + the five largest changes
    biggest = comparison.confusion.iloc[0]
    assert table_rows[1].startswith(f"| {biggest['true']} | {biggest['predicted']} |")
    assert f"_{len(comparison.confusion) - 5:,} more (true, predicted) pairs" in section
    full = comparison.markdown(max_confusion_rows=None)
    assert "more (true, predicted) pairs" not in full


def test_html_page_has_the_summary_and_escapes_labels() -> None:
    latest = confusion_counts(["<b>x</b>", "y"], ["<b>x</b>", "y"])
    comparison = compare_with_production(classification_report(latest), latest)
    page = comparison.html()
    assert page.startswith("<!DOCTYPE html>")
    assert f"<li>{FIRST_TRAINING}</li>" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert page.count("<table>") == 2
