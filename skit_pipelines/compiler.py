"""Compile registered pipelines to kfp v2 YAML (``build/<pipeline>.yaml``) for upload to a cluster.

Why a module and not just ``kfp dsl compile``: one command compiles every pipeline of the registry, writes
each file atomically (a half-written YAML uploaded to a cluster fails in confusing ways), and the same code
is used by tests, which load each file back with kfp and compare its inputs with the pipeline signature.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from kfp import compiler

from skit_pipelines.localfiles import atomic_path
from skit_pipelines.pipelines import PIPELINES, get_pipeline, normalise_name

DEFAULT_BUILD_DIR = Path("build")


def compile_pipeline(name: str, out_dir: Path = DEFAULT_BUILD_DIR) -> Path:
    """Compile one registered pipeline to ``out_dir/<name>.yaml`` and return the path."""
    key = normalise_name(name)
    pipeline = get_pipeline(key)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{key}.yaml"
    # kfp insists on a .yaml path: atomic_path's temporary name keeps the extension.
    with atomic_path(target) as tmp, warnings.catch_warnings():
        # Our components run on our own image, which kfp cannot tell is a Python image.
        warnings.filterwarnings("ignore", message=".*non-Python base image.*")
        compiler.Compiler().compile(pipeline_func=pipeline, package_path=str(tmp))
    return target


def compile_all(out_dir: Path = DEFAULT_BUILD_DIR, names: list[str] | None = None) -> list[Path]:
    """Compile ``names`` (default: every registered pipeline)."""
    return [compile_pipeline(name, out_dir) for name in (names or sorted(PIPELINES))]
