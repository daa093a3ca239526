"""The outputs of a run on a Kubeflow cluster: published by each step, read back by the runner.

Why through the artifact store: the KFP API (v2beta1 ``run_details.task_details``) reports a task's state,
error and *artifact* ids, never its parameter outputs (those live in the cluster's ML Metadata store,
which is not reachable from outside the cluster). Our steps' outputs are parameters (an artifact URI, a
count, a ``message``), and the API, webhooks (``file_path``/``s3_path``) and Slack need them. So a step on a
cluster, after kfp's executor wrote its outputs, stores them as JSON at
``<artifact root>/kfp-runs/<run id>/steps/<task>.json`` (:mod:`skit_pipelines.runner.kfp_cluster_step`);
the runner reads the file of each task that succeeded and resolves the pipeline's outputs from the
pipeline spec exactly as kfp does (through conditions and ``dsl.OneOf``), so a cluster run reports the same
``outputs`` and ``step_outputs`` as a local one. The artifact root must be shared by the pods and the
submitter (S3 in production); with a pod-local root nothing is found and the outputs stay empty.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any

from skit_pipelines import storage
from skit_pipelines.errors import SkitPipelinesError

logger = logging.getLogger(__name__)

OUTPUTS_PREFIX = "kfp-runs"
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def step_outputs_key(run_id: str, task: str) -> str:
    """The artifact key a task's outputs are published under (ValueError for names that are not plain)."""
    for what, value in (("run id", run_id), ("task name", task)):
        if not _SAFE.match(value or ""):
            raise ValueError(f"{what} {value!r} cannot name an artifact (letters, digits, . _ - only)")
    return f"{OUTPUTS_PREFIX}/{run_id}/steps/{task}.json"


def publish_step_outputs(run_id: str, task: str, outputs: dict[str, Any], root: str | None = None) -> str:
    """Store a task's parameter outputs (atomically); returns the artifact URI."""
    data = json.dumps({"task": task, "outputs": outputs}, sort_keys=True, default=str).encode("utf-8")
    key = step_outputs_key(run_id, task)
    return storage.upload_bytes(data, reference=task, file_type="outputs", output_path=key, root=root)


def read_step_outputs(
    run_id: str, tasks: Iterable[str], root: str | None = None
) -> dict[str, dict[str, Any]]:
    """The published outputs of ``tasks`` (those without a readable file are left out, with a log line)."""
    found: dict[str, dict[str, Any]] = {}
    for task in tasks:
        try:
            uri = storage.artifact_uri(step_outputs_key(run_id, task), root)
            document = json.loads(storage.read_text(uri))
        except storage.ArtifactNotFoundError:
            logger.info("run %s: step %s published no outputs", run_id, task)
            continue
        except (ValueError, OSError, SkitPipelinesError) as exc:
            logger.warning("run %s: cannot read the outputs of step %s: %s", run_id, task, exc)
            continue
        outputs = document.get("outputs") if isinstance(document, dict) else None
        if isinstance(outputs, dict):
            found[task] = outputs
    return found


def pipeline_outputs(spec: dict[str, Any], step_outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The pipeline's declared outputs, resolved from the steps' outputs as kfp resolves them.

    ``root.dag.outputs`` names a producer task and its output key; a producer that is a DAG (a condition,
    the branches of ``dsl.OneOf``) names its own producer in turn; ``valueFromOneof`` takes the first
    selector whose producer ran. An output whose producer did not run or published nothing is left out.
    """
    components = spec.get("components", {})

    def resolve(dag: dict[str, Any], key: str, depth: int) -> tuple[bool, Any]:
        selector = (dag.get("outputs", {}).get("parameters", {}) or {}).get(key)
        if not isinstance(selector, dict) or depth > 50:
            return False, None
        if "valueFromParameter" in selector:
            choices = [selector["valueFromParameter"]]
        else:
            choices = list(selector.get("valueFromOneof", {}).get("parameterSelectors", []))
        for choice in choices:
            found, value = produce(
                dag, choice.get("producerSubtask", ""), choice.get("outputParameterKey", ""), depth
            )
            if found:
                return True, value
        return False, None

    def produce(dag: dict[str, Any], task_name: str, key: str, depth: int) -> tuple[bool, Any]:
        task = dag.get("tasks", {}).get(task_name, {})
        component = components.get(task.get("componentRef", {}).get("name", ""), {})
        if "dag" in component:
            return resolve(component["dag"], key, depth + 1)
        outputs = step_outputs.get(task_name, {})
        return (key in outputs), outputs.get(key)

    root = spec.get("root", {})
    declared = root.get("outputDefinitions", {}).get("parameters", {}) or {}
    resolved: dict[str, Any] = {}
    for name in declared:
        found, value = resolve(root.get("dag", {}), name, 0)
        if found:
            resolved[name] = value
    return resolved
