"""Annotate a Label Studio project with the demo warehouse's own truth (``skit-pipelines demo-annotate``).

Why: the evaluation and training pipelines start from annotations. On the demo data there are no
annotators, but the demo generator keeps the truth of every turn in its ``context`` (``demo_true_intent``,
``demo_true_entities``), and ``tag_calls`` uploads every CSV column under ``raw``. Annotating with that truth
lets a new user run the whole loop (sample → upload → annotate → download → evaluate / train) on the demo
data, and lets the docs' quickstarts run as written. It plays an annotator through the same API a person's
annotations arrive by; it is never meant for real projects: tasks without demo truth are left alone and
counted, and a project with none at all is an error.

Each task gets one annotation: the true intent as the ``tag`` choice (added to the project's choices when
missing) and each true entity whose words occur in the task text as a span. Tasks that already have an
annotation are skipped, so running it twice annotates nothing new.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from skit_pipelines.annotation import label_config as configs
from skit_pipelines.annotation.client import LabelStudioClient
from skit_pipelines.annotation.errors import LabelStudioNotFoundError
from skit_pipelines.annotation.tasks import predicted_entity_spans
from skit_pipelines.annotation.upload import ensure_intents
from skit_pipelines.errors import SkitPipelinesError

log = logging.getLogger(__name__)

TRUE_INTENT_KEY = "demo_true_intent"
TRUE_ENTITIES_KEY = "demo_true_entities"


class NotDemoProjectError(SkitPipelinesError, ValueError):
    """The project holds no task with demo truth: it was not uploaded from the demo warehouse."""


@dataclass
class DemoAnnotation:
    """What was annotated in one project."""

    project_id: int
    title: str
    annotated: int = 0
    already_annotated: int = 0
    without_truth: int = 0
    entity_spans: int = 0
    intents_added: tuple[str, ...] = ()

    def line(self) -> str:
        text = (
            f"project {self.project_id} {self.title!r}: {self.annotated} tasks annotated with the demo truth "
            f"({self.entity_spans} entity spans), {self.already_annotated} already annotated, "
            f"{self.without_truth} without demo truth"
        )
        if self.intents_added:
            text += f"; added intents to the label config: {', '.join(self.intents_added)}"
        return text


def demo_truth(task: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
    """(true intent, true entities) of a task uploaded from the demo warehouse, or None."""
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    raw = data.get("raw") if isinstance(data.get("raw"), dict) else {}
    try:
        context = json.loads(raw.get("context") or "{}")
    except ValueError:
        return None
    intent = context.get(TRUE_INTENT_KEY) if isinstance(context, dict) else None
    if not isinstance(intent, str) or not intent:
        return None
    entities = context.get(TRUE_ENTITIES_KEY) or []
    return intent, [e for e in entities if isinstance(e, dict)] if isinstance(entities, list) else []


def resolve_project(client: LabelStudioClient, project_id: int | None, title: str) -> tuple[int, str]:
    """The project by id, or the one titled ``title``; a missing one raises LabelStudioNotFoundError."""
    if project_id is not None:
        return project_id, str(client.get_project(project_id).get("title", ""))
    found = client.find_project(title)
    if found is None:
        raise LabelStudioNotFoundError(
            f"Label Studio at {client.url}: no project titled {title!r} (create it with tag_calls or "
            "fetch_n_tag_calls and project_title)",
            url=client.url,
            status=404,
        )
    return int(found["id"]), title


def annotate_with_demo_truth(
    client: LabelStudioClient, *, project_id: int | None = None, title: str = ""
) -> DemoAnnotation:
    """Annotate every unannotated task of the project (by id, else by title) with its demo truth."""
    if project_id is None and not title.strip():
        raise ValueError("give a project id or a project title")
    pid, name = resolve_project(client, project_id, title.strip())
    result = DemoAnnotation(project_id=pid, title=name)
    todo: list[tuple[dict[str, Any], str, list[dict[str, Any]]]] = []
    for task in client.iter_tasks(pid, include="id,data,total_annotations"):
        truth = demo_truth(task)
        if truth is None:
            result.without_truth += 1
        elif task.get("total_annotations"):
            result.already_annotated += 1
        else:
            todo.append((task, *truth))
    if not todo and not result.already_annotated:
        raise NotDemoProjectError(
            f"project {pid} {name!r} has no task from the demo warehouse ({result.without_truth} tasks "
            f"without {TRUE_INTENT_KEY} in raw.context): demo-annotate only annotates demo data"
        )
    _offered, added = ensure_intents(client, pid, [intent for _, intent, _ in todo])
    result.intents_added = tuple(added)
    labels = set(configs.choices_of(client.get_project(pid).get("label_config", ""), configs.ENTITY_NAME))
    for task, intent, entities in todo:
        known = [e for e in entities if e.get("type") in labels]
        spans = predicted_entity_spans(str(task["data"].get("text", "")), json.dumps(known))
        choice = {
            "from_name": configs.INTENT_NAME,
            "to_name": configs.TEXT_NAME,
            "type": "choices",
            "value": {"choices": [intent]},
        }
        client.create_annotation(int(task["id"]), [choice, *spans])
        result.annotated += 1
        result.entity_spans += len(spans)
    log.info(result.line())
    return result
