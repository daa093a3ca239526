"""Upload for annotation (``tag_calls``, spec 4.4): untagged turns → Label Studio tasks, idempotently.

What the reference did not do and this does:
- **Idempotent.** A task's identity is its ``conversation_uuid`` (call tasks: ``call_uuid``). Before
  importing, the project's existing identities are listed, and rows already there (or repeated in the file)
  are skipped and counted, so uploading the same CSV twice creates no duplicates. Two uploads racing into
  the same project at the same moment can still both add a row: run one upload per project at a time.
- **Batched, with progress and per-batch failures.** Tasks go in batches (one import request each); a batch
  the server refuses is recorded with the server's reason and the upload goes on, so one bad batch never
  hides the others. The summary counts uploaded, skipped as duplicate, invalid and failed rows per project.
- **Validated before anything is sent.** ``data_label``, project ids, required CSV columns and the call-link
  template fail fast with the parameter or column named.
"""

from __future__ import annotations

import csv
import logging
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from skit_pipelines import storage
from skit_pipelines.annotation import label_config as configs
from skit_pipelines.annotation.client import LabelStudioClient
from skit_pipelines.annotation.errors import (
    InvalidUploadFileError,
    LabelStudioAuthError,
    LabelStudioError,
    LabelStudioNotFoundError,
    UploadFailedError,
)
from skit_pipelines.annotation.tasks import (
    CALL_COLUMNS,
    CALL_KEY,
    CALL_REQUIRED_COLUMNS,
    DEFAULT_MODEL_VERSION,
    TURN_KEY,
    TURN_REQUIRED_COLUMNS,
    RowProblem,
    call_records,
    call_task,
    check_call_link_template,
    missing_columns,
    predicted_entity_types,
    turn_task,
    validate_data_label,
)
from skit_pipelines.localfiles import allow_large_csv_fields
from skit_pipelines.parameters import InvalidParameterError, parse_project_ids, split_list

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
MAX_LISTED_ERRORS = 20

Progress = Callable[[int, str, int, int], None]  # (project id, level, tasks done, tasks to do)


@dataclass
class BatchFailure:
    batch: int
    tasks: int
    first_key: str
    error: str

    def __str__(self) -> str:
        return f"batch {self.batch} ({self.tasks} tasks from {self.first_key}): {self.error}"


@dataclass
class ProjectUpload:
    """What happened in one project."""

    project_id: int
    level: str  # "turn" or "call"
    title: str = ""
    rows: int = 0  # rows offered (after invalid ones were set aside)
    uploaded: int = 0
    duplicates_in_project: int = 0
    duplicates_in_file: int = 0
    invalid: int = 0
    failed: int = 0
    predictions: int = 0
    batches: int = 0
    created: bool = False
    failures: list[BatchFailure] = field(default_factory=list)
    intents_added: list[str] = field(default_factory=list)  # appended to the label config by this upload
    intents_missing_from_project: list[str] = field(default_factory=list)

    @property
    def skipped_duplicates(self) -> int:
        return self.duplicates_in_project + self.duplicates_in_file

    def line(self) -> str:
        text = (
            f"project {self.project_id}{f' {self.title!r}' if self.title else ''} ({self.level}s"
            f"{', created' if self.created else ''}): {self.uploaded} uploaded, {self.skipped_duplicates} "
            f"skipped as duplicate, {self.failed} failed in {len(self.failures)} of {self.batches} batches"
        )
        if self.invalid:
            text += f", {self.invalid} invalid rows"
        if self.intents_added:
            text += (
                f"; added {len(self.intents_added)} intent{'s' if len(self.intents_added) != 1 else ''} "
                f"to the label config: {_shown(self.intents_added)}"
            )
        if self.intents_missing_from_project:
            missing = _shown(self.intents_missing_from_project)
            text += f"; predicted intents not in the project's choices: {missing}"
        return text


def _shown(names: Sequence[str], limit: int = 10) -> str:
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f" (+{more})" if more > 0 else "")


@dataclass
class TagCallsResult:
    projects: list[ProjectUpload]
    rows: int
    calls: int
    data_label: str
    call_level_uri: str = ""
    invalid_rows: list[RowProblem] = field(default_factory=list)
    message: str = ""

    @property
    def uploaded(self) -> int:
        return sum(p.uploaded for p in self.projects)

    @property
    def skipped_duplicates(self) -> int:
        return sum(p.skipped_duplicates for p in self.projects)

    @property
    def failed(self) -> int:
        return sum(p.failed for p in self.projects)

    @property
    def errors(self) -> list[str]:
        errors = [f"project {p.project_id}: {f}" for p in self.projects for f in p.failures]
        errors += [f"invalid row, {problem}" for problem in self.invalid_rows]
        return errors

    @property
    def df_sizes(self) -> str:
        """The reference's output: uploaded counts per project, comma-joined."""
        return ",".join(str(p.uploaded) for p in self.projects)

    def summary(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "calls": self.calls,
            "data_label": self.data_label,
            "uploaded": self.uploaded,
            "skipped_duplicates": self.skipped_duplicates,
            "failed": self.failed,
            "invalid_rows": len(self.invalid_rows),
            "call_level_uri": self.call_level_uri,
            "projects": [asdict(p) | {"skipped_duplicates": p.skipped_duplicates} for p in self.projects],
        }


# ----------------------------------------------------------------------------------------------- inputs


def upload_targets(
    *,
    labelstudio_project_id: str = "",
    job_ids: str = "",
    call_project_id: str = "",
    project_title: str = "",
    call_project_title: str = "",
) -> tuple[list[int], list[int]]:
    """(turn project ids, call project ids); an error when there is nowhere to upload to. Also the
    pre-run check of tag_calls and fetch_n_tag_calls (:mod:`skit_pipelines.pipeline_checks`)."""
    turn_ids = parse_project_ids(labelstudio_project_id, job_ids)
    call_ids = parse_project_ids(call_project_id, parameter="call_project_id")
    if not (turn_ids or call_ids or project_title.strip() or call_project_title.strip()):
        raise InvalidParameterError(
            "labelstudio_project_id",
            "labelstudio_project_id: no project to upload to (give labelstudio_project_id or job_ids, a "
            "project_title to find or create, and/or call_project_id)",
        )
    return turn_ids, call_ids


def read_rows(path: Path, source: str, required: Sequence[str]) -> tuple[list[str], list[dict[str, str]]]:
    """The CSV's columns and rows (cells as the exact strings of the file); checks the required columns."""
    allow_large_csv_fields()  # JSON cells (n-best, predictions) can be long
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        missing = missing_columns(columns, required)
        if missing:
            raise InvalidUploadFileError(
                f"{source}: missing required column(s) {', '.join(missing)} "
                f"(expected the untagged turns CSV of "
                f"fetch_calls with at least {', '.join(required)}; the file has {len(columns)} columns)"
            )
        rows = [{k: (v if v is not None else "") for k, v in row.items() if k is not None} for row in reader]
    return columns, rows


def read_taxonomy_uri(uri: str) -> list[str]:
    try:
        text = storage.read_text(uri)
    except FileNotFoundError as exc:
        raise InvalidParameterError("taxonomy_uri", f"taxonomy_uri: {exc}") from None
    try:
        intents = configs.read_taxonomy(text)
    except ValueError as exc:
        raise InvalidParameterError("taxonomy_uri", f"taxonomy_uri: {uri}: {exc}") from None
    if not intents:
        raise InvalidParameterError("taxonomy_uri", f"taxonomy_uri: {uri} lists no intents")
    return intents


# ------------------------------------------------------------------------------------------------ upload


def existing_keys(client: LabelStudioClient, project_id: int, key: str) -> set[str]:
    """Identities (``data[key]``) of the tasks already in the project."""
    return {
        str(task["data"][key])
        for task in client.iter_tasks(project_id, include="id,data")
        if isinstance(task.get("data"), dict) and task["data"].get(key) not in (None, "")
    }


def upload_tasks(
    client: LabelStudioClient,
    project: ProjectUpload,
    keyed_tasks: Sequence[tuple[str, dict[str, Any]]],
    *,
    key: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> ProjectUpload:
    """Import ``(identity, task)`` pairs into ``project`` in batches, skipping identities already there."""
    if batch_size <= 0:
        raise InvalidParameterError("batch_size", f"batch_size: must be > 0, got {batch_size}")
    project.rows = len(keyed_tasks)
    present = existing_keys(client, project.project_id, key)
    seen: set[str] = set()
    todo: list[tuple[str, dict[str, Any]]] = []
    for identity, task in keyed_tasks:
        if identity in present:
            project.duplicates_in_project += 1
        elif identity in seen:
            project.duplicates_in_file += 1
        else:
            seen.add(identity)
            todo.append((identity, task))
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    project.batches = len(batches)
    done = 0
    for number, batch in enumerate(batches, start=1):
        try:
            result = client.import_tasks(project.project_id, [task for _, task in batch])
        except (LabelStudioAuthError, LabelStudioNotFoundError):
            raise  # every later batch would fail the same way
        except LabelStudioError as exc:
            project.failed += len(batch)
            project.failures.append(BatchFailure(number, len(batch), batch[0][0], str(exc)))
            log.error(
                "project %s: batch %d/%d (%d tasks) failed: %s",
                project.project_id,
                number,
                len(batches),
                len(batch),
                exc,
            )
        else:
            project.uploaded += result.task_count
            project.predictions += result.prediction_count
            if result.task_count != len(batch):  # never expected; never hidden either
                missing = len(batch) - result.task_count
                project.failed += missing
                project.failures.append(
                    BatchFailure(
                        number,
                        len(batch),
                        batch[0][0],
                        f"server created {result.task_count} of {len(batch)} tasks",
                    )
                )
        done += len(batch)
        log.info(
            "project %s: batch %d/%d, %d/%d tasks sent",
            project.project_id,
            number,
            len(batches),
            done,
            len(todo),
        )
        if progress:
            progress(project.project_id, project.level, done, len(todo))
    return project


def _resolve_project(
    client: LabelStudioClient, project_id: int | None, title: str, level: str, make_config: Callable[[], str]
) -> ProjectUpload:
    if project_id is not None:
        found = client.get_project(project_id)
        return ProjectUpload(project_id=project_id, level=level, title=found.get("title", ""))
    found = client.find_project(title)
    if found is not None:
        return ProjectUpload(project_id=int(found["id"]), level=level, title=title)
    created = client.create_project(
        title, make_config(), description=f"{level}-level tagging, created by skit-pipelines tag_calls"
    )
    log.info("created Label Studio project %s %r", created["id"], title)
    return ProjectUpload(project_id=int(created["id"]), level=level, title=title, created=True)


def tag_calls(
    *,
    s3_path: str,
    org_id: str = "",
    data_label: str = "",
    labelstudio_project_id: str = "",
    job_ids: str = "",
    call_project_id: str = "",
    lang: str = "",
    project_title: str = "",
    call_project_title: str = "",
    taxonomy_uri: str = "",
    entity_types: str = "",
    model_version: str = DEFAULT_MODEL_VERSION,
    batch_size: int = DEFAULT_BATCH_SIZE,
    call_link_template: str = "",
    url: str,
    token: str,
    progress: Progress | None = None,
) -> TagCallsResult:
    """Upload the turns of ``s3_path`` to each turn project and, when asked, one task per call to the call
    projects. ``job_ids`` is an alias of ``labelstudio_project_id`` (both comma lists, merged).

    A project title (``project_title`` / ``call_project_title``) finds the project of that title or creates
    it with our label config: intents from ``taxonomy_uri`` when given, else from the data's ``intent``
    column;
    entity labels from the defaults, ``entity_types`` and the data's predicted entity types.
    """
    label = validate_data_label(data_label)
    turn_ids, call_ids = upload_targets(
        labelstudio_project_id=labelstudio_project_id,
        job_ids=job_ids,
        call_project_id=call_project_id,
        project_title=project_title,
        call_project_title=call_project_title,
    )
    project_title, call_project_title = project_title.strip(), call_project_title.strip()
    if not (s3_path or "").strip():
        raise InvalidParameterError(
            "s3_path", "s3_path: required (the artifact URI of an untagged turns CSV)"
        )
    check_call_link_template(call_link_template)
    taxonomy = read_taxonomy_uri(taxonomy_uri) if taxonomy_uri else []

    with tempfile.TemporaryDirectory(prefix="tag-calls-") as work:
        try:
            local = storage.download_file(s3_path, Path(work) / "turns.csv")
        except FileNotFoundError as exc:
            raise InvalidParameterError("s3_path", f"s3_path: {exc}") from None
        wants_turns = bool(turn_ids or project_title)
        required = TURN_REQUIRED_COLUMNS if wants_turns else CALL_REQUIRED_COLUMNS
        _, rows = read_rows(local, s3_path, required)

        result = TagCallsResult(projects=[], rows=len(rows), calls=0, data_label=label)
        with LabelStudioClient(url, token) as client:
            if not rows:  # e.g. a sample that matched no calls: check the projects, create nothing
                for project_id in [*turn_ids, *call_ids]:
                    client.get_project(project_id)
                result.message = (
                    f"Nothing to upload: {s3_path} has no rows (data_label={label}, org_id={org_id!r})."
                )
                return result
            if wants_turns:
                keyed, problems = _turn_tasks(rows, label, model_version)
                result.invalid_rows = problems
                data_intents = list(
                    dict.fromkeys(r.get("intent", "").strip() for r in rows if r.get("intent"))
                )
                labels = [
                    *configs.DEFAULT_ENTITY_TYPES,
                    *split_list(entity_types),
                    *predicted_entity_types(rows),
                ]
                targets: list[tuple[int | None, str]] = [(i, "") for i in turn_ids]
                if project_title:
                    targets.append((None, project_title))
                for project_id, title in targets:
                    project = _resolve_project(
                        client,
                        project_id,
                        title,
                        "turn",
                        lambda: _turn_config(taxonomy or data_intents, labels),
                    )
                    project.invalid = len(problems)
                    offered, project.intents_added = ensure_intents(
                        client, project.project_id, taxonomy or data_intents
                    )
                    project.intents_missing_from_project = [i for i in data_intents if i not in offered]
                    result.projects.append(
                        upload_tasks(
                            client, project, keyed, key=TURN_KEY, batch_size=batch_size, progress=progress
                        )
                    )
            if call_ids or call_project_title:
                records = call_records(rows, org_id=org_id, lang=lang, call_link_template=call_link_template)
                result.calls = len(records)
                result.call_level_uri = _store_call_records(records, org_id, lang)
                keyed_calls = [(r[CALL_KEY], call_task(r, data_label=label)) for r in records]
                dispositions = [r["disposition"] for r in records if r.get("disposition")]
                call_targets: list[tuple[int | None, str]] = [(i, "") for i in call_ids]
                if call_project_title:
                    call_targets.append((None, call_project_title))
                for project_id, title in call_targets:
                    project = _resolve_project(
                        client,
                        project_id,
                        title,
                        "call",
                        lambda: configs.call_label_config(dispositions or configs.DEFAULT_DISPOSITIONS),
                    )
                    result.projects.append(
                        upload_tasks(
                            client,
                            project,
                            keyed_calls,
                            key=CALL_KEY,
                            batch_size=batch_size,
                            progress=progress,
                        )
                    )
    result.message = describe(result, s3_path, org_id)
    if result.failed and not result.uploaded:
        raise UploadFailedError(f"nothing was uploaded: every batch failed.\n{result.message}")
    return result


def ensure_intents(
    client: LabelStudioClient, project_id: int, wanted: Sequence[str]
) -> tuple[set[str], list[str]]:
    """Make the project's intent choices include ``wanted``: (intents offered afterwards, intents added).

    Why: a project's choices were fixed when it was created, so a later upload with new intents would
    attach predictions that annotators cannot select. New intents are appended to the ``tag`` Choices of the
    project's label config (existing choices are kept as they are, so existing annotations stay valid, which
    Label Studio checks). A config without our ``tag`` Choices (a project set up by hand) is left alone: the
    caller reports the intents it lacks. A refusal raises, naming the intents and what to do.
    """
    config = client.get_project(project_id).get("label_config", "")
    offered = configs.choices_of(config, configs.INTENT_NAME)
    new = [intent for intent in dict.fromkeys(wanted) if intent and intent not in offered]
    if not new:
        return set(offered), []
    try:
        extended = configs.add_choices(config, configs.INTENT_NAME, new)
    except ValueError as exc:
        log.warning("project %s: intents not added to its label config: %s", project_id, exc)
        return set(offered), []
    try:
        client.update_label_config(project_id, extended)
    except LabelStudioError as exc:
        raise type(exc)(
            f"project {project_id}: Label Studio refused to add the intents {_shown(new)} to the project's "
            "label config, so annotators could not choose them; no task was sent to this project. Add "
            "them in the project's Settings > Labeling Interface, or upload to a project that offers them. "
            f"({exc})",
            url=exc.url,
            status=exc.status,
            project_id=project_id,
        ) from exc
    log.info("project %s: added intents to the label config: %s", project_id, _shown(new))
    return {*offered, *new}, new


def _turn_config(intents: Sequence[str], labels: Sequence[str]) -> str:
    try:
        return configs.turn_label_config(intents, labels)
    except ValueError as exc:
        raise InvalidParameterError("taxonomy_uri", f"taxonomy_uri: {exc}") from None


def _turn_tasks(
    rows: Iterable[dict[str, str]], label: str, model_version: str
) -> tuple[list[tuple[str, dict[str, Any]]], list[RowProblem]]:
    keyed: list[tuple[str, dict[str, Any]]] = []
    problems: list[RowProblem] = []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        identity = (row.get(TURN_KEY) or "").strip()
        if not identity:
            problems.append(RowProblem(line, "", f"empty {TURN_KEY} (the task identity)"))
            continue
        try:
            keyed.append((identity, turn_task(row, data_label=label, model_version=model_version)))
        except ValueError as exc:
            problems.append(RowProblem(line, identity, str(exc)))
    for problem in problems[:MAX_LISTED_ERRORS]:
        log.warning("row not uploaded: %s", problem)
    return keyed, problems


def _store_call_records(records: list[dict[str, str]], org_id: str, lang: str) -> str:
    """The call-level CSV (spec 2.2) as an artifact, like the reference's fetch_calls_for_slots output."""
    with tempfile.TemporaryDirectory(prefix="call-level-") as work:
        path = Path(work) / "calls.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(CALL_COLUMNS))
            writer.writeheader()
            writer.writerows(records)
        return storage.upload_file(
            path, reference=f"call-level-{org_id or 'org'}", file_type=f"{lang or 'all'}-untagged", ext=".csv"
        )


def describe(result: TagCallsResult, s3_path: str, org_id: str) -> str:
    """The Slack/log message: what went where, what was skipped and why."""
    head = (
        f"Uploaded {s3_path} ({result.rows} turns, {result.calls} calls, data_label={result.data_label}, "
        f"org_id={org_id!r}) for tagging: {result.uploaded} tasks created, {result.skipped_duplicates} "
        f"skipped as duplicate, {result.failed} failed."
    )
    lines = [head, *(f"- {p.line()}" for p in result.projects)]
    errors = result.errors
    if errors:
        lines.append("Errors:")
        lines += [f"- {e}" for e in errors[:MAX_LISTED_ERRORS]]
        if len(errors) > MAX_LISTED_ERRORS:
            lines.append(f"- ... and {len(errors) - MAX_LISTED_ERRORS} more")
    return "\n".join(lines)


__all__ = [
    "CALL_COLUMNS",
    "BatchFailure",
    "ProjectUpload",
    "TagCallsResult",
    "describe",
    "ensure_intents",
    "existing_keys",
    "parse_project_ids",
    "read_rows",
    "tag_calls",
    "upload_tasks",
]
