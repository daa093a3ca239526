"""Compile registered pipelines to kfp v2 YAML (``build/<pipeline>.yaml``) for upload to a cluster.

Why a module and not just ``kfp dsl compile``: one command compiles every pipeline of the registry, writes
each file atomically (a half-written YAML uploaded to a cluster fails in confusing ways), and the same code
is used by tests, which load each file back with kfp and compare its inputs with the pipeline signature.

The container image is set here, not when the components are imported: pipelines are built at import,
before any settings are read, with :data:`skit_pipelines.components.DEFAULT_IMAGE`; the caller (the
``compile`` command, the Kubeflow runner, the API) passes the image it read from ``SKIT_IMAGE``. The same
caller passes the pod configuration it read from the ``SKIT_KFP_*`` settings
(:mod:`skit_pipelines.podconfig`): ``compile`` and a cluster run shape the steps' pods with one function.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from kfp import compiler
from kfp.compiler import pipeline_spec_builder
from kfp.dsl import base_component
from kfp.dsl.types import type_utils

from skit_pipelines.components import DEFAULT_IMAGE
from skit_pipelines.localfiles import atomic_path
from skit_pipelines.pipelines import PIPELINES, get_pipeline, normalise_name
from skit_pipelines.podconfig import PodConfig, configure_pipeline

DEFAULT_BUILD_DIR = Path("build")


def compile_to_file(
    pipeline: base_component.BaseComponent,
    path: Path,
    image: str = DEFAULT_IMAGE,
    pod_config: PodConfig | None = None,
) -> None:
    """What ``kfp.compiler.Compiler().compile`` does, with every container step running ``image`` and
    configured by ``pod_config`` (none, or a disabled one: the YAML a laptop compiles).

    The pipeline's own spec is left alone (the image is set on a copy, the pod configuration on a rebuilt
    pipeline), so compiling twice with two images gives two files and the registry's pipelines stay as
    they were built.
    """
    if not isinstance(pipeline, base_component.BaseComponent):
        compiler.Compiler().compile(pipeline_func=pipeline, package_path=str(path))  # kfp's error message
        return
    if pod_config is not None:
        pipeline = configure_pipeline(pipeline, pod_config)
    with warnings.catch_warnings(), type_utils.TypeCheckManager(enable=True):
        # Our components run on our own image, which kfp cannot tell is a Python image.
        warnings.filterwarnings("ignore", message=".*non-Python base image.*")
        spec = pipeline_spec_builder.modify_pipeline_spec_with_override(
            pipeline_spec=pipeline.pipeline_spec, pipeline_name=None, pipeline_parameters=None
        )  # a copy
        _set_image(spec, image)
        pipeline_spec_builder.write_pipeline_spec_to_file(
            pipeline_spec=spec,
            pipeline_description=pipeline.description,
            platform_spec=pipeline.platform_spec,
            package_path=str(path),
        )


def _set_image(spec: Any, image: str) -> None:
    """Every container executor of ``spec`` (a PipelineSpec) runs ``image``."""
    if "executors" not in spec.deployment_spec:
        return
    executors = spec.deployment_spec["executors"]
    for name in list(executors.keys()):
        executor = executors[name]
        if "container" in executor:
            executor["container"]["image"] = image


def compile_pipeline(
    name: str,
    out_dir: Path = DEFAULT_BUILD_DIR,
    image: str = DEFAULT_IMAGE,
    pod_config: PodConfig | None = None,
) -> Path:
    """Compile one registered pipeline to ``out_dir/<name>.yaml`` and return the path."""
    key = normalise_name(name)
    pipeline = get_pipeline(key)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{key}.yaml"
    # kfp insists on a .yaml path: atomic_path's temporary name keeps the extension.
    with atomic_path(target) as tmp:
        compile_to_file(pipeline, tmp, image, pod_config)
    return target


def compile_all(
    out_dir: Path = DEFAULT_BUILD_DIR,
    names: list[str] | None = None,
    image: str = DEFAULT_IMAGE,
    pod_config: PodConfig | None = None,
) -> list[Path]:
    """Compile ``names`` (default: every registered pipeline), every step running ``image``."""
    return [compile_pipeline(name, out_dir, image, pod_config) for name in (names or sorted(PIPELINES))]
