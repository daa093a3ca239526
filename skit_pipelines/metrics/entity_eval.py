"""Entity evaluation of a tagged entity dataset, end to end: read, evaluate, error tables, artifacts.

Plain Python: the ``eer_from_tog`` component calls :func:`run_entity_evaluation`; tests call the pieces.
The metrics themselves are in :mod:`~skit_pipelines.metrics.entities` (first-entity and all-entities
reports) and :mod:`~skit_pipelines.metrics.entity_spans` (span schemes); this module turns a dataset
into them and them into files.

Why pandas: it reads a million-row CSV with JSON cells in seconds (the pyarrow engine when present) and
writes the CSV reports; the per-turn work is plain loops over lists, not ``DataFrame.apply``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from skit_pipelines import storage
from skit_pipelines.metrics.entities import (
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
from skit_pipelines.metrics.entity_categorical import categorical_report, categorical_table
from skit_pipelines.metrics.entity_spans import SCHEMES, SpanReport, span_report
from skit_pipelines.metrics.prediction_join import join_predictions
from skit_pipelines.metrics.tagged import InvalidDatasetError
from skit_pipelines.parameters import effective_timezone
from skit_pipelines.readpolicy import check_readable, content_free_reason

log = logging.getLogger(__name__)

__all__ = [
    "CONTEXT_COLUMNS",
    "ERROR_COLUMNS",
    "EntityEvaluation",
    "EntityEvaluationResult",
    "evaluate_entity_frame",
    "join_entity_predictions",
    "read_entity_dataset",
    "run_entity_evaluation",
    "write_entity_artifacts",
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

# Artifact file types (the reference's names for the four it had).
FILE_TYPES = {
    "report": "eevee_entity_metrics",
    "fp": "eevee_eer_fp",
    "fn": "eevee_eer_fn",
    "mm": "eevee_eer_mm",
    "all_entities": "eer_all_entities",
    "categorical": "eer_categorical",
    "spans": "eer_span_metrics",
    "html": "eer_report",
    "summary": "eer_summary",
}


# ------------------------------------------------------------------------------------------------ read


def _wanted_columns(header: list[str], extra_columns: tuple[str, ...] = ()) -> list[str]:
    names = [ID_COLUMN, TRUTH_COLUMN, PRED_COLUMN]
    wanted = {n for name in names for n in (name, *ALIASES.get(name, ()))}
    wanted.update(CONTEXT_COLUMNS, INFO_COLUMNS, extra_columns)
    return [c for c in header if c in wanted]


def _read_csv(path: Path, extra_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    header = pd.read_csv(path, nrows=0).columns.tolist()
    if not header:
        raise InvalidEntityDatasetError(f"{path} has no header row: expected a CSV with {ID_COLUMN!r}, ...")
    columns = _wanted_columns(header, extra_columns) or header
    try:
        import pyarrow  # noqa: F401  - the fast multi-threaded reader when available

        engine = "pyarrow"
    except ImportError:  # pragma: no cover
        engine = "c"
    return pd.read_csv(path, usecols=columns, dtype=str, engine=engine, keep_default_na=False)


def read_entity_dataset(uri: str, extra_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """The tagged entity dataset at ``uri`` (local path or artifact URI; ``.csv`` or ``.parquet``).

    Only the columns the evaluation uses (and ``extra_columns``) are loaded. Every column is read as text
    so that ids keep their form (``007`` stays ``007``) and empty cells stay empty strings.
    """
    if not uri:
        raise InvalidEntityDatasetError("no dataset given: pass dataset_path (a tagged entity CSV)")
    if not storage.exists(uri):
        raise storage.ArtifactNotFoundError(uri, "the entity dataset does not exist")
    if not storage.is_remote(uri) and "://" not in uri:  # a plain local path: read it in place
        check_readable(uri, parameter="dataset_path")
        return _read_local(Path(uri).expanduser(), uri, extra_columns)
    with tempfile.TemporaryDirectory(prefix="entity-eval-") as work:
        local = storage.download_file(uri, Path(work) / (Path(uri.rstrip("/")).name or "dataset.csv"))
        return _read_local(local, uri, extra_columns)


def _read_local(local: Path, uri: str, extra_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    try:
        if local.suffix.lower() in {".parquet", ".pq"}:
            frame = pd.read_parquet(local)
            keep = _wanted_columns([str(c) for c in frame.columns], extra_columns)
            return frame[keep] if keep else frame
        return _read_csv(local, extra_columns)
    except InvalidEntityDatasetError:
        raise
    except (pd.errors.EmptyDataError, pd.errors.ParserError, ValueError) as exc:
        # the parser's message may quote the file: say where, never what (from None drops the cause)
        raise InvalidEntityDatasetError(
            f"cannot read the entity dataset {uri}: {content_free_reason(exc)}"
        ) from None


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


# --------------------------------------------------------------------------------------------- write


def _csv_bytes(frame: pd.DataFrame, index: bool) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=index)
    return buffer.getvalue().encode("utf-8")


def write_entity_artifacts(
    evaluation: EntityEvaluation, reference: str, html: str = "", extra_summary: dict[str, Any] | None = None
) -> dict[str, str]:
    """Upload the report, fp/fn/mm, all-entities and span CSVs, the HTML and a JSON summary.

    Returns artifact URIs keyed ``report``, ``fp``, ``fn``, ``mm``, ``all_entities``, ``categorical``,
    ``spans``, ``html`` (when given) and ``summary``. Each upload is atomic (see
    :mod:`skit_pipelines.storage`).
    """
    reference = reference or "entity-evaluation"
    uris: dict[str, str] = {}

    def put(key: str, data: bytes, ext: str) -> None:
        uris[key] = storage.upload_bytes(data, reference=reference, file_type=FILE_TYPES[key], ext=ext)

    put("report", _csv_bytes(evaluation.report, index=True), ".csv")
    for kind in ("fp", "fn", "mm"):
        put(kind, _csv_bytes(evaluation.errors[kind], index=False), ".csv")
    put("all_entities", _csv_bytes(evaluation.all_entities, index=True), ".csv")
    put("categorical", _csv_bytes(evaluation.categorical_table, index=True), ".csv")
    put("spans", _csv_bytes(evaluation.spans.table, index=False), ".csv")
    if html:
        put("html", html.encode("utf-8"), ".html")
    summary = {
        "headline": evaluation.headline(),
        "skipped": evaluation.skipped,
        "skipped_examples": evaluation.skipped_examples,
        "warnings": evaluation.warnings,
        "first_entity_counts": evaluation.first.counts.reset_index().to_dict(orient="records"),
        "categorical_averages": {
            k: v for k, v in evaluation.categorical.items() if k in ("micro avg", "macro avg", "weighted avg")
        },
        "artifacts": dict(uris),
        **(extra_summary or {}),
    }
    put("summary", json.dumps(summary, indent=2, default=str).encode("utf-8"), ".json")
    return uris


# ----------------------------------------------------------------------------------------- end to end


@dataclass
class EntityEvaluationResult:
    """What ``eer_from_tog`` reports: artifact URIs, headline numbers, table rows, a Slack message."""

    uris: dict[str, str]
    headline: dict[str, Any]
    metrics_rows_written: int
    message: str
    download_commands: str
    notes: list[str]


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


def run_entity_evaluation(
    *,
    dataset_uri: str,
    org_id: str = "",
    job_id: str = "",
    labelstudio_project_id: str = "",
    timezone: str = "",
    mlwr: bool = False,
    slu_project_name: str = "",
    database_url: str = "",
    note: str = "",
    normalise_labels: bool = False,
    prediction_uri: str = "",
    id_column: str = "",
) -> EntityEvaluationResult:
    """Read the dataset, evaluate, write every artifact, and (``mlwr``) the ``entity_metrics`` rows.

    A failure to write the table raises (the reference logged and swallowed it). ``note`` (where the
    dataset came from: the download's counts, or parameters that did not apply) ends the message, and is
    added to the error when the dataset cannot be evaluated. ``normalise_labels``: see
    :func:`evaluate_entity_frame`. ``prediction_uri``: a file of predicted entities per id, joined to the
    dataset on ``id_column`` (:func:`join_entity_predictions`); the dataset's own predictions are unused.
    """
    from skit_pipelines.metrics.entity_html import render_entity_html
    from skit_pipelines.metrics.entity_store import dataset_info, write_entity_metrics

    zone = effective_timezone(timezone)
    note = note.strip()
    try:
        extra = (id_column,) if id_column else ()
        frame = read_entity_dataset(dataset_uri, extra)
        left_out: dict[str, int] = {}
        if prediction_uri:
            if not storage.exists(prediction_uri):
                raise storage.ArtifactNotFoundError(
                    prediction_uri,
                    "prediction_path does not exist: expected a file of predicted entities per id",
                )
            frame, left_out = join_entity_predictions(
                frame, read_entity_dataset(prediction_uri, extra), id_column
            )
        evaluation = evaluate_entity_frame(frame, normalise_labels=normalise_labels)
        evaluation.warnings.update({f"rows {reason}": count for reason, count in left_out.items()})
    except InvalidEntityDatasetError as exc:
        if not note:
            raise
        # e.g. no rows: the download's counts say why (every annotation outside the date window, ...)
        raise InvalidEntityDatasetError(f"{exc}\n{note}") from exc
    dataset_job_id = labelstudio_project_id or job_id
    info = dataset_info(frame, timezone=zone)
    info_strings = {
        "dataset_job_id": dataset_job_id,
        **{
            k: "" if v is None else v.isoformat() if hasattr(v, "isoformat") else str(v)
            for k, v in asdict(info).items()
        },
    }
    reference = org_id or (f"job-{dataset_job_id}" if dataset_job_id else "") or "entity-evaluation"
    title = f"Entity evaluation — {reference}"
    html = render_entity_html(
        evaluation, title=title, info=info_strings, source=os.path.basename(dataset_uri.rstrip("/"))
    )
    uris = write_entity_artifacts(
        evaluation, reference, html=html, extra_summary={"dataset": dataset_uri, "dataset_info": info_strings}
    )
    rows_written = 0
    if mlwr:
        rows_written = write_entity_metrics(
            evaluation,
            info,
            slu_name=slu_project_name,
            dataset_job_id=dataset_job_id,
            report_uri=uris.get("html", ""),
            database_url=database_url,
        )
    message = build_message(evaluation, uris, reference, rows_written) + (f"\n{note}" if note else "")
    commands = "\n".join(storage.download_command(uri) for uri in uris.values())
    return EntityEvaluationResult(
        uris=uris,
        headline=evaluation.headline(),
        metrics_rows_written=rows_written,
        message=message,
        download_commands=commands,
        notes=evaluation.notes(),
    )
