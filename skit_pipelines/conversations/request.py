"""What ``generate_and_tag_conversations`` was asked, checked once: :class:`GenerationRequest`.

Why here and not in the job: the CLI, the API and the Slack bot check the same parameters before a run
starts (``pipeline_checks``), and the step checks them again; one pure function does both, and every problem
names its parameter.

Which situations: the ids of ``situation_id_list``, or every valid situation of ``scenario_category``
(normalised as the registry stores it: upper-case, single spaces), or both (their union). How many
conversations per situation: ``n_iter × n_choice``, the reference's two parameters (its generator made
``n_choice`` conversations per request, ``n_iter`` times); here every conversation is its own request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from skit_pipelines.annotation.tasks import validate_data_label
from skit_pipelines.parameters import InvalidParameterError, parse_project_ids
from skit_pipelines.situations import MAX_CATEGORY_CHARS, parse_situation_ids

__all__ = [
    "MAX_CONVERSATIONS_PER_SITUATION",
    "GenerationRequest",
    "check_selection",
    "generation_request_from",
]

MAX_CONVERSATIONS_PER_SITUATION = 100
"""n_iter × n_choice at most: a typo (n_iter=1000) should not buy a thousand LLM calls per situation."""

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class GenerationRequest:
    situation_ids: tuple[int, ...] = ()
    scenario_category: str = ""
    per_situation: int = 2
    model: str = ""
    prompt_file_path: str = ""
    client_id: str = ""
    template_id: str = ""
    project_name: str = ""
    labelstudio_project_id: int | None = None
    project_title: str = ""
    data_label: str = "Live"

    @property
    def artifact_folder(self) -> str:
        """The reference's folder: ``llm_artifacts/generated_conversations/{client_id}_{template_id}``."""
        client = _segment(self.client_id) or "any"
        template = _segment(self.template_id) or "any"
        return f"llm_artifacts/generated_conversations/{client}_{template}"


def _segment(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text.strip()).strip("._")


def _category(value: str) -> str:
    category = _SPACES.sub(" ", value or "").strip().upper()
    if len(category) > MAX_CATEGORY_CHARS:
        raise InvalidParameterError(
            "scenario_category", f"scenario_category: longer than {MAX_CATEGORY_CHARS} characters"
        )
    return category


def check_selection(situation_id_list: str, scenario_category: str) -> tuple[tuple[int, ...], str]:
    """(ids, category): at least one of them; ids are positive integers (every bad item named)."""
    ids = parse_situation_ids(situation_id_list) if (situation_id_list or "").strip() else ()
    category = _category(scenario_category)
    if not ids and not category:
        raise InvalidParameterError(
            "situation_id_list",
            "situation_id_list: required, or scenario_category (which situations to generate "
            "conversations for; add_llm_situations returns ids)",
        )
    return ids, category


def _count(n_iter: int, n_choice: int) -> int:
    for name, value in (("n_iter", n_iter), ("n_choice", n_choice)):
        if int(value) < 1:
            raise InvalidParameterError(name, f"{name}: must be at least 1, got {value}")
    total = int(n_iter) * int(n_choice)
    if total > MAX_CONVERSATIONS_PER_SITUATION:
        raise InvalidParameterError(
            "n_iter",
            f"n_iter: n_iter × n_choice = {total} conversations per situation; at most "
            f"{MAX_CONVERSATIONS_PER_SITUATION}",
        )
    return total


def check_target(labelstudio_project_id: str, project_title: str) -> tuple[int | None, str]:
    """The one Label Studio project to upload to: an id, or a title to find or create."""
    ids = parse_project_ids(labelstudio_project_id or "")
    title = (project_title or "").strip()
    if len(ids) > 1:
        raise InvalidParameterError(
            "labelstudio_project_id", f"labelstudio_project_id: one project id, got {len(ids)}"
        )
    if ids and title:
        raise InvalidParameterError(
            "project_title", "project_title: give labelstudio_project_id or project_title, not both"
        )
    if not ids and not title:
        raise InvalidParameterError(
            "labelstudio_project_id",
            "labelstudio_project_id: required, or project_title (a project to find by title or create "
            "for conversation tagging)",
        )
    return (ids[0] if ids else None), title


def generation_request_from(
    *,
    situation_id_list: str = "",
    scenario_category: str = "",
    n_iter: int = 1,
    n_choice: int = 2,
    model: str = "",
    prompt_file_path: str = "",
    client_id: str = "",
    template_id: str = "",
    project_name: str = "",
    labelstudio_project_id: str = "",
    project_title: str = "",
    data_label: str = "",
) -> GenerationRequest:
    """The checked request; an :class:`InvalidParameterError` naming the first bad parameter."""
    ids, category = check_selection(situation_id_list, scenario_category)
    project_id, title = check_target(labelstudio_project_id, project_title)
    return GenerationRequest(
        situation_ids=ids,
        scenario_category=category,
        per_situation=_count(n_iter, n_choice),
        model=(model or "").strip(),
        prompt_file_path=(prompt_file_path or "").strip(),
        client_id=(client_id or "").strip(),
        template_id=(template_id or "").strip(),
        project_name=(project_name or "").strip(),
        labelstudio_project_id=project_id,
        project_title=title,
        data_label=validate_data_label(data_label),
    )
