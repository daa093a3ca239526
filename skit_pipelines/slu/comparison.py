"""The retrained SLU model against the one in production, for the merge request (issue 13 step 6, spec 7.4).

Both models are evaluated on the same test set; this module turns their two classification reports and
two confusion matrices into what a reviewer reads: a per-intent table (precision, recall, F1 and support
as latest, production, delta), a confusion comparison, and a short summary (accuracy, macro F1, how many
intents got better or worse). It renders CSV (the artifacts), Markdown (the merge-request description,
under the reference's section titles) and HTML.

The tables come from :mod:`skit_pipelines.metrics.intent.compare`, which every model comparison of the product
uses (and which keeps the first intent's row that the reference lost, spec 14 item 22); this module only
names the sides as the retraining flow does ("latest" is the model just trained) and adds the summary.
On a first training there is no production model: the production and delta columns stay blank and the
description says so in words, instead of the reference's silent ``None`` cells.
"""

from __future__ import annotations

import html
import io
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.metrics.intent import compare
from skit_pipelines.metrics.intent.scores import AVERAGE_ROWS

__all__ = [
    "CONFUSION_TITLE",
    "FIRST_TRAINING",
    "REPORT_TITLE",
    "ComparisonError",
    "ProductionComparison",
    "compare_with_production",
    "read_metrics_csv",
]

# Section titles of the reference's merge-request description (spec 7.4), kept so that reviewers used to
# them find the same sections.
REPORT_TITLE = "Comparison Classification Report (latest,prod)"
CONFUSION_TITLE = "Comparison Confusion Matrix (latest, prod)"
FIRST_TRAINING = (
    "First training: there is no production model yet, so the production and delta columns are empty."
)
LATEST = "latest"
# A change of F1 smaller than this is "unchanged": reports are rounded to 3 decimals where people read them.
F1_TOLERANCE = 0.0005


class ComparisonError(SkitPipelinesError, ValueError):
    """The reports cannot be compared (one of a pair missing); the message says which."""


def _rename_sides(frame: pd.DataFrame) -> pd.DataFrame:
    """compare.py's ``new`` side is the model this run trained: the retraining flow calls it ``latest``."""
    renamed = {}
    for column in frame.columns:
        text = str(column)
        if text == "new":
            renamed[column] = LATEST
        elif text.endswith(" new"):
            renamed[column] = text.removesuffix(" new") + f" {LATEST}"
    return frame.rename(columns=renamed)


@dataclass(frozen=True)
class ProductionComparison:
    """The latest model against production: the two tables and what the summary says.

    ``report``: one row per intent (then the averages), columns ``<metric> latest|production|delta``.
    ``confusion``: (true, predicted) pairs with ``latest``, ``production``, ``delta`` counts, largest
    change first. ``production_ref`` names where the production model came from (e.g. a branch).
    """

    report: pd.DataFrame
    confusion: pd.DataFrame
    has_production: bool
    production_ref: str = ""

    # ---------------------------------------------------------------------------------- summary

    def _value(self, label: str, metric: str, side: str) -> float:
        column = f"{metric} {side}"
        if label not in self.report.index or column not in self.report.columns:
            return math.nan
        value = self.report.loc[label, column]
        return math.nan if pd.isna(value) else float(value)

    def intent_changes(self) -> dict[str, list[str]]:
        """Intents whose F1 went up, down or stayed (within 0.0005), and those only one side knows."""
        out: dict[str, list[str]] = {"better": [], "worse": [], "unchanged": [], "new": [], "gone": []}
        if not self.has_production:
            return out
        for label in self.report.index:
            if label in AVERAGE_ROWS:
                continue
            latest = self.report.loc[label, f"support {LATEST}"]
            production = self.report.loc[label, "support production"]
            if pd.isna(production):
                out["new"].append(label)
            elif pd.isna(latest):
                out["gone"].append(label)
            else:
                delta = self._value(label, "f1-score", "delta")
                key = "unchanged" if math.isnan(delta) or abs(delta) < F1_TOLERANCE else None
                out[key or ("better" if delta > 0 else "worse")].append(label)
        return out

    def summary_lines(self) -> list[str]:
        """A few sentences for the top of the merge request (and Slack): production, accuracy, macro F1."""
        lines = []
        if self.has_production:
            where = f" ({self.production_ref})" if self.production_ref else ""
            lines.append(f"Production model{where} evaluated on the same test set as the latest model.")
        else:
            lines.append(FIRST_TRAINING)
        for label, metric, name in (
            ("accuracy", "f1-score", "Accuracy"),
            ("macro avg", "f1-score", "Macro F1"),
        ):
            latest = self._value(label, metric, LATEST)
            if math.isnan(latest):
                continue
            text = f"{name}: {latest:.3f} latest"
            production = self._value(label, metric, "production")
            if not math.isnan(production):
                text += f", {production:.3f} production ({latest - production:+.3f})"
            lines.append(text)
        changes = self.intent_changes()
        if self.has_production:
            counts = ", ".join(
                f"{len(changes[key])} {key}" for key in ("better", "worse", "unchanged") if changes[key]
            )
            if counts:
                lines.append(f"F1 per intent: {counts}")
            if changes["new"]:
                lines.append(f"Intents production does not know: {', '.join(changes['new'])}")
            if changes["gone"]:
                lines.append(f"Intents the latest model does not know: {', '.join(changes['gone'])}")
        return lines

    # ---------------------------------------------------------------------------------- renderings

    def report_csv(self) -> str:
        """The per-intent table as CSV (the ``comparison_classification_report`` artifact)."""
        return compare.to_csv(self.report)

    def confusion_csv(self) -> str:
        """The confusion comparison as CSV (the ``comparison_confusion_matrix`` artifact)."""
        return compare.to_csv(self.confusion)

    def markdown(self, *, heading: str = "", max_confusion_rows: int | None = 100) -> str:
        """The merge-request description: summary, then the reference's two sections.

        The confusion section lists the ``max_confusion_rows`` largest changes (None: all) and says how many
        more the CSV holds, so a project with hundreds of intents still gets a description a forge accepts.
        """
        parts = [f"# {heading}", ""] if heading else []
        parts += [f"- {line}" for line in self.summary_lines()]
        parts += ["", compare.to_markdown(self.report, REPORT_TITLE)]
        confusion = self.confusion
        hidden = 0
        if max_confusion_rows is not None and len(confusion) > max_confusion_rows:
            hidden = len(confusion) - max_confusion_rows
            confusion = confusion.head(max_confusion_rows)
        parts.append(compare.to_markdown(confusion, CONFUSION_TITLE))
        if hidden:
            parts.append(f"_{hidden:,} more (true, predicted) pairs with smaller changes are in the CSV._\n")
        return "\n".join(parts)

    def html(self, title: str = "SLU model comparison (latest vs production)") -> str:
        """One self-contained page: the summary, then both tables (deltas coloured)."""
        page = compare.to_html({REPORT_TITLE: self.report, CONFUSION_TITLE: self.confusion}, title=title)
        summary = "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in self.summary_lines()) + "</ul>"
        return page.replace("</h1>", "</h1>" + summary, 1)


def read_metrics_csv(text: str) -> pd.DataFrame:
    """A ``classification_report.csv`` or ``full_confusion_matrix.csv`` of a metrics run, from its text.

    The first column is the label (as ``DataFrame.to_csv`` and the reference's ``slu test`` write them);
    blank cells stay missing, and a label such as ``None`` or ``NA`` stays a label. The job reads the file.
    """
    frame = pd.read_csv(io.StringIO(text), index_col=0, keep_default_na=False, na_values=[""])
    frame.index = frame.index.map(str)
    return frame


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def compare_with_production(
    latest_report: Any,
    latest_confusion: Any,
    production_report: Any = None,
    production_confusion: Any = None,
    *,
    production_ref: str = "",
) -> ProductionComparison:
    """Compare the latest model with production; production None (both) means a first training.

    Reports and confusion matrices are frames (e.g. from :func:`read_metrics_csv`), sklearn-style
    ``output_dict`` reports or :class:`~skit_pipelines.metrics.intent.scores.Confusion` objects.
    """
    if _present(production_report) != _present(production_confusion):
        given, missing = (
            ("classification report", "confusion matrix")
            if _present(production_report)
            else ("confusion matrix", "classification report")
        )
        raise ComparisonError(
            f"the production model's {given} was given without its {missing}: give both, or neither on a "
            "first training"
        )
    has_production = _present(production_report)
    report = compare.compare_reports(latest_report, production_report if has_production else None)
    confusion = compare.compare_confusions(latest_confusion, production_confusion if has_production else None)
    return ProductionComparison(
        report=_rename_sides(report),
        confusion=_rename_sides(confusion),
        has_production=has_production,
        production_ref=production_ref,
    )
