"""Pipelines kept on a Kubeflow Pipelines cluster: upload them as named versions, run an uploaded version.

Why upload at all, when ``run`` submits the spec inline: an uploaded version is what a platform team reviews
and pins (the cluster's UI lists it, a recurring run or a colleague can start it without this package), and
a run of it is tied to a version whose name says which code built it.

What is uploaded is exactly what a cluster ``run`` submits inline (:func:`compile_pipeline_spec`): the
pipeline compiled with ``SKIT_IMAGE`` and the pod configuration of the ``SKIT_KFP_*`` settings
(:func:`skit_pipelines.podconfig.configure_pipeline`, the one ``compile`` applies), caching off for every
task (steps read live data), as YAML: the pipeline spec, then the Kubernetes platform spec when there is one.

Version names: ``<package version>+<git sha>`` (e.g. ``0.1.0+3f2a9c1d7e4b``) when the package runs from a
git checkout, else ``<package version>+yaml.<first 12 hex of the YAML's sha256>``. The version's description
carries the YAML's full sha256, which is how an upload knows the cluster already has it: the same YAML under
that name is a no-op that says so. The same name with other YAML (uncommitted changes, another image or other
pod settings) is uploaded as ``<name>.<first 12 hex of the sha256>``, so a name never changes meaning.

Why the pipeline is created empty and every YAML goes through ``upload_version``: kfp's ``upload_pipeline``
makes the first version itself and names it after the pipeline, so the first upload would not carry our
version name. We call kfp's generated APIs (``client.pipelines``, ``client.pipeline_uploads``), as the
runner does, rather than ``Client.upload_pipeline*``: those print links to stdout and take no timeout.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kfp_server_api
import yaml

import skit_pipelines
from skit_pipelines.pipelines import PIPELINES, get_pipeline, normalise_name
from skit_pipelines.pipelines.parameters import coerce_arguments, pipeline_description
from skit_pipelines.runner.base import EventCallback, PipelineRunError, RunResult
from skit_pipelines.runner.kubeflow import KubeflowRunner, _Conflict, compile_pipeline_spec

#: ``run --version-name latest``: the version uploaded last.
LATEST = "latest"
_HASH_PREFIX = "sha256:"
_PACKAGE_DIR = Path(skit_pipelines.__file__).resolve().parent


@dataclass(frozen=True)
class UploadResult:
    """What ``upload`` did for one pipeline; ``uploaded`` is False when the cluster already had the YAML."""

    pipeline: str
    pipeline_id: str
    version_name: str
    version_id: str
    created_pipeline: bool
    uploaded: bool
    url: str

    def describe(self) -> str:
        """One line for a terminal."""
        if not self.uploaded:
            return (
                f"{self.pipeline}: version {self.version_name} is already uploaded with the same YAML; "
                "nothing to do"
            )
        created = "created the pipeline and " if self.created_pipeline else ""
        return f"{self.pipeline}: {created}uploaded version {self.version_name}"


@dataclass(frozen=True)
class PipelineVersion:
    """An uploaded version as a run needs it."""

    pipeline_id: str
    version_id: str
    name: str
    spec: Any


def git_sha(directory: Path = _PACKAGE_DIR) -> str | None:
    """The short sha of the git checkout ``directory`` is in (None: not a checkout, or no git)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and sha else None


def render_yaml(spec: dict[str, Any]) -> str:
    """The YAML file of a spec as :func:`compile_pipeline_spec` returns it (one or two documents)."""
    if "pipeline_spec" in spec and "platform_spec" in spec:
        documents = [spec["pipeline_spec"], spec["platform_spec"]]
    else:
        documents = [spec]
    return yaml.safe_dump_all(documents, sort_keys=True)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_version_name(digest: str, sha: str | None) -> str:
    """``<package version>+<git sha>``, else ``<package version>+yaml.<12 hex of the YAML's sha256>``."""
    return f"{skit_pipelines.__version__}+{sha if sha else 'yaml.' + digest[:12]}"


def _name_filter(name: str) -> str:
    return json.dumps({"predicates": [{"operation": 1, "key": "display_name", "stringValue": name}]})


class KfpPipelines:
    """Upload registered pipelines to the cluster a :class:`KubeflowRunner` talks to, and run their versions.

    Uses the runner's client, its error messages and its request timeout: one way of talking to the cluster.
    """

    def __init__(self, runner: KubeflowRunner) -> None:
        self.runner = runner

    # -- upload ----------------------------------------------------------------------------------------------
    def upload(self, pipeline_name: str, version_name: str | None = None) -> UploadResult:
        """Create the pipeline when missing and upload its YAML as a version, unless it is there already."""
        name = normalise_name(pipeline_name)
        pipeline = get_pipeline(name)  # UnknownPipelineError names the known ones
        spec = compile_pipeline_spec(pipeline, self.runner.image, self.runner.pod_config)
        text = render_yaml(spec)
        digest = content_hash(text)
        wanted = version_name or default_version_name(digest, git_sha())

        pipeline_id = self.pipeline_id(name)
        created = pipeline_id is None
        if pipeline_id is None:
            pipeline_id = self._create_pipeline(name, pipeline_description(pipeline))
        candidates = [wanted] if version_name else [wanted, f"{wanted}.{digest[:12]}"]
        for candidate in candidates:
            existing = self._find_version(pipeline_id, candidate)
            if existing is None:
                version_id = self._upload_version(name, pipeline_id, candidate, text, digest)
                return self._result(name, pipeline_id, candidate, version_id, created, uploaded=True)
            if self._same_yaml(existing, spec, digest):
                version_id = existing.pipeline_version_id
                return self._result(name, pipeline_id, candidate, version_id, created, uploaded=False)
        raise PipelineRunError(
            f"{name}: version {wanted} on Kubeflow Pipelines at {self.runner.host} holds other YAML; "
            "pass another --version-name"
        )

    def upload_all(self, names: list[str] | None = None) -> list[UploadResult]:
        return [self.upload(name) for name in (names or sorted(PIPELINES))]

    def _result(
        self, name: str, pipeline_id: str, version: str, version_id: str, created: bool, *, uploaded: bool
    ) -> UploadResult:
        url = f"{self.runner.ui_url}/#/pipelines/details/{pipeline_id}/version/{version_id}"
        return UploadResult(name, pipeline_id, version, version_id, created, uploaded, url)

    @staticmethod
    def _same_yaml(version: Any, spec: dict[str, Any], digest: str) -> bool:
        """By the sha256 we wrote into the description; for a version uploaded by other means, by its spec."""
        description = getattr(version, "description", None) or ""
        if _HASH_PREFIX in description:
            return f"{_HASH_PREFIX}{digest}" in description
        return getattr(version, "pipeline_spec", None) == spec

    def _create_pipeline(self, name: str, description: str) -> str:
        runner = self.runner
        client = runner._get_client()
        body = kfp_server_api.V2beta1Pipeline(
            display_name=name, description=description[:1000], namespace=client.get_user_namespace() or None
        )
        try:
            created = runner._call(
                f"creating pipeline {name}",
                lambda: client.pipelines.pipeline_service_create_pipeline(
                    pipeline=body, _request_timeout=runner.request_timeout
                ),
            )
        except _Conflict:  # created by someone else meanwhile
            created = None
        pipeline_id = getattr(created, "pipeline_id", None) or self.pipeline_id(name)
        if not pipeline_id:
            raise PipelineRunError(
                f"Kubeflow Pipelines at {runner.host} answered no id for pipeline {name} "
                "(is SKIT_KFP_HOST the Kubeflow Pipelines API, not a login page?)"
            )
        return pipeline_id

    def _upload_version(self, name: str, pipeline_id: str, version: str, text: str, digest: str) -> str:
        runner = self.runner
        client = runner._get_client()
        description = (
            f"{name} built by skit-pipelines {skit_pipelines.__version__}; YAML {_HASH_PREFIX}{digest}"
        )
        with tempfile.TemporaryDirectory(prefix="skit-kfp-") as tmp:
            path = Path(tmp) / f"{name}.yaml"  # the server reads the extension
            path.write_text(text, encoding="utf-8")
            try:
                uploaded = runner._call(
                    f"uploading version {version} of {name}",
                    lambda: client.pipeline_uploads.upload_pipeline_version(
                        str(path),
                        name=version,
                        pipelineid=pipeline_id,
                        description=description,
                        _request_timeout=runner.request_timeout,
                    ),
                    not_found=f"there is no pipeline {pipeline_id}",
                )
            except _Conflict:
                raise PipelineRunError(
                    f"{name}: version {version} was uploaded by someone else meanwhile; run upload again"
                ) from None
        version_id = getattr(uploaded, "pipeline_version_id", None)
        if not version_id:
            raise PipelineRunError(
                f"Kubeflow Pipelines at {runner.host} answered no id for version {version} of {name}"
            )
        return version_id

    # -- lookups ---------------------------------------------------------------------------------------------
    def pipeline_id(self, name: str) -> str | None:
        """The id of the cluster's pipeline named ``name`` (our registry name), None when there is none."""
        runner = self.runner
        client = runner._get_client()
        found = runner._call(
            f"looking up pipeline {name}",
            lambda: client.pipelines.pipeline_service_list_pipelines(
                filter=_name_filter(name),
                namespace=client.get_user_namespace() or None,
                _request_timeout=runner.request_timeout,
            ),
        )
        pipelines = getattr(found, "pipelines", None) or []
        if len(pipelines) > 1:
            raise PipelineRunError(
                f"Kubeflow Pipelines at {runner.host} has {len(pipelines)} pipelines named {name}"
            )
        return pipelines[0].pipeline_id if pipelines else None

    def _find_version(self, pipeline_id: str, version: str) -> Any:
        runner = self.runner
        client = runner._get_client()
        latest = version == LATEST
        found = runner._call(
            f"looking up version {version} of pipeline {pipeline_id}",
            lambda: client.pipelines.pipeline_service_list_pipeline_versions(
                pipeline_id=pipeline_id,
                filter=None if latest else _name_filter(version),
                sort_by="created_at desc" if latest else "",
                page_size=1 if latest else 10,
                _request_timeout=runner.request_timeout,
            ),
            not_found=f"there is no pipeline {pipeline_id}",
        )
        versions = getattr(found, "pipeline_versions", None) or []
        return versions[0] if versions else None

    def version(self, pipeline_name: str, version_name: str) -> PipelineVersion:
        """The uploaded version ``version_name`` (or ``latest``) of a registered pipeline, with its spec."""
        name = normalise_name(pipeline_name)
        get_pipeline(name)
        hint = f"`skit-pipelines upload {name}` uploads it"
        pipeline_id = self.pipeline_id(name)
        if pipeline_id is None:
            raise PipelineRunError(
                f"pipeline {name} is not uploaded to Kubeflow Pipelines at {self.runner.host}; {hint}"
            )
        found = self._find_version(pipeline_id, version_name)
        if found is None:
            raise PipelineRunError(f"pipeline {name} has no version {version_name!r}; {hint}")
        spec = getattr(found, "pipeline_spec", None)
        if spec is None:  # a list that leaves the spec out: ask for the version itself
            spec = self.runner.version_spec(
                pipeline_id, found.pipeline_version_id, f"version {found.display_name} of {name}"
            )
        return PipelineVersion(pipeline_id, found.pipeline_version_id, found.display_name, spec)

    # -- run -------------------------------------------------------------------------------------------------
    def run_version(
        self,
        pipeline_name: str,
        arguments: dict[str, Any],
        version_name: str,
        *,
        on_event: EventCallback | None = None,
        run_name: str | None = None,
    ) -> RunResult:
        """Run an uploaded version of a pipeline (instead of submitting its spec inline) and follow it."""
        name = normalise_name(pipeline_name)
        typed = coerce_arguments(name, get_pipeline(name), arguments)  # bad input fails before any request
        version = self.version(name, version_name)
        run_id = self.runner.submit(
            name, None, typed, run_name=run_name, version=(version.pipeline_id, version.version_id)
        )
        return self.runner.follow(run_id, on_event=on_event, pipeline=name, pipeline_spec=version.spec)
