"""Download tagged data (``fetch_tagged_dataset``, spec 4.3): Label Studio projects → the tagged CSV.

Why the export API and not the database: the reference read Label Studio's Postgres directly, which needs
database credentials and breaks with every schema change. The export API is the supported contract and
works against any server a token can reach (see client.py for snapshot vs direct export).

Selection, per task (all counted in :class:`DownloadCounts`, nothing dropped silently):
1. cancelled (skipped) annotations are left out unless ``include_cancelled``;
2. annotations created outside the window ``[start, end)`` (annotation time, in ``timezone``) are left out;
3. of the rest, the latest (by creation time, then id) is kept, or all of them with ``all_annotations``;
4. a task without any annotation gives a row with empty answers only with ``include_unannotated``.

Dates: ``start_date``/``end_date`` are ``YYYY-MM-DD`` in ``timezone`` (the end day is included in full).
An empty date with a zero offset leaves that side open; an offset moves the date (empty: today) by that many
days, as in ``fetch_calls`` (the reference replaced the date by today + offset when the offset was non-zero).
"""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from skit_pipelines import storage
from skit_pipelines.annotation.client import SNAPSHOT_THRESHOLD, LabelStudioClient
from skit_pipelines.annotation.flatten import ANNOTATION_COLUMNS, annotation_row, columns_of
from skit_pipelines.parameters import (
    InvalidParameterError,
    effective_timezone,
    parse_project_ids,
    shifted_date,
)

log = logging.getLogger(__name__)

# skit-labels task types (the reference's contract). Label Studio tasks flatten the same way for every type;
# the parameter is validated so that a typo is caught, and recorded in the message.
TASK_TYPES: tuple[str, ...] = (
    "conversation",
    "simulated_call",
    "audio_segment",
    "dict",
    "call_transcription",
    "data_generation",
)


@dataclass(frozen=True)
class AnnotationWindow:
    """Annotation-time window, ``start`` inclusive and ``end`` exclusive; None leaves that side open."""

    start: dt.datetime | None
    end: dt.datetime | None
    timezone: str

    def contains(self, moment: dt.datetime) -> bool:
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)

    def describe(self) -> str:
        if self.start is None and self.end is None:
            return "any time"
        start = f"{self.start:%Y-%m-%d %H:%M}" if self.start else "the beginning"
        end = f"{self.end - dt.timedelta(microseconds=1):%Y-%m-%d %H:%M}" if self.end else "now"
        return f"{start} to {end} ({self.timezone})"


def annotation_window(
    start_date: str = "",
    end_date: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
    timezone: str = "",
    now: dt.datetime | None = None,
) -> AnnotationWindow:
    timezone = effective_timezone(timezone)
    zone = ZoneInfo(timezone)
    today = (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone).date()

    def day(value: str, offset: int, parameter: str) -> dt.date | None:
        if not (value or "").strip() and not offset:
            return None
        return shifted_date(value, offset, parameter, today)

    first = day(start_date, start_date_offset, "start_date")
    last = day(end_date, end_date_offset, "end_date")
    start = dt.datetime.combine(first, dt.time(0), zone) if first else None
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), zone) if last else None
    if start and end and start >= end:
        raise InvalidParameterError(
            "start_date",
            f"start_date: the window starts on {first} and ends on {last}; the start must come "
            "before the end",
        )
    return AnnotationWindow(start, end, timezone)


@dataclass
class DownloadCounts:
    projects: int = 0
    tasks: int = 0
    annotations: int = 0
    rows: int = 0
    unannotated_tasks: int = 0
    cancelled_annotations: int = 0
    outside_window: int = 0
    superseded: int = 0
    without_intent: int = 0

    def describe(self, *, include_unannotated: bool, include_cancelled: bool, all_annotations: bool) -> str:
        parts = [
            f"{self.rows} rows from {self.tasks} tasks and {self.annotations} annotations in "
            f"{self.projects} project(s)"
        ]
        details = []
        if self.unannotated_tasks:
            details.append(
                f"{self.unannotated_tasks} unannotated tasks "
                f"{'included' if include_unannotated else 'left out'}"
            )
        if self.cancelled_annotations:
            details.append(
                f"{self.cancelled_annotations} cancelled annotations "
                f"{'included' if include_cancelled else 'left out'}"
            )
        if self.outside_window:
            details.append(f"{self.outside_window} annotations outside the date window left out")
        if self.superseded and not all_annotations:
            details.append(f"{self.superseded} older annotations left out (latest per task kept)")
        if self.without_intent:
            details.append(f"{self.without_intent} rows without an intent")
        return parts[0] + (f" ({'; '.join(details)})" if details else "")


def _moment(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def select_annotations(
    task: Mapping[str, Any],
    window: AnnotationWindow,
    counts: DownloadCounts,
    *,
    all_annotations: bool = False,
    include_cancelled: bool = False,
) -> list[Mapping[str, Any]]:
    """The annotations of ``task`` that become rows (see the module docstring), counting the others."""
    annotations = list(task.get("annotations") or [])
    counts.annotations += len(annotations)
    kept = []
    for annotation in annotations:
        if annotation.get("was_cancelled"):
            counts.cancelled_annotations += 1
            if not include_cancelled:
                continue
        moment = _moment(annotation.get("created_at"))
        if moment is not None and not window.contains(moment):
            counts.outside_window += 1
            continue
        kept.append(annotation)
    kept.sort(
        key=lambda a: (
            _moment(a.get("created_at")) or dt.datetime.min.replace(tzinfo=dt.timezone.utc),
            a.get("id") or 0,
        )
    )
    if not all_annotations and len(kept) > 1:
        counts.superseded += len(kept) - 1
        kept = kept[-1:]
    return kept


def rows_of_project(
    tasks: Sequence[Mapping[str, Any]],
    project_id: int,
    window: AnnotationWindow,
    counts: DownloadCounts,
    *,
    users: Mapping[int, str],
    all_annotations: bool = False,
    include_cancelled: bool = False,
    include_unannotated: bool = False,
) -> list[dict[str, str]]:
    zone = ZoneInfo(window.timezone)
    rows: list[dict[str, str]] = []
    for task in sorted(tasks, key=lambda t: t.get("id") or 0):
        counts.tasks += 1
        if not task.get("annotations"):
            counts.unannotated_tasks += 1
            if include_unannotated:
                rows.append(annotation_row(task, None, project_id=project_id, zone=zone, users=users))
            continue
        for annotation in select_annotations(
            task, window, counts, all_annotations=all_annotations, include_cancelled=include_cancelled
        ):
            row = annotation_row(task, annotation, project_id=project_id, zone=zone, users=users)
            if not row["intent_y"]:
                counts.without_intent += 1
            rows.append(row)
    return rows


@dataclass
class TaggedDataset:
    uri: str
    counts: DownloadCounts
    project_ids: list[int]
    window: AnnotationWindow
    message: str
    download_command: str

    def summary(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "project_ids": self.project_ids,
            "window": self.window.describe(),
            **asdict(self.counts),
        }


def write_csv(rows: Sequence[Mapping[str, str]], path: Path) -> list[str]:
    columns = columns_of(rows) if rows else list(ANNOTATION_COLUMNS)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return columns


def download_sources(
    *, labelstudio_project_id: str = "", job_id: str = "", task_type: str = "", empty_possible: bool = False
) -> list[int]:
    """The project ids to download (both comma lists merged), checked with the task type; no project is an
    error unless ``empty_possible``. Also the pre-run check of the download pipelines."""
    if (task_type or "conversation") not in TASK_TYPES:
        raise InvalidParameterError(
            "task_type",
            f"task_type: unknown task type {task_type!r} (expected one of {', '.join(TASK_TYPES)})",
        )
    project_ids = parse_project_ids(labelstudio_project_id, job_id)
    if not project_ids and not empty_possible:
        raise InvalidParameterError(
            "labelstudio_project_id",
            "labelstudio_project_id: no project to download (give "
            "labelstudio_project_id or job_id, comma lists of Label Studio project ids)",
        )
    return project_ids


@dataclass(frozen=True)
class DownloadRequest:
    """A validated download: which projects, which annotation window, which annotations become rows.

    Why: the download's dozen parameters arrive as text; the component builds this once
    (:func:`download_request_from`) and nothing below it lists them again.
    """

    project_ids: tuple[int, ...]
    window: AnnotationWindow
    task_type: str = "conversation"
    all_annotations: bool = False
    include_cancelled: bool = False
    include_unannotated: bool = False


def download_request(
    *,
    labelstudio_project_id: str = "",
    job_id: str = "",
    start_date: str = "",
    end_date: str = "",
    start_date_offset: int = 0,
    end_date_offset: int = 0,
    timezone: str = "",
    task_type: str = "conversation",
    all_annotations: bool = False,
    include_cancelled: bool = False,
    include_unannotated: bool = False,
    empty_possible: bool = False,
    now: dt.datetime | None = None,
) -> DownloadRequest:
    """Check the projects (``labelstudio_project_id`` and its alias ``job_id``, comma lists, merged) and the
    window; no project id is an error unless ``empty_possible`` (then the download holds the header only)."""
    project_ids = download_sources(
        labelstudio_project_id=labelstudio_project_id,
        job_id=job_id,
        task_type=task_type,
        empty_possible=empty_possible,
    )
    return DownloadRequest(
        project_ids=tuple(project_ids),
        window=annotation_window(start_date, end_date, start_date_offset, end_date_offset, timezone, now=now),
        task_type=task_type,
        all_annotations=all_annotations,
        include_cancelled=include_cancelled,
        include_unannotated=include_unannotated,
    )


# The raw parameters a download is built from: what the fetch_tagged_dataset component spells out for kfp.
DOWNLOAD_PARAMETERS: tuple[str, ...] = tuple(
    name for name in inspect.signature(download_request).parameters if name != "now"
)


def download_request_from(arguments: Mapping[str, Any], *, now: dt.datetime | None = None) -> DownloadRequest:
    """The :class:`DownloadRequest` of a step's raw parameters (a component's ``locals()``); other names
    (``org_id``, ...) are ignored, missing ones take their defaults."""
    return download_request(
        **{name: arguments[name] for name in DOWNLOAD_PARAMETERS if name in arguments}, now=now
    )


def fetch_tagged_dataset(
    request: DownloadRequest,
    *,
    org_id: str = "",
    snapshot_threshold: int = SNAPSHOT_THRESHOLD,
    url: str,
    token: str,
) -> TaggedDataset:
    """Export the projects of ``request`` and store the flattened tagged CSV in the artifact store."""
    project_ids, window = list(request.project_ids), request.window
    counts = DownloadCounts()
    rows: list[dict[str, str]] = []
    if project_ids:
        with LabelStudioClient(url, token) as client:
            users = client.users()
            for project_id in project_ids:
                tasks = client.export_tasks(project_id, snapshot_threshold=snapshot_threshold)
                counts.projects += 1
                rows += rows_of_project(
                    tasks,
                    project_id,
                    window,
                    counts,
                    users=users,
                    all_annotations=request.all_annotations,
                    include_cancelled=request.include_cancelled,
                    include_unannotated=request.include_unannotated,
                )
                log.info("project %s: %d tasks exported", project_id, len(tasks))
    counts.rows = len(rows)
    ids = "_".join(str(i) for i in project_ids) or "none"
    with tempfile.TemporaryDirectory(prefix="tagged-") as work:
        path = Path(work) / "tagged.csv"
        write_csv(rows, path)
        uri = storage.upload_file(path, reference=f"{org_id or 'org'}_{ids}", file_type="tagged", ext=".csv")
    description = counts.describe(
        include_unannotated=request.include_unannotated,
        include_cancelled=request.include_cancelled,
        all_annotations=request.all_annotations,
    )
    message = (
        f"Here is your data for org_id={org_id!r} and job_id={','.join(map(str, project_ids))!r} "
        f"(task_type={request.task_type}, annotated {window.describe()}): {description}."
    )
    return TaggedDataset(
        uri=uri,
        counts=counts,
        project_ids=project_ids,
        window=window,
        message=message,
        download_command=storage.download_command(uri),
    )
