"""How the steps of a pipeline run as pods on a Kubeflow cluster: environment, resources, GPU nodes.

Why here, at compile time, and through ``kfp-kubernetes``: the compiled YAML is what a cluster runs, so the
same function must shape what ``skit-pipelines compile`` writes and what the Kubeflow runner submits
(:func:`configure_pipeline`, called by :func:`skit_pipelines.compiler.compile_to_file`). kfp-kubernetes is
the Kubeflow project's own library for the platform part of a pipeline spec (secret and config-map
environment, node selectors, tolerations, image pull secrets): it writes what the KFP driver reads, so we
write no pod spec by hand. Pipelines are built when their module is imported, long before any setting is
read, so the registered pipeline is rebuilt here with every task configured; without cluster settings the
pipeline is returned unchanged and the YAML stays byte for byte what a laptop compiles.

What a configured step gets:
- every key of the named secret(s) / config map(s) as an environment variable of the same name (the keys
  are the ``SKIT_*`` setting names and the AWS credential names); only the *names* are in the YAML, the
  values stay in Kubernetes;
- CPU and memory requests (defaults per step below, ``SKIT_KFP_RESOURCES`` overrides);
- on a GPU step (``use_gpu``, see ``pipelines/placement.py``): the optional node selector and toleration;
- ``SKIT_KFP_RUN_ID`` (the pod's ``pipeline/runid`` label) and ``SKIT_KFP_TASK`` (its task name), and a
  command that runs kfp's own one through :mod:`skit_pipelines.runner.kfp_cluster_step`, which publishes the
  step's outputs to the artifact store: the KFP API reports no parameter outputs, so this is how a cluster
  run reports the same outputs as a local one (``runner/kfp_outputs.py``).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kfp import kubernetes
from kfp.dsl import graph_component, pipeline_context, pipeline_task

from skit_pipelines.errors import SkitPipelinesError

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

    from skit_pipelines.config import Settings

RUN_ID_VARIABLE = "SKIT_KFP_RUN_ID"
TASK_VARIABLE = "SKIT_KFP_TASK"
RUN_ID_FIELD_PATH = "metadata.labels['pipeline/runid']"
STEP_WRAPPER = ("python3", "-m", "skit_pipelines.runner.kfp_cluster_step")
AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION")
# Settings a step never needs: how to reach the cluster and which image to run are the submitter's business.
_NOT_FOR_STEPS = re.compile(r"^SKIT_(KFP_|IMAGE$)")
_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class PodConfigError(SkitPipelinesError, ValueError):
    """A cluster setting cannot be understood; the message names the setting."""


@dataclass(frozen=True)
class Resources:
    """CPU and memory requests of a step (Kubernetes quantities: ``500m``, ``2``, ``8Gi``)."""

    cpu: str
    memory: str


DEFAULT_RESOURCES = Resources(cpu="500m", memory="1Gi")
# Per component (kfp's name of the component, as in the YAML's ``comp-<name>``): the heavy steps.
STEP_RESOURCES: Mapping[str, Resources] = {
    "train-intent-model": Resources(cpu="2", memory="8Gi"),
    "retrain-slu-from-repo": Resources(cpu="2", memory="8Gi"),
    "predict-intents": Resources(cpu="1", memory="4Gi"),
    "evaluate-slu-from-repo": Resources(cpu="1", memory="4Gi"),
    "validate-and-add-situations-to-db": Resources(cpu="1", memory="2Gi"),
}


@dataclass(frozen=True)
class EnvSource:
    """A secret or config map whose ``keys`` become environment variables of the same names."""

    name: str
    keys: tuple[str, ...]
    optional: bool  # True for the default key list: a key the object lacks is simply not set


@dataclass(frozen=True)
class Toleration:
    key: str
    operator: str  # "Equal" or "Exists"
    value: str
    effect: str


@dataclass(frozen=True)
class PodConfig:
    """The cluster settings that shape every step's pod; ``enabled`` False leaves pipelines untouched."""

    enabled: bool = False
    secrets: tuple[EnvSource, ...] = ()
    config_maps: tuple[EnvSource, ...] = ()
    gpu_node_selector: tuple[str, str] | None = None
    gpu_toleration: Toleration | None = None
    image_pull_secrets: tuple[str, ...] = ()
    default_resources: Resources = DEFAULT_RESOURCES
    resources: Mapping[str, Resources] = field(default_factory=dict)
    publish_outputs: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> PodConfig:
        """Read the ``SKIT_KFP_*`` pod settings. Cluster mode (``enabled``) is on when a Kubeflow host, a
        secret, a config map, a GPU placement, an image pull secret or per-step resources are set."""
        step_variables = default_step_variables(settings)
        secrets = _sources("SKIT_KFP_SECRET", settings.kfp_secret, settings.kfp_secret_keys, step_variables)
        config_maps = _sources(
            "SKIT_KFP_CONFIG_MAP", settings.kfp_config_map, settings.kfp_config_map_keys, step_variables
        )
        selector = _node_selector(settings.kfp_gpu_node_selector)
        toleration = _toleration(settings.kfp_gpu_toleration)
        pull_secrets = tuple(_names(settings.kfp_image_pull_secret))
        overrides = _resource_overrides(settings.kfp_resources)
        default = Resources(
            cpu=_cpu("SKIT_KFP_CPU_REQUEST", settings.kfp_cpu_request),
            memory=_memory("SKIT_KFP_MEMORY_REQUEST", settings.kfp_memory_request),
        )
        enabled = bool(
            settings.kfp_host or secrets or config_maps or selector or toleration or pull_secrets or overrides
        )
        return cls(
            enabled=enabled,
            secrets=secrets,
            config_maps=config_maps,
            gpu_node_selector=selector,
            gpu_toleration=toleration,
            image_pull_secrets=pull_secrets,
            default_resources=default,
            resources=overrides,
        )

    def resources_for(self, component: str) -> Resources:
        """A step's requests: the setting's override, else the step's default, else the general default."""
        return self.resources.get(component) or STEP_RESOURCES.get(component) or self.default_resources


def default_step_variables(settings: BaseSettings) -> tuple[str, ...]:
    """The environment names a step may read: every ``SKIT_*`` setting but the cluster's own, and AWS's."""
    names = [f"SKIT_{name.upper()}" for name in type(settings).model_fields]
    return tuple(name for name in names if not _NOT_FOR_STEPS.match(name)) + AWS_VARIABLES


def configure_pipeline(pipeline: Any, config: PodConfig) -> Any:
    """``pipeline`` rebuilt with every container step configured by ``config`` (unchanged if disabled).

    kfp collects a pipeline's platform config from its tasks while it builds the pipeline, so the pipeline
    function runs again inside kfp's own builder, and each task is configured after the function added it.
    """
    if not config.enabled or not isinstance(pipeline, graph_component.GraphComponent):
        return pipeline
    original = pipeline.pipeline_func

    @functools.wraps(original)
    def configured(*args: Any, **kwargs: Any) -> Any:
        outputs = original(*args, **kwargs)
        for task in pipeline_context.Pipeline.get_default_pipeline().tasks.values():
            configure_task(task, config)
        return outputs

    display_name = pipeline.pipeline_spec.pipeline_info.display_name or None
    return graph_component.GraphComponent(
        component_spec=copy.deepcopy(pipeline.component_spec),
        pipeline_func=configured,
        display_name=display_name,
        pipeline_config=pipeline.pipeline_config,
    )


def configure_task(task: pipeline_task.PipelineTask, config: PodConfig) -> None:
    """Environment, requests, GPU placement and the output-publishing command of one container step."""
    if task.container_spec is None:  # a nested pipeline: its own tasks are configured one by one
        return
    component = task.component_spec.name
    wanted = config.resources_for(component)
    task.set_cpu_request(wanted.cpu).set_memory_request(wanted.memory)
    resources = task.container_spec.resources
    if resources is not None and resources.accelerator_type:
        if config.gpu_node_selector is not None:
            kubernetes.add_node_selector(task, *config.gpu_node_selector)
        if config.gpu_toleration is not None:
            toleration = config.gpu_toleration
            kubernetes.add_toleration(
                task,
                key=toleration.key or None,
                operator=toleration.operator,  # type: ignore[arg-type]
                value=toleration.value or None,
                effect=toleration.effect or None,  # type: ignore[arg-type]
            )
    for secret in config.secrets:
        kubernetes.use_secret_as_env(
            task, secret.name, {key: key for key in secret.keys}, optional=secret.optional
        )
    for config_map in config.config_maps:
        kubernetes.use_config_map_as_env(
            task, config_map.name, {key: key for key in config_map.keys}, optional=config_map.optional
        )
    if config.image_pull_secrets:
        kubernetes.set_image_pull_secrets(task, list(config.image_pull_secrets))
    if config.publish_outputs:
        kubernetes.use_field_path_as_env(task, RUN_ID_VARIABLE, RUN_ID_FIELD_PATH)
        task.set_env_variable(TASK_VARIABLE, task.name)
        command = list(task.container_spec.command or [])
        if command[: len(STEP_WRAPPER)] != list(STEP_WRAPPER):
            task.container_spec.command = [*STEP_WRAPPER, *command]


# -- parsing the settings ---------------------------------------------------------------------------------
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")  # a Kubernetes object name (RFC 1123 subdomain)
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")  # a secret / config map key
_LABEL = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_CPU = re.compile(r"^([0-9]*[.])?[0-9]+m?$")
_MEMORY = re.compile(r"^[0-9]+(E|Ei|P|Pi|T|Ti|G|Gi|M|Mi|K|Ki)?$")


def _names(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _sources(setting: str, names: str, keys: str, defaults: tuple[str, ...]) -> tuple[EnvSource, ...]:
    found = _names(names)
    for name in found:
        if not _NAME.match(name):
            raise PodConfigError(
                f"{setting}: {name!r} is not a Kubernetes object name (lower-case, digits, -)"
            )
    wanted = _names(keys)
    for key in wanted:
        if not _KEY.match(key):
            raise PodConfigError(f"{setting}_KEYS: {key!r} is not a valid key (letters, digits, - _ .)")
    chosen = tuple(wanted) if wanted else defaults
    return tuple(EnvSource(name=name, keys=chosen, optional=not wanted) for name in found)


def _node_selector(value: str) -> tuple[str, str] | None:
    value = (value or "").strip()
    if not value:
        return None
    key, sep, label = value.partition("=")
    key, label = key.strip(), label.strip()
    if not sep or not _LABEL.match(key) or not _LABEL_VALUE.match(label):
        raise PodConfigError(
            "SKIT_KFP_GPU_NODE_SELECTOR: expected label=value (e.g. nvidia.com/gpu.present=true), "
            f"got {value!r}"
        )
    return key, label


def _toleration(value: str) -> Toleration | None:
    """``key=value:Effect``, ``key:Effect`` (any value) or ``key`` (any value and effect), as kubectl."""
    value = (value or "").strip()
    if not value:
        return None
    rest, _, effect = value.rpartition(":") if ":" in value else (value, "", "")
    key, sep, taint_value = rest.partition("=")
    key, taint_value, effect = key.strip(), taint_value.strip(), effect.strip()
    problem = ""
    if not key or not _LABEL.match(key):
        problem = f"{key!r} is not a taint key"
    elif effect and effect not in _EFFECTS:
        problem = f"effect {effect!r} is not one of {', '.join(_EFFECTS)}"
    elif taint_value and not _LABEL_VALUE.match(taint_value):
        problem = f"{taint_value!r} is not a taint value"
    if problem:
        raise PodConfigError(
            f"SKIT_KFP_GPU_TOLERATION: expected key=value:Effect, key:Effect or key "
            f"(e.g. nvidia.com/gpu:NoSchedule); {problem}"
        )
    return Toleration(key=key, operator="Equal" if sep else "Exists", value=taint_value, effect=effect)


def _cpu(setting: str, value: str) -> str:
    value = str(value).strip()
    if not _CPU.match(value):
        raise PodConfigError(f"{setting}: {value!r} is not a CPU quantity (e.g. 500m, 2)")
    return value


def _memory(setting: str, value: str) -> str:
    value = str(value).strip()
    if not _MEMORY.match(value):
        raise PodConfigError(f"{setting}: {value!r} is not a memory quantity (e.g. 512Mi, 8Gi)")
    return value


def _resource_overrides(value: Mapping[str, Any] | None) -> dict[str, Resources]:
    overrides: dict[str, Resources] = {}
    for component, wanted in (value or {}).items():
        if not isinstance(wanted, Mapping) or not set(wanted) <= {"cpu", "memory"}:
            raise PodConfigError(
                f'SKIT_KFP_RESOURCES: {component!r} needs {{"cpu": ..., "memory": ...}}, got {wanted!r}'
            )
        base = STEP_RESOURCES.get(component, DEFAULT_RESOURCES)
        setting = f"SKIT_KFP_RESOURCES[{component}]"
        overrides[component] = Resources(
            cpu=_cpu(f"{setting}.cpu", wanted.get("cpu", base.cpu)),
            memory=_memory(f"{setting}.memory", wanted.get("memory", base.memory)),
        )
    return overrides
