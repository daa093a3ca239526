"""Entity evaluation of a tagged entity dataset frame: reports, error tables and the Slack text, no I/O.

The metrics themselves are in :mod:`~skit_pipelines.metrics.entity.report` (first-entity and all-entities
reports) and :mod:`~skit_pipelines.metrics.entity.spans` (span schemes); this module turns a dataset frame
into them. Reading the dataset, writing the artifacts and the ``entity_metrics`` rows is the job of
:mod:`skit_pipelines.jobs.entity_eval` (``eer_from_tog``), so tests and benchmarks call this on frames.

Why pandas: it reads a million-row CSV with JSON cells in seconds and writes the CSV reports; the per-turn
work is plain loops over lists, not ``DataFrame.apply``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from skit_pipelines.metrics.entity.categorical import categorical_report, categorical_table
from skit_pipelines.metrics.entity.report import (
    ALIASES,
    ID_COLUMN,
    OVERALL,
    PRED_COLUMN,
    TRUTH_COLUMN,
    FirstEntityReport,
    InvalidEntityDatasetError,
    ParsedEntities,
    all_entity_report,
    first_entity_report,
    parse_entity_columns,
    require_columns,
    value_warnings,
)
from skit_pipelines.metrics.entity.spans import SCHEMES, SpanReport, span_report
from skit_pipelines.metrics.prediction_join import join_predictions
from skit_pipelines.metrics.tagged import InvalidDatasetError

log = logging.getLogger(__name__)

__all__ = [
    "CONTEXT_COLUMNS",
    "ERROR_COLUMNS",
    "INFO_COLUMNS",
    "EntityEvaluation",
    "build_message",
    "evaluate_entity_frame",
    "join_entity_predictions",
    "wanted_columns",
]

# Columns copied into the fp/fn/mm tables when the dataset has them, to read an error in context.
CONTEXT_COLUMNS = (
    "conversation_uuid",
    "call_uuid",
    "raw.call_uuid",
    "state",
    "raw.state",
    "reftime",
    "tagged_time",
    "alternatives",
    "raw.intent",
    "audio_url",
)
# Columns read for the metrics table (language, calls, turns, date ranges).
INFO_COLUMNS = (
    "raw.language",
    "language",
    "raw.conversation_uuid",
    "conversation_uuid",
    "raw.call_uuid",
    "call_uuid",
    "reftime",
    "tagged_time",
)
ERROR_COLUMNS = ["id", "entity_type", "true_ent_type", "pred_ent_type", "true_entities", "pred_entities"]


def wanted_columns(header: list[str], extra_columns: tuple[str, ...] = ()) -> list[str]:
    """The columns of ``header`` the evaluation reads: ids, truth, prediction, context and dataset info."""
    names = [ID_COLUMN, TRUTH_COLUMN, PRED_COLUMN]
    wanted = {n for name in names for n in (name, *ALIASES.get(name, ()))}
    wanted.update(CONTEXT_COLUMNS, INFO_COLUMNS, extra_columns)
    return [c for c in header if c in wanted]


# -------------------------------------------------------------------------------------------- evaluate


@dataclass
class EntityEvaluation:
    """Everything an entity evaluation produced, plus an account of what was skipped and why."""

    first: FirstEntityReport
    all_entities: pd.DataFrame
    spans: SpanReport
    errors: dict[str, pd.DataFrame]  # "fp", "fn", "mm" → error table
    rows: int  # rows in the dataset
    turns: int  # rows evaluated
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    categorical: dict[str, Any] = field(default_factory=dict)  # type/value report; {} without any

    @property
    def categorical_table(self) -> pd.DataFrame:
        return categorical_table(self.categorical)

    @property
    def skipped_rows(self) -> int:
        return sum(self.skipped.values())

    @property
    def report(self) -> pd.DataFrame:
        return self.first.report

    def headline(self) -> dict[str, Any]:
        overall = self.all_entities.loc[OVERALL]
        out: dict[str, Any] = {
            "rows": self.rows,
            "turns": self.turns,
            "skipped_rows": self.skipped_rows,
            "reference_entities": int(overall["reference"]),
            "entity_error_rate": float(overall["entity_error_rate"]),
            "precision": float(overall["precision"]),
            "recall": float(overall["recall"]),
            "f1": float(overall["f1"]),
        }
        for scheme in SCHEMES:
            out[f"{scheme}_f1"] = self.spans.overall(scheme)["f1"]
        return out

    def notes(self) -> list[str]:
        """Human-readable lines about skipped rows and values that could not be compared by type."""
        lines = []
        for reason, count in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
            examples = "; ".join(self.skipped_examples.get(reason, []))
            lines.append(f"{count} row(s) skipped: {reason}" + (f" (e.g. {examples})" if examples else ""))
        for reason, count in sorted(self.warnings.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"{count} {reason}")
        return lines


def _error_table(
    frame: pd.DataFrame, columns: dict[str, str], parsed: ParsedEntities, pairs: list[tuple[int, str]]
) -> pd.DataFrame:
    positions = [parsed.rows[row] for row, _ in pairs]
    data: dict[str, Any] = {
        "id": frame[columns[ID_COLUMN]].iloc[positions].tolist(),
        "entity_type": [kind for _, kind in pairs],
        "true_ent_type": [parsed.truth[row][0].type if parsed.truth[row] else None for row, _ in pairs],
        "pred_ent_type": [parsed.pred[row][0].type if parsed.pred[row] else None for row, _ in pairs],
        "true_entities": frame[columns[TRUTH_COLUMN]].iloc[positions].tolist(),
        "pred_entities": frame[columns[PRED_COLUMN]].iloc[positions].tolist(),
    }
    for name in CONTEXT_COLUMNS:
        if name in frame.columns and name not in columns.values():
            data[name] = frame[name].iloc[positions].tolist()
    return pd.DataFrame(data)


def evaluate_entity_frame(frame: pd.DataFrame, *, normalise_labels: bool = False) -> EntityEvaluation:
    """Evaluate a tagged entity dataset already in memory (see the module docs for the columns).

    Entity types are compared lower-cased and otherwise as given, as the reference did;
    ``normalise_labels`` strips them first (``"product kind "`` = ``"product kind"``).
    """
    columns = require_columns(frame)
    for ours, theirs in columns.items():
        if ours != theirs:
            log.info("using column %r for %r", theirs, ours)
    parsed = parse_entity_columns(
        frame[columns[ID_COLUMN]].tolist(),
        frame[columns[TRUTH_COLUMN]].tolist(),
        frame[columns[PRED_COLUMN]].tolist(),
        truth_name=columns[TRUTH_COLUMN],
        pred_name=columns[PRED_COLUMN],
        normalise_labels=normalise_labels,
    )
    first = first_entity_report(parsed.truth, parsed.pred)
    every = all_entity_report(parsed.truth, parsed.pred)
    spans = span_report(parsed.truth, parsed.pred)
    categorical = categorical_report(parsed.truth, parsed.pred)
    warnings = value_warnings(parsed.truth, parsed.pred, columns[TRUTH_COLUMN], columns[PRED_COLUMN])
    if spans.entities_without_span:
        warnings["entities without usable start/end offsets (left out of the span scores)"] = (
            spans.entities_without_span
        )
    if not any(parsed.truth) and not any(parsed.pred):
        warnings["turns evaluated, but neither column has any entity: every score is 0 by definition"] = len(
            parsed.rows
        )
    ids = frame[columns[ID_COLUMN]].iloc[parsed.rows]
    duplicates = int(ids.duplicated().sum())
    if duplicates:
        key = f"rows repeat an earlier {columns[ID_COLUMN]} (each row is evaluated as its own turn)"
        warnings[key] = duplicates
    errors = {kind: _error_table(frame, columns, parsed, pairs) for kind, pairs in first.errors.items()}
    evaluation = EntityEvaluation(
        first=first,
        all_entities=every,
        spans=spans,
        errors=errors,
        rows=parsed.total_rows,
        turns=len(parsed.rows),
        skipped=parsed.skipped,
        skipped_examples=parsed.examples,
        warnings=warnings,
        categorical=categorical,
    )
    for line in evaluation.notes():
        log.warning("%s", line)
    return evaluation


def join_entity_predictions(
    frame: pd.DataFrame, predictions: pd.DataFrame, id_column: str = ""
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The dataset with its predicted entities taken from a prediction file, joined on ``id_column``
    (default: ``data_id``, ``id`` or ``conversation_uuid`` on each side; see
    :mod:`~skit_pipelines.metrics.prediction_join`). Returns the joined frame and the rows left out by
    reason (they become warnings of the evaluation)."""
    pred_names = (PRED_COLUMN, *ALIASES[PRED_COLUMN])
    found = next((c for c in pred_names if c in predictions.columns), None)
    if found is None:
        raise InvalidEntityDatasetError(
            f"the prediction file has no column {PRED_COLUMN!r} (nor "
            f"{', '.join(map(repr, ALIASES[PRED_COLUMN]))}): expected a JSON list of the predicted "
            "entities per id"
        )
    truth_column = next(
        (c for c in (TRUTH_COLUMN, *ALIASES[TRUTH_COLUMN]) if c in frame.columns), TRUTH_COLUMN
    )
    try:
        joined = join_predictions(
            frame.drop(columns=[c for c in pred_names if c in frame.columns]),
            predictions.rename(columns={found: PRED_COLUMN}),
            true_label_column=truth_column,
            pred_label_column=PRED_COLUMN,
            id_column=id_column,
            id_candidates=(ID_COLUMN, *ALIASES[ID_COLUMN]),
        )
    except InvalidDatasetError as exc:
        raise InvalidEntityDatasetError(str(exc)) from None
    out = joined.frame
    if id_column and not any(c in out.columns for c in (ID_COLUMN, *ALIASES[ID_COLUMN])):
        out = out.assign(**{ID_COLUMN: out[id_column]})
    return out, joined.counts.issues()


# ------------------------------------------------------------------------------------------- message


def _fmt(value: float) -> str:
    return f"{value:.3f}"


def build_message(
    evaluation: EntityEvaluation, uris: dict[str, str], reference: str, rows_written: int
) -> str:
    """Slack/console text: headline numbers, skipped rows, where every artifact is."""
    h = evaluation.headline()
    lines = [
        f"Here's the entity error report for {reference or 'the dataset'}: {h['turns']} turns evaluated"
        + (f", {h['skipped_rows']} rows skipped" if h["skipped_rows"] else "")
        + ".",
        f"Entity error rate {_fmt(h['entity_error_rate'])} over {h['reference_entities']} tagged entities; "
        f"span F1 strict {_fmt(h['strict_f1'])}, exact {_fmt(h['exact_f1'])}, "
        f"partial {_fmt(h['partial_f1'])}, type {_fmt(h['type_f1'])}.",
    ]
    report = evaluation.report
    if not report.empty:
        frequent = report.sort_values("Support", ascending=False).head(5)
        lines.append(
            "First entity per turn (FPR / FNR / mismatch rate, support): "
            + "; ".join(
                f"{kind} {_fmt(r['FPR'])} / {_fmt(r['FNR'])} / {_fmt(r['Mismatch Rate'])} "
                f"({int(r['Support'])})"
                for kind, r in frequent.iterrows()
            )
        )
    if rows_written:
        lines.append(f"Wrote {rows_written} rows to the entity_metrics table.")
    notes = evaluation.notes()
    lines.extend(notes[:5])
    if len(notes) > 5:
        lines.append(f"({len(notes) - 5} more notes in the report)")
    lines.append("Report: " + uris.get("html", uris.get("report", "")))
    return "\n".join(lines)
