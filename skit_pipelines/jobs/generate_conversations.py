"""The step of ``generate_and_tag_conversations``: situations → conversations → artifacts, rows, Label Studio.

Order, and why:

1. **Situations** from the registry (:func:`stores.conversations.select_situations`): an unknown id fails
   the run before anything is generated; invalidated ones are skipped and reported.
2. **The Label Studio project** is resolved (found, or created with the conversation-tagging config)
   *before* generating, so a wrong project id or an unreachable server costs no LLM calls.
3. **Generation**: with an LLM configured (``SKIT_LLM_*``; ``model`` overrides the model name), one
   chat-completions request per conversation through :class:`~skit_pipelines.llm.client.ChatClient`
   (retries, bounded concurrency, JSON answers), with the versioned prompt ``conversation_generator``
   (packaged, or the user's ``prompt_file_path``), recorded once per version in ``prompt_details``.
   Without one, the deterministic template generator of the demo dialogue model, named as such everywhere.
4. **Validation** (:mod:`skit_pipelines.conversations.model`): invalid outputs are counted, stored with
   their reasons (``invalid.jsonl``) and never uploaded. When every LLM request failed (a wrong key, an
   unknown model, a server down) the run fails: that is a configuration problem, not a batch of bad answers.
5. **Artifacts** under ``llm_artifacts/generated_conversations/{client_id}_{template_id}/<UTC time>-<token>/``
   (the reference's folder): one JSON per valid conversation (``<situation_id>_<id prefix>.json``), the
   Label Studio columns as ``conversations.csv``, ``invalid.jsonl`` and ``summary.json``.
6. **Rows**: one ``generated_conversations`` row per conversation, keyed by its identity (a re-run records
   nothing twice), linked to its JSON artifact and its prompt row.
7. **Upload** through :func:`skit_pipelines.annotation.upload.upload_tasks`: task identity is the
   conversation id, so a conversation already in the project is skipped, not uploaded twice.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import logging
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from skit_pipelines import storage
from skit_pipelines.annotation.client import LabelStudioClient
from skit_pipelines.annotation.errors import UploadFailedError
from skit_pipelines.annotation.label_config import conversation_label_config
from skit_pipelines.annotation.upload import ProjectUpload, upload_tasks
from skit_pipelines.conversations import template_generator
from skit_pipelines.conversations.model import (
    ConversationLimits,
    Generated,
    check_turns,
    read_output,
)
from skit_pipelines.conversations.request import GenerationRequest
from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.llm.client import BatchUsage, ChatClient, ChatResult
from skit_pipelines.llm.endpoint import LLMEndpoint
from skit_pipelines.llm.prompts import PromptTemplate, PromptTemplateError, load_prompt
from skit_pipelines.parameters import InvalidParameterError
from skit_pipelines.stores.conversations import (
    ConversationRow,
    SituationSelection,
    StoredSituationText,
    record_conversations,
    record_prompt,
    select_situations,
)

log = logging.getLogger(__name__)

__all__ = [
    "LABELSTUDIO_COLUMNS",
    "PROMPT_NAME",
    "TASK_KEY",
    "GenerationResult",
    "LLMGenerationError",
    "generate_and_tag",
]

PROMPT_NAME = "conversation_generator"
TASK_KEY = "conversation_id"
LABELSTUDIO_COLUMNS = ("scenario", "scenario_category", "situation_str", "call", "data_label")
"""The reference's Label Studio columns (spec 8.2); tasks also carry conversation_id, situation_id and
generator."""
MAX_LISTED = 10


class LLMGenerationError(SkitPipelinesError, RuntimeError):
    """Every LLM request failed (nothing was answered): the endpoint, key or model is wrong or down."""


@dataclass
class GenerationResult:
    """What one run did; ``message`` is its Slack text."""

    request: GenerationRequest
    selection: SituationSelection
    generator: str
    model: str
    outputs: list[Generated]
    folder_uri: str = ""
    prompt_version: str = ""
    prompt_id: int | None = None
    rows_added: int = 0
    rows_existing: int = 0
    upload: ProjectUpload | None = None
    usage: BatchUsage | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> list[Generated]:
        return [o for o in self.outputs if o.valid]

    @property
    def invalid(self) -> list[Generated]:
        return [o for o in self.outputs if not o.valid]

    @property
    def uploaded(self) -> int:
        return self.upload.uploaded if self.upload else 0

    @property
    def skipped_duplicates(self) -> int:
        return self.upload.skipped_duplicates if self.upload else 0

    @property
    def generator_label(self) -> str:
        """Who wrote the conversations, as every output names it."""
        if self.generator == template_generator.GENERATOR:
            return f"the offline template generator ({self.model}) - not an LLM"
        return f"the LLM {self.model} (prompt {PROMPT_NAME} v{self.prompt_version})"

    def summary(self) -> dict[str, Any]:
        return {
            "generator": self.generator,
            "model": self.model,
            "generator_label": self.generator_label,
            "prompt_name": PROMPT_NAME if self.prompt_version else "",
            "prompt_version": self.prompt_version,
            "situations": [s.situation_id for s in self.selection.valid],
            "skipped_invalidated_situations": list(self.selection.invalid),
            "generated": len(self.outputs),
            "valid": len(self.valid),
            "invalid": len(self.invalid),
            "rows_added": self.rows_added,
            "rows_existing": self.rows_existing,
            "uploaded": self.uploaded,
            "skipped_duplicates": self.skipped_duplicates,
            "failed": self.upload.failed if self.upload else 0,
            "labelstudio_project_id": self.upload.project_id if self.upload else None,
            "tokens": self.usage.total_tokens if self.usage else 0,
        }

    @property
    def message(self) -> str:
        lines = [
            f"Generated {len(self.outputs)} conversations for {len(self.selection.valid)} situation(s) with "
            f"{self.generator_label}: {len(self.valid)} valid, {len(self.invalid)} invalid (not uploaded)."
        ]
        if self.selection.invalid:
            ids = ",".join(map(str, self.selection.invalid))
            lines.append(f"Skipped invalidated situations: {ids}.")
        if self.upload:
            project = self.upload
            title = f" {project.title!r}" if project.title else ""
            lines.append(
                f"Uploaded {project.uploaded} conversations for tagging to labelstudio_project_id="
                f"{project.project_id}{title}{' (created)' if project.created else ''}: "
                f"{project.skipped_duplicates} skipped as already there, {project.failed} failed."
            )
            lines += [f"- upload {failure}" for failure in project.failures[:MAX_LISTED]]
        lines.append(
            f"generated_conversations: {self.rows_added} rows added, {self.rows_existing} already recorded."
        )
        if self.usage:
            lines.append(f"LLM tokens: {self.usage.total_tokens}.")
        if self.invalid:
            lines.append("Invalid outputs:")
            lines += [
                f"- situation {o.situation_id} #{o.number}: {'; '.join(o.problems)[:300]}"
                for o in self.invalid[:MAX_LISTED]
            ]
            if len(self.invalid) > MAX_LISTED:
                lines.append(f"- ... and {len(self.invalid) - MAX_LISTED} more (invalid.jsonl)")
        lines += self.notes
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------- situations


def _situations(request: GenerationRequest, database_url: str) -> SituationSelection:
    selection = select_situations(request.situation_ids, request.scenario_category, database_url=database_url)
    if selection.missing:
        raise InvalidParameterError(
            "situation_id_list",
            f"situation_id_list: no situation with id {', '.join(map(str, selection.missing))} in "
            "situation_scenario_mapper (add_llm_situations registers situations and returns their ids)",
        )
    if not selection.valid:
        if request.situation_ids and selection.invalid:
            ids = ", ".join(map(str, selection.invalid))
            raise InvalidParameterError(
                "situation_id_list",
                f"situation_id_list: every situation given is invalidated ({ids}); nothing to generate",
            )
        raise InvalidParameterError(
            "scenario_category",
            f"scenario_category: no valid situation of category {request.scenario_category!r}",
        )
    return selection


# --------------------------------------------------------------------------------------------- Label Studio


def _project(client: LabelStudioClient, request: GenerationRequest) -> ProjectUpload:
    """The project to upload to: the id given (checked now), else the title found or created."""
    level = "conversation"
    if request.labelstudio_project_id is not None:
        found = client.get_project(request.labelstudio_project_id)
        return ProjectUpload(request.labelstudio_project_id, level, title=found.get("title", ""))
    found = client.find_project(request.project_title)
    if found is not None:
        return ProjectUpload(int(found["id"]), level, title=request.project_title)
    created = client.create_project(
        request.project_title,
        conversation_label_config(),
        description="conversation tagging, created by skit-pipelines generate_and_tag_conversations",
    )
    log.info("created Label Studio project %s %r", created["id"], request.project_title)
    return ProjectUpload(int(created["id"]), level, title=request.project_title, created=True)


def _task(output: Generated, situation: StoredSituationText, data_label: str) -> dict[str, Any]:
    return {
        "data": {
            TASK_KEY: output.key,
            "situation_id": situation.situation_id,
            "scenario": situation.scenario,
            "scenario_category": situation.scenario_category,
            "situation_str": situation.situation_str,
            "call": output.call,
            "data_label": data_label,
            "generator": f"{output.generator}: {output.model}",
        }
    }


# ----------------------------------------------------------------------------------------------- generate


def _prompt(path: str) -> PromptTemplate:
    """The packaged prompt, or the user's file (any artifact location, read through the store)."""
    if not path:
        return load_prompt(PROMPT_NAME)
    with tempfile.TemporaryDirectory(prefix="prompt-") as work:
        try:
            local = storage.download_file(path, Path(work) / (Path(path).name or "prompt.yaml"))
        except FileNotFoundError as exc:
            raise InvalidParameterError("prompt_file_path", f"prompt_file_path: {exc}") from None
        try:
            return load_prompt(PROMPT_NAME, local)
        except PromptTemplateError as exc:
            raise InvalidParameterError("prompt_file_path", f"prompt_file_path: {exc}") from None


def _store_prompt(prompt: PromptTemplate, request: GenerationRequest, database_url: str) -> int:
    """The prompt as an artifact at a key of its version (written again, identically, on re-runs) and its
    ``prompt_details`` row (one per name and version)."""
    text = yaml.safe_dump(
        {"name": prompt.name, "version": prompt.version, "system": prompt.system, "user": prompt.user},
        allow_unicode=True,
        sort_keys=False,
    )
    key = f"llm_artifacts/prompts/{prompt.name}/{storage.sanitize(prompt.version)}.yaml"
    link = storage.upload_bytes(
        text.encode("utf-8"), reference=prompt.name, file_type="prompt", output_path=key
    )
    prompt_id, _ = record_prompt(
        prompt.name,
        prompt.version,
        link,
        client_id=request.client_id,
        template_id=request.template_id,
        database_url=database_url,
    )
    return prompt_id


def _llm_outputs(
    client: ChatClient,
    prompt: PromptTemplate,
    situations: Sequence[StoredSituationText],
    per_situation: int,
    limits: ConversationLimits,
) -> tuple[list[Generated], BatchUsage]:
    jobs = [(s, n) for s in situations for n in range(1, per_situation + 1)]
    try:
        batch = [
            prompt.render(
                situation=s.situation,
                scenario=s.scenario,
                scenario_category=s.scenario_category,
                conversation_number=n,
                conversations_total=per_situation,
                min_turns=limits.min_turns,
                max_turns=limits.max_turns,
            )
            for s, n in jobs
        ]
    except PromptTemplateError as exc:
        raise InvalidParameterError("prompt_file_path", f"prompt_file_path: {exc}") from None
    results: list[ChatResult] = client.complete_json_batch(batch)
    usage = BatchUsage.of(results)
    if results and all(r.error and not r.error.startswith("parse:") for r in results):
        raise LLMGenerationError(
            f"every LLM request failed ({len(results)} of them); the first: {results[0].error}"
        )
    outputs = [
        read_output(
            result.parsed,
            situation_id=s.situation_id,
            number=n,
            generator="llm",
            model=result.model or client.endpoint.model,
            limits=limits,
            raw=result.content,
            error=result.error,
            tokens=result.total_tokens,
        )
        for (s, n), result in zip(jobs, results, strict=True)
    ]
    return outputs, usage


def _template_outputs(
    situations: Sequence[StoredSituationText], per_situation: int, limits: ConversationLimits
) -> list[Generated]:
    outputs = []
    for s in situations:
        text = template_generator.SituationText(s.situation, s.scenario, s.scenario_category)
        for n in range(1, per_situation + 1):
            turns = template_generator.generate_turns(text, n)
            outputs.append(
                Generated(
                    situation_id=s.situation_id,
                    number=n,
                    generator=template_generator.GENERATOR,
                    model=template_generator.MODEL,
                    turns=turns,
                    problems=tuple(check_turns(turns, limits)),
                )
            )
    return outputs


# ---------------------------------------------------------------------------------------------- artifacts


def _folder_key(request: GenerationRequest, now: dt.datetime) -> str:
    return f"{request.artifact_folder}/{now:%Y-%m-%dT%H-%M-%SZ}-{secrets.token_hex(3)}"


def _put(key: str, data: bytes) -> str:
    name = Path(key).name
    return storage.upload_bytes(data, reference=name, file_type="conversation", output_path=key)


def _store_artifacts(
    result: GenerationResult, by_id: dict[int, StoredSituationText], folder: str
) -> dict[str, str]:
    """Write the run's artifacts; the URI of each valid conversation's JSON, by conversation id."""
    links: dict[str, str] = {}
    rows = []
    for output in result.valid:
        situation = by_id[output.situation_id]
        if output.key in links:
            continue  # the same conversation twice in one run: stored and uploaded once
        record = {
            TASK_KEY: output.key,
            "situation_id": output.situation_id,
            "situation": situation.situation,
            "scenario": situation.scenario,
            "scenario_category": situation.scenario_category,
            "number": output.number,
            "generator": output.generator,
            "model": output.model,
            "prompt_name": PROMPT_NAME if result.prompt_version else "",
            "prompt_version": result.prompt_version,
            "turns": [{"speaker": t.speaker, "text": t.text} for t in output.turns],
        }
        key = f"{folder}/{output.situation_id}_{output.key[:12]}.json"
        links[output.key] = _put(key, json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"))
        rows.append(_task(output, situation, result.request.data_label)["data"])
    out = io.StringIO()
    columns = [*LABELSTUDIO_COLUMNS, TASK_KEY, "situation_id", "generator"]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    _put(f"{folder}/conversations.csv", out.getvalue().encode("utf-8"))
    if result.invalid:
        invalid = "".join(
            json.dumps(
                {
                    "situation_id": o.situation_id,
                    "number": o.number,
                    "generator": o.generator,
                    "model": o.model,
                    "problems": list(o.problems),
                    "raw": o.raw,
                },
                ensure_ascii=False,
            )
            + "\n"
            for o in result.invalid
        )
        _put(f"{folder}/invalid.jsonl", invalid.encode("utf-8"))
    return links


# -------------------------------------------------------------------------------------------------- the job


def generate_and_tag(
    request: GenerationRequest,
    *,
    llm: LLMEndpoint,
    labelstudio_url: str,
    labelstudio_token: str,
    database_url: str = "",
    limits: ConversationLimits | None = None,
    now: dt.datetime | None = None,
) -> GenerationResult:
    """Generate, validate, store, record and upload the conversations ``request`` asks for."""
    limits = limits or ConversationLimits()
    selection = _situations(request, database_url)
    by_id = {s.situation_id: s for s in selection.valid}
    endpoint = dataclasses.replace(llm, model=request.model) if request.model else llm
    prompt = _prompt(request.prompt_file_path) if endpoint.configured else None  # a bad file: nothing done
    with LabelStudioClient(labelstudio_url, labelstudio_token) as labelstudio:
        project = _project(labelstudio, request)
        if prompt is not None:
            with ChatClient(endpoint) as client:
                outputs, usage = _llm_outputs(client, prompt, selection.valid, request.per_situation, limits)
            result = GenerationResult(
                request, selection, "llm", endpoint.model, outputs, prompt_version=prompt.version, usage=usage
            )
            result.prompt_id = _store_prompt(prompt, request, database_url)
        else:
            outputs = _template_outputs(selection.valid, request.per_situation, limits)
            result = GenerationResult(
                request, selection, template_generator.GENERATOR, template_generator.MODEL, outputs
            )
            if request.prompt_file_path or request.model:
                result.notes.append(
                    "No LLM is configured (SKIT_LLM_MODEL and SKIT_LLM_BASE_URL or SKIT_LLM_API_KEY), so "
                    "prompt_file_path and model were not used."
                )
        folder = _folder_key(request, now or dt.datetime.now(dt.timezone.utc))
        links = _store_artifacts(result, by_id, folder)
        result.folder_uri = storage.artifact_uri(folder)
        unique = {o.key: o for o in result.valid}
        result.rows_added, result.rows_existing = record_conversations(
            [
                ConversationRow(
                    conversation_key=key,
                    situation_id=o.situation_id,
                    link=links[key],
                    generator=o.generator,
                    model=o.model,
                    prompt_id=result.prompt_id,
                    client_id=request.client_id,
                    template_id=request.template_id,
                    project_name=request.project_name,
                )
                for key, o in unique.items()
            ],
            database_url=database_url,
        )
        keyed = [(key, _task(o, by_id[o.situation_id], request.data_label)) for key, o in unique.items()]
        result.upload = upload_tasks(labelstudio, project, keyed, key=TASK_KEY)
    _put(f"{folder}/summary.json", json.dumps(result.summary(), indent=1).encode("utf-8"))
    if result.upload.failed and not result.upload.uploaded:
        raise UploadFailedError(f"nothing was uploaded: every batch failed.\n{result.message}")
    return result
