"""Cluster mode: every step of every compiled pipeline carries its pod configuration (kfp-kubernetes
platform spec, resources, GPU placement), no secret value reaches the YAML, and without cluster settings
the YAML is the laptop's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp import components
from typer.testing import CliRunner

from skit_pipelines.cli import app
from skit_pipelines.compiler import compile_pipeline
from skit_pipelines.config import get_settings
from skit_pipelines.pipelines import PIPELINES
from skit_pipelines.podconfig import (
    STEP_RESOURCES,
    PodConfig,
    PodConfigError,
    Resources,
    default_step_variables,
)
from tests.conftest import SettingsEnv, forget_settings

SECRET_VALUES = {
    "SKIT_SLACK_TOKEN": "xoxb-never-in-yaml-1234",
    "SKIT_KFP_TOKEN": "kfp-token-never-in-yaml",
    "SKIT_LLM_API_KEY": "sk-never-in-yaml",
    "SKIT_DATABASE_URL": "postgresql://u:pw-never-in-yaml@db/skit",
}
CLUSTER = {
    "SKIT_KFP_SECRET": "skit-pipelines-env",
    "SKIT_KFP_CONFIG_MAP": "skit-pipelines-config",
    "SKIT_KFP_CONFIG_MAP_KEYS": "SKIT_TIMEZONE,SKIT_SLACK_DEFAULT_CHANNEL",
    "SKIT_KFP_GPU_NODE_SELECTOR": "nvidia.com/gpu.present=true",
    "SKIT_KFP_GPU_TOLERATION": "nvidia.com/gpu:NoSchedule",
    "SKIT_KFP_IMAGE_PULL_SECRET": "registry-credentials",
    "SKIT_IMAGE": "registry.example.com/voice/skit-pipelines:1.2.3",
}
WRAPPER = ["python3", "-m", "skit_pipelines.runner.kfp_cluster_step"]
GIB = 1024**3


def executor_tasks(spec: dict[str, Any]) -> dict[str, str]:
    """executor label -> task name, over the root DAG and every nested DAG (conditions, branches)."""
    components_ = spec["components"]
    found: dict[str, str] = {}
    dags = [spec["root"]["dag"]] + [c["dag"] for c in components_.values() if "dag" in c]
    for dag in dags:
        for name, task in dag.get("tasks", {}).items():
            component = components_[task["componentRef"]["name"]]
            if "executorLabel" in component:
                found[component["executorLabel"]] = name
    return found


def quantity(text: str) -> float:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": GIB, "K": 1e3, "M": 1e6, "G": 1e9}
    for unit, factor in units.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


@pytest.fixture(scope="module")
def cluster_yaml(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every pipeline compiled by `skit-pipelines compile` with the cluster settings above."""
    out = tmp_path_factory.mktemp("cluster-build")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**CLUSTER, **SECRET_VALUES}.items():
            patch.setenv(name, value)
        forget_settings()
        try:
            result = CliRunner().invoke(app, ["compile", "--out-dir", str(out)])
        finally:
            forget_settings()
    assert result.exit_code == 0, result.output
    assert "note: cluster mode without" not in result.output
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(out.glob("*.yaml"))}


def test_every_pipeline_is_compiled_loadable_and_without_secret_values(cluster_yaml: dict[str, str]) -> None:
    assert set(cluster_yaml) == set(PIPELINES)
    for name, text in cluster_yaml.items():
        for value in SECRET_VALUES.values():
            assert value not in text, f"{name}: a secret value reached the YAML"
        assert "pw-never-in-yaml" not in text
        components.load_component_from_text(text)  # kfp reads it back (both documents)


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_every_step_has_its_platform_spec_and_resources(name: str, cluster_yaml: dict[str, str]) -> None:
    spec, platform = yaml.safe_load_all(cluster_yaml[name])
    executors = spec["deploymentSpec"]["executors"]
    configs = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    tasks = executor_tasks(spec)
    assert set(configs) == set(executors) == set(tasks)
    step_variables = set(default_step_variables(get_settings()))
    assert {"SKIT_WAREHOUSE_URL", "SKIT_ARTIFACT_ROOT", "SKIT_DATABASE_URL", "AWS_SECRET_ACCESS_KEY"} <= (
        step_variables
    )
    assert not any(v.startswith("SKIT_KFP_") for v in step_variables) and "SKIT_IMAGE" not in step_variables
    gpu_steps = 0
    for label, executor in executors.items():
        config, container = configs[label], executor["container"]
        task = tasks[label]
        # The secret's keys become variables of the same names, each optional (the default key list).
        (secret,) = config["secretAsEnv"]
        assert secret["secretName"] == "skit-pipelines-env" and secret["optional"] is True
        assert {(k["secretKey"], k["envVar"]) for k in secret["keyToEnv"]} == {(v, v) for v in step_variables}
        (config_map,) = config["configMapAsEnv"]
        assert config_map["configMapName"] == "skit-pipelines-config"
        assert [k["configMapKey"] for k in config_map["keyToEnv"]] == [
            "SKIT_TIMEZONE",
            "SKIT_SLACK_DEFAULT_CHANNEL",
        ]
        assert config_map.get("optional", False) is False  # keys named explicitly are required
        assert [s["secretName"] for s in config["imagePullSecret"]] == ["registry-credentials"]
        # Where the step's outputs are published: the run id from the pod label, the task name.
        assert config["fieldPathAsEnv"] == [
            {"name": "SKIT_KFP_RUN_ID", "fieldPath": "metadata.labels['pipeline/runid']"}
        ]
        assert {"name": "SKIT_KFP_TASK", "value": task} in container["env"]
        assert container["command"][:3] == WRAPPER and container["command"][3:5] == ["sh", "-ec"]
        assert container["image"] == CLUSTER["SKIT_IMAGE"]
        # Requests: the step's default (training >= 8 GiB) or the general one.
        component = label.removeprefix("exec-").rsplit("-", 1)[0] if label[-1].isdigit() else label[5:]
        wanted = STEP_RESOURCES.get(component, Resources(cpu="500m", memory="1Gi"))
        resources = container["resources"]
        assert (resources["resourceCpuRequest"], resources["resourceMemoryRequest"]) == (
            wanted.cpu,
            wanted.memory,
        )
        if component in ("train-intent-model", "retrain-slu-from-repo"):
            assert quantity(resources["resourceMemoryRequest"]) >= 8 * GIB
        # GPU steps (the use_gpu copy): one nvidia.com/gpu, the node selector and the toleration.
        if "accelerator" in resources:
            gpu_steps += 1
            assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu"
            assert resources["accelerator"]["resourceCount"] == "1"
            assert config["nodeSelector"] == {"labels": {"nvidia.com/gpu.present": "true"}}
            assert config["tolerations"] == [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            ]
        else:
            assert "nodeSelector" not in config and "tolerations" not in config
    if name in ("train_voicebot_intent_model_xlmr", "retrain_slu", "eval_voicebot_xlmr_pipeline"):
        assert gpu_steps >= 1


@pytest.mark.parametrize("name", ["fetch_calls_pipeline", "train_voicebot_intent_model_xlmr"])
def test_without_cluster_settings_the_yaml_is_the_laptops(name: str, tmp_path: Path) -> None:
    config = PodConfig.from_settings(get_settings())
    assert not config.enabled
    laptop = compile_pipeline(name, tmp_path / "laptop").read_text(encoding="utf-8")
    same = compile_pipeline(name, tmp_path / "configured", pod_config=config).read_text(encoding="utf-8")
    assert same == laptop
    assert len([doc for doc in yaml.safe_load_all(laptop) if doc]) == 1  # no platform spec
    assert "kfp_cluster_step" not in laptop and "resourceMemoryRequest" not in laptop


def test_a_kubeflow_host_alone_turns_cluster_mode_on(settings_env: SettingsEnv, tmp_path: Path) -> None:
    """Resources and output publishing, and a note that the steps get no environment."""
    settings_env(SKIT_KFP_HOST="https://kfp.example.com")
    result = CliRunner().invoke(app, ["compile", "fetch_calls_pipeline", "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "cluster mode without SKIT_KFP_SECRET or SKIT_KFP_CONFIG_MAP" in result.output
    spec, platform = yaml.safe_load_all((tmp_path / "fetch_calls_pipeline.yaml").read_text())
    config = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-fetch-calls"]
    assert "secretAsEnv" not in config and "fieldPathAsEnv" in config


def test_resources_per_step_from_the_settings(settings_env: SettingsEnv, tmp_path: Path) -> None:
    settings_env(
        SKIT_KFP_RESOURCES='{"train-intent-model": {"memory": "16Gi"}, "fetch-calls": {"cpu": "2"}}',
        SKIT_KFP_MEMORY_REQUEST="2Gi",
    )
    config = PodConfig.from_settings(get_settings())
    assert config.enabled
    assert config.resources_for("train-intent-model") == Resources(cpu="2", memory="16Gi")
    assert config.resources_for("fetch-calls") == Resources(cpu="2", memory="1Gi")
    assert config.resources_for("slack-notification") == Resources(cpu="500m", memory="2Gi")
    path = compile_pipeline("fetch_calls_pipeline", tmp_path, pod_config=config)
    spec, _ = yaml.safe_load_all(path.read_text())
    resources = spec["deploymentSpec"]["executors"]["exec-fetch-calls"]["container"]["resources"]
    assert (resources["resourceCpuRequest"], resources["resourceMemoryRequest"]) == ("2", "1Gi")


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"SKIT_KFP_GPU_TOLERATION": "nvidia.com/gpu:Sometimes"}, "SKIT_KFP_GPU_TOLERATION"),
        ({"SKIT_KFP_GPU_NODE_SELECTOR": "gpu"}, "SKIT_KFP_GPU_NODE_SELECTOR"),
        ({"SKIT_KFP_SECRET": "Skit_Env"}, "SKIT_KFP_SECRET"),
        ({"SKIT_KFP_SECRET": "env", "SKIT_KFP_SECRET_KEYS": "A B"}, "SKIT_KFP_SECRET_KEYS"),
        ({"SKIT_KFP_MEMORY_REQUEST": "8 GB"}, "SKIT_KFP_MEMORY_REQUEST"),
        ({"SKIT_KFP_RESOURCES": '{"train-intent-model": {"gpu": "2"}}'}, "SKIT_KFP_RESOURCES"),
    ],
)
def test_bad_cluster_settings_are_named(
    variables: dict[str, str], named: str, settings_env: SettingsEnv, tmp_path: Path
) -> None:
    settings_env(**variables)
    with pytest.raises(PodConfigError, match=named):
        PodConfig.from_settings(get_settings())
    result = CliRunner().invoke(app, ["compile", "fetch_calls_pipeline", "--out-dir", str(tmp_path)])
    assert result.exit_code == 2 and named in result.output
    assert not list(tmp_path.glob("*.yaml"))


def test_toleration_forms() -> None:
    from skit_pipelines.podconfig import Toleration, _toleration

    assert _toleration("dedicated=gpu:NoExecute") == Toleration("dedicated", "Equal", "gpu", "NoExecute")
    assert _toleration("nvidia.com/gpu") == Toleration("nvidia.com/gpu", "Exists", "", "")
