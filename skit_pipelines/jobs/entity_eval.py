"""``eer_from_tog`` end to end: read the entity dataset, evaluate it, write every artifact and the rows.

Why a job: the evaluation (:mod:`skit_pipelines.metrics.entity.evaluation`) is pure computation on frames;
this module does the I/O around it — the dataset and the prediction file from a local path or the artifact
store (under the read policy), the CSV/HTML/JSON artifacts through :mod:`skit_pipelines.storage`, and with
``mlwr`` the ``entity_metrics`` rows (:mod:`skit_pipelines.stores.entity_metrics`). The component is a
thin wrapper around :func:`run_entity_evaluation`.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from skit_pipelines import storage
from skit_pipelines.metrics.entity.evaluation import (
    EntityEvaluation,
    build_message,
    evaluate_entity_frame,
    join_entity_predictions,
    wanted_columns,
)
from skit_pipelines.metrics.entity.html import render_entity_html
from skit_pipelines.metrics.entity.report import ID_COLUMN, InvalidEntityDatasetError
from skit_pipelines.metrics.tagged import dataset_info
from skit_pipelines.parameters import effective_timezone
from skit_pipelines.read_errors import content_free_reason
from skit_pipelines.readpolicy import check_readable
from skit_pipelines.stores.entity_metrics import write_entity_metrics
from skit_pipelines.stores.tables import database_url_or_default

__all__ = [
    "EntityEvaluationResult",
    "read_entity_dataset",
    "run_entity_evaluation",
    "write_entity_artifacts",
]

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


def _read_csv(path: Path, extra_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    header = pd.read_csv(path, nrows=0).columns.tolist()
    if not header:
        raise InvalidEntityDatasetError(f"{path} has no header row: expected a CSV with {ID_COLUMN!r}, ...")
    columns = wanted_columns(header, extra_columns) or header
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
            keep = wanted_columns([str(c) for c in frame.columns], extra_columns)
            return frame[keep] if keep else frame
        return _read_csv(local, extra_columns)
    except InvalidEntityDatasetError:
        raise
    except (pd.errors.EmptyDataError, pd.errors.ParserError, ValueError) as exc:
        # the parser's message may quote the file: say where, never what (from None drops the cause)
        raise InvalidEntityDatasetError(
            f"cannot read the entity dataset {uri}: {content_free_reason(exc)}"
        ) from None


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
            database_url=database_url_or_default(database_url),
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
