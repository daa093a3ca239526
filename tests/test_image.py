"""The step image (Dockerfile) installs what the compiled YAML expects, checked without Docker (CI-friendly):
the package from this checkout with every extra a step imports, the kfp the YAML was compiled with, the
step wrapper of cluster mode, DVC and git for SLU retraining. ``make image`` says why it skips without
Docker."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from skit_pipelines.compiler import compile_pipeline
from skit_pipelines.podconfig import STEP_WRAPPER, PodConfig

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGE = ROOT / "skit_pipelines"


def dockerfile_instructions() -> list[str]:
    """Instructions with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def default_extras() -> set[str]:
    (arg,) = [line for line in dockerfile_instructions() if line.startswith("ARG EXTRAS=")]
    return {extra.strip() for extra in arg.split("=", 1)[1].strip('"').split(",") if extra.strip()}


def imported_top_level_modules() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def requirement_name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_image_installs_this_package_with_its_extras() -> None:
    instructions = dockerfile_instructions()
    assert "COPY pyproject.toml README.md ./" in instructions
    assert "COPY skit_pipelines ./skit_pipelines" in instructions
    installs = [line for line in instructions if re.search(r"\bpip install \"\.\[\$\{EXTRAS\}\]\"", line)]
    assert len(installs) == 1, 'one `pip install ".[${EXTRAS}]"` of the copied package'
    assert "import kfp, kfp.kubernetes, skit_pipelines" in installs[0]
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert default_extras() <= set(extras) - {"dev"}


def test_every_extra_a_step_imports_is_in_the_default_image() -> None:
    """An extra is needed when a module of the package imports one of its distributions' modules."""
    distributions = importlib.metadata.packages_distributions()  # import name -> distributions
    imported = imported_top_level_modules()
    needed = set()
    for extra, requirements in PYPROJECT["project"]["optional-dependencies"].items():
        if extra == "dev":
            continue
        wanted = {requirement_name(r) for r in requirements}
        modules = {
            module
            for module, dists in distributions.items()
            if {d.lower().replace("_", "-") for d in dists} & wanted
        }
        if modules & imported:
            needed.add(extra)
    assert {"ml", "compliance"} <= needed  # the scan sees the real users (models/, compliance/redaction)
    assert needed <= default_extras()


def test_the_yaml_expects_the_kfp_of_the_package_and_its_step_wrapper(tmp_path: Path) -> None:
    (kfp_pin,) = [r for r in PYPROJECT["project"]["dependencies"] if requirement_name(r) == "kfp"]
    assert any(requirement_name(r) == "kfp-kubernetes" for r in PYPROJECT["project"]["dependencies"])
    config = PodConfig(enabled=True)
    text = compile_pipeline("fetch_calls_pipeline", tmp_path, pod_config=config).read_text(encoding="utf-8")
    spec = next(yaml.safe_load_all(text))
    assert f"kfp-{kfp_pin.split('==')[1]}" == spec["sdkVersion"]
    for executor in spec["deploymentSpec"]["executors"].values():
        command = executor["container"]["command"]
        assert command[: len(STEP_WRAPPER)] == list(STEP_WRAPPER)
        assert "python3 -m kfp.dsl.executor_main" in command[len(STEP_WRAPPER) + 2]  # kfp's, from the image
        assert "pip install" not in " ".join(command)
    module = STEP_WRAPPER[-1].replace(".", "/") + ".py"
    assert (ROOT / module).is_file()


def test_the_image_has_dvc_and_git_for_slu_retraining() -> None:
    instructions = dockerfile_instructions()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (dvc_spec,) = re.findall(r"install '(dvc\[s3\][^']*)'", makefile)
    assert any(f"/opt/dvc/bin/pip install '{dvc_spec}'" in line for line in instructions), "same DVC as make"
    assert "SKIT_DVC_EXECUTABLE=/opt/dvc/bin/dvc" in " ".join(instructions)
    assert any("apt-get install" in line and " git" in line for line in instructions)
    assert '["git", *args]' in (PACKAGE / "vcs" / "git.py").read_text(encoding="utf-8")


def test_make_image_is_skipped_with_a_message_without_docker(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("no make on this machine")
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL"}}
    result = subprocess.run(
        ["make", "--no-print-directory", "image", "DOCKER=/nonexistent/docker", "IMAGE=r.example.com/s:1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "make image: skipped: no Docker daemon here" in result.stdout
    assert "/nonexistent/docker build -t r.example.com/s:1 ." in result.stdout
