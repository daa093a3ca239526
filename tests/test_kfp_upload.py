"""`skit-pipelines upload` and `run --version-name` against the fake KFP v2beta1 API server (kfp's own client
on the wire): the pipeline is created, its YAML uploaded as a named version (multipart), the same YAML twice
is a no-op, and a run of an uploaded version references it instead of carrying a spec."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from typer.testing import CliRunner

import skit_pipelines
from skit_pipelines.cli import app
from skit_pipelines.compiler import compile_pipeline
from skit_pipelines.pipelines import PIPELINES
from skit_pipelines.runner.base import PipelineRunError, RunState, get_runner
from skit_pipelines.runner.kfp_pipelines import KfpPipelines, default_version_name, git_sha
from skit_pipelines.runner.kubeflow import KubeflowRunner
from tests.conftest import SettingsEnv

if TYPE_CHECKING:
    from tests.fakes.kfp_server import FakeKfpServer

pytest_plugins = ["tests.fakes.kfp_server"]

PIPELINE = "fetch_calls_pipeline"
CLUSTER = {"SKIT_KFP_SECRET": "skit-pipelines-env", "SKIT_IMAGE": "registry.example.com/voice/skit:1.0"}
API = "/apis/v2beta1"


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def checkout_sha() -> str:
    package = Path(skit_pipelines.__file__).resolve().parent
    done = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=package, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def expected_version() -> str:
    return f"{skit_pipelines.__version__}+{checkout_sha()}"


@pytest.fixture
def server(kfp_server: FakeKfpServer, settings_env: SettingsEnv) -> FakeKfpServer:
    settings_env(**CLUSTER)
    return kfp_server


def uploader() -> KfpPipelines:
    runner = get_runner()
    assert isinstance(runner, KubeflowRunner)
    return KfpPipelines(runner)


def test_upload_creates_the_pipeline_and_uploads_the_compiled_yaml(
    server: FakeKfpServer, tmp_path: Path
) -> None:
    done = cli("upload", "Fetch-Calls-Pipeline")
    assert done.exit_code == 0, done.output
    version = expected_version()
    assert f"{PIPELINE}: created the pipeline and uploaded version {version}" in done.output

    # Looked up by name (kfp's filter JSON), then created empty (every YAML goes through upload_version).
    lookup = server.calls("GET", f"{API}/pipelines")[0]
    assert json.loads(lookup.query["filter"]) == {
        "predicates": [{"operation": 1, "key": "display_name", "stringValue": PIPELINE}]
    }
    (create,) = server.calls("POST", f"{API}/pipelines")
    assert create.json["display_name"] == PIPELINE and create.json["description"]
    assert not server.calls("POST", f"{API}/pipelines/upload")

    (upload,) = server.uploads
    (pipeline_id,) = server.pipelines
    assert upload.content_type.startswith("multipart/form-data; boundary=")
    assert (upload.part_name, upload.filename) == ("uploadfile", f"{PIPELINE}.yaml")
    assert upload.query["name"] == version and upload.query["pipelineid"] == pipeline_id
    # The YAML is what `compile` writes with the same settings (the secret, the image), caching off.
    compiled = list(yaml.safe_load_all(compile_pipeline(PIPELINE, tmp_path, **compile_options()).read_text()))
    spec, platform = upload.documents
    assert platform == compiled[1]
    assert "skit-pipelines-env" in json.dumps(platform)
    for task in spec["root"]["dag"]["tasks"].values():
        assert task.pop("cachingOptions") == {"enableCache": False}
    for task in compiled[0]["root"]["dag"]["tasks"].values():
        task.pop("cachingOptions", None)
    assert spec == compiled[0]
    executors = spec["deploymentSpec"]["executors"].values()
    assert {e["container"]["image"] for e in executors} == {CLUSTER["SKIT_IMAGE"]}
    # The description carries the sha256 of the uploaded file: how the next upload knows it is there.
    (stored,) = server.versions[pipeline_id]
    assert f"sha256:{hashlib.sha256(upload.text.encode()).hexdigest()}" in stored["description"]
    assert f"/#/pipelines/details/{pipeline_id}/version/{stored['pipeline_version_id']}" in done.output


def compile_options() -> dict[str, Any]:
    runner = get_runner()
    assert isinstance(runner, KubeflowRunner)
    return {"image": runner.image, "pod_config": runner.pod_config}


def test_the_same_yaml_twice_is_a_no_op_that_says_so(server: FakeKfpServer) -> None:
    assert cli("upload", PIPELINE).exit_code == 0
    done = cli("upload", PIPELINE, "--json")
    assert done.exit_code == 0, done.output
    (result,) = json.loads(done.stdout)
    assert result["uploaded"] is False and result["created_pipeline"] is False
    assert result["version_name"] == expected_version()
    assert len(server.uploads) == 1 and len(server.calls("POST", f"{API}/pipelines")) == 1

    text = cli("upload", PIPELINE).output
    assert f"version {expected_version()} is already uploaded with the same YAML; nothing to do" in text


def test_other_yaml_under_the_same_name_gets_its_own_version(
    server: FakeKfpServer, settings_env: SettingsEnv
) -> None:
    """Another image (or uncommitted changes) never hides behind an uploaded version's name."""
    first = uploader().upload(PIPELINE)
    settings_env(SKIT_IMAGE="registry.example.com/voice/skit:2.0")
    second = uploader().upload(PIPELINE)
    assert second.uploaded and second.pipeline_id == first.pipeline_id
    assert (
        second.version_name.startswith(first.version_name + ".")
        and len(second.version_name) == len(first.version_name) + 13
    )
    assert [u.query["name"] for u in server.uploads] == [first.version_name, second.version_name]
    third = uploader().upload(PIPELINE)
    assert (third.uploaded, third.version_name) == (False, second.version_name)

    with pytest.raises(PipelineRunError, match="holds other YAML; pass another --version-name"):
        settings_env(SKIT_IMAGE="registry.example.com/voice/skit:3.0")
        uploader().upload(PIPELINE, version_name=first.version_name)


def test_a_version_uploaded_by_other_means_is_compared_by_its_spec(server: FakeKfpServer) -> None:
    from skit_pipelines.pipelines import get_pipeline
    from skit_pipelines.runner.kubeflow import compile_pipeline_spec

    runner = get_runner()
    assert isinstance(runner, KubeflowRunner)
    spec = compile_pipeline_spec(get_pipeline(PIPELINE), runner.image, runner.pod_config)
    server.add_pipeline_version(PIPELINE, "ui-upload", spec)
    assert uploader().upload(PIPELINE, version_name="ui-upload").uploaded is False
    server.add_pipeline_version(PIPELINE, "old", {"pipelineInfo": {"name": "x"}, "root": {}})
    with pytest.raises(PipelineRunError, match="version old .* holds other YAML"):
        uploader().upload(PIPELINE, version_name="old")


def test_upload_all_uploads_every_registered_pipeline(server: FakeKfpServer) -> None:
    done = cli("upload", "--all", "--version-name", "release-7")
    assert done.exit_code == 0, done.output
    assert sorted(p["display_name"] for p in server.pipelines.values()) == sorted(PIPELINES)
    assert {u.query["name"] for u in server.uploads} == {"release-7"}
    assert len(server.uploads) == len(PIPELINES)


def test_upload_errors_are_clear(kfp_server: FakeKfpServer, settings_env: SettingsEnv) -> None:
    done = cli("upload", "no_such_pipeline")
    assert done.exit_code == 2
    assert "no_such_pipeline" in done.output and PIPELINE in done.output  # names the known ones
    assert cli("upload").exit_code == 2
    assert "or pass --all" in cli("upload").output
    assert "'latest' is reserved" in cli("upload", PIPELINE, "--version-name", "latest").output
    assert kfp_server.requests == []

    settings_env(SKIT_KFP_HOST=None)
    done = cli("upload", PIPELINE)
    assert done.exit_code == 2
    assert "upload needs a Kubeflow Pipelines cluster: set SKIT_KFP_HOST" in done.output

    settings_env(SKIT_KFP_HOST=kfp_server.url, SKIT_KFP_TOKEN="wrong")
    done = cli("upload", PIPELINE)
    assert done.exit_code == 1
    assert "refused the token (401)" in done.output and "SKIT_KFP_TOKEN" in done.output


def test_run_an_uploaded_version(server: FakeKfpServer) -> None:
    first = uploader().upload(PIPELINE, version_name="v1")
    server.script_run(("RUNNING", {"fetch-calls": "RUNNING"}), ("SUCCEEDED", {"fetch-calls": "SUCCEEDED"}))
    done = cli("run", PIPELINE, "-p", "lang=en", "-p", "call_quantity=5", "--version-name", "v1", "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert (result["state"], result["pipeline"], result["backend"]) == ("SUCCEEDED", PIPELINE, "kubeflow")

    (body,) = server.submitted_runs
    assert body["pipeline_version_reference"] == {
        "pipeline_id": first.pipeline_id,
        "pipeline_version_id": first.version_id,
    }
    assert "pipeline_spec" not in body or body["pipeline_spec"] is None
    assert body["runtime_config"]["parameters"] == {"lang": "en", "call_quantity": 5}


def test_status_and_retry_of_a_version_run_use_the_version(server: FakeKfpServer) -> None:
    """A run made from a version carries no spec: status reads the version's (pipeline name, steps) and a
    retry runs that version again with the same parameters."""
    first = uploader().upload(PIPELINE, version_name="v1")
    server.script_run(("SUCCEEDED", {"fetch-calls": "SUCCEEDED"}))
    runner = get_runner()
    assert isinstance(runner, KubeflowRunner)
    run_id = runner.submit(PIPELINE, None, {"lang": "en"}, version=(first.pipeline_id, first.version_id))

    status = runner.get_status(run_id)
    assert status.pipeline == PIPELINE
    assert status.state == RunState.SUCCEEDED

    server.script_run(("SUCCEEDED", {"fetch-calls": "SUCCEEDED"}))
    name, new_id = runner.retry(run_id)
    assert (name, new_id != run_id) == (PIPELINE, True)
    retried = server.submitted_runs[-1]
    assert retried["pipeline_version_reference"] == {
        "pipeline_id": first.pipeline_id,
        "pipeline_version_id": first.version_id,
    }
    assert retried["runtime_config"]["parameters"] == {"lang": "en"}


def test_run_latest_version_and_the_alias(server: FakeKfpServer) -> None:
    uploader().upload(PIPELINE, version_name="v1")
    server.add_pipeline_version(
        PIPELINE, "v2", {"pipelineInfo": {"name": "fetch-calls-pipeline"}, "root": {}}
    )
    (pipeline_id,) = server.pipelines
    v2 = server.versions[pipeline_id][-1]["pipeline_version_id"]

    result = uploader().run_version(PIPELINE, {"lang": "en"}, "latest")
    assert result.state == RunState.SUCCEEDED
    done = cli("run", PIPELINE, "-p", "lang=en", "--pipeline-version", "latest", "--json")
    assert done.exit_code == 0, done.output
    assert [b["pipeline_version_reference"]["pipeline_version_id"] for b in server.submitted_runs] == [v2, v2]


def test_run_version_errors_are_clear(server: FakeKfpServer, settings_env: SettingsEnv) -> None:
    done = cli("run", PIPELINE, "-p", "lang=en", "--version-name", "v1")
    assert done.exit_code == 2
    assert f"pipeline {PIPELINE} is not uploaded" in done.output
    assert f"skit-pipelines upload {PIPELINE}" in done.output

    uploader().upload(PIPELINE, version_name="v1")
    done = cli("run", PIPELINE, "-p", "lang=en", "--version-name", "v9")
    assert done.exit_code == 2 and "has no version 'v9'" in done.output
    assert not server.submitted_runs

    settings_env(SKIT_KFP_HOST=None)
    done = cli("run", PIPELINE, "-p", "lang=en", "--version-name", "v1")
    assert done.exit_code == 2 and "--version-name needs a Kubeflow Pipelines cluster" in done.output


def test_version_names() -> None:
    digest = "ab" * 32
    assert default_version_name(digest, "3f2a9c1d7e4b") == f"{skit_pipelines.__version__}+3f2a9c1d7e4b"
    assert default_version_name(digest, None) == f"{skit_pipelines.__version__}+yaml.abababababab"
    assert git_sha() == checkout_sha()


def test_git_sha_outside_a_checkout_is_none(tmp_path: Path) -> None:
    assert git_sha(tmp_path) is None
