"""skit_pipelines.slu is pure computation: no git, DVC, HTTP, settings or storage imported by its modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SLU = Path(__file__).resolve().parents[1] / "skit_pipelines" / "slu"
# What belongs at the edge (the jobs, the git/DVC/forge clients), never in these modules.
FORBIDDEN = (
    "subprocess",
    "httpx",
    "requests",
    "git",
    "dvc",
    "boto3",
    "kfp",
    "skit_pipelines.config",
    "skit_pipelines.storage",
    "skit_pipelines.annotation.client",
    "skit_pipelines.notify",
    "skit_pipelines.runner",
    "skit_pipelines.components",
    "skit_pipelines.pipelines",
    "skit_pipelines.api",
)


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted(SLU.glob("*.py")), ids=lambda p: p.name)
def test_module_imports_nothing_from_the_edge(path: Path) -> None:
    bad = sorted(
        name for name in imported(path) for edge in FORBIDDEN if name == edge or name.startswith(f"{edge}.")
    )
    assert not bad, f"{path.name} imports {bad}"


def test_the_check_sees_an_edge_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from skit_pipelines import storage\nimport subprocess\n")
    assert {"skit_pipelines.storage", "subprocess"} <= imported(module)
