"""The layering is a checked contract: `lint-imports` passes, and its contracts cover what the design says.

Why a test as well as `make lint`: a broken contract should fail the suite that CI runs, not only a lint
step someone may skip. The contracts live in pyproject.toml ([tool.importlinter]); docs/architecture.md
explains them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DOMAIN = {
    "skit_pipelines.metrics",
    "skit_pipelines.models",
    "skit_pipelines.entities",
    "skit_pipelines.features",
    "skit_pipelines.parameters",
    "skit_pipelines.warehouse.filters",
    "skit_pipelines.warehouse.sampling",
}
EDGES_AND_FACES = {
    "skit_pipelines.storage",
    "skit_pipelines.stores",
    "skit_pipelines.annotation.client",
    "skit_pipelines.config",
    "kfp",
    "skit_pipelines.runner",
    "skit_pipelines.api",
    "skit_pipelines.cli",
    "skit_pipelines.pipelines",
    "skit_pipelines.components",
    "skit_pipelines.notify",
    "skit_pipelines.jobs",
}


def contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def test_lint_imports_keeps_every_contract() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    assert lint_imports.exists(), "import-linter is missing: install the dev extra (pip install -e '.[dev]')"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's code, not another editable install
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_domain_contract_forbids_every_edge_and_face() -> None:
    (forbidden,) = [c for c in contracts() if c["type"] == "forbidden" and set(c["source_modules"]) >= DOMAIN]
    assert set(forbidden["forbidden_modules"]) >= EDGES_AND_FACES
    assert not forbidden.get("allow_indirect_imports"), "an edge reached through another module counts too"


def test_layers_put_faces_over_components_over_jobs_over_the_domain() -> None:
    (layers,) = [c for c in contracts() if c["type"] == "layers" and "skit_pipelines.jobs" in c["layers"]]
    order = layers["layers"]
    for upper, lower in [
        ("skit_pipelines.pipelines", "skit_pipelines.components"),
        ("skit_pipelines.components", "skit_pipelines.jobs"),
        ("skit_pipelines.jobs", "skit_pipelines.stores"),
    ]:
        assert order.index(upper) < order.index(lower), (upper, lower)
    assert "skit_pipelines.metrics" in order[-1] and "skit_pipelines.models" in order[-1]


def test_metrics_subpackages_are_acyclic() -> None:
    acyclic = {a for c in contracts() if c["type"] == "acyclic_siblings" for a in c["ancestors"]}
    assert {
        "skit_pipelines.metrics",
        "skit_pipelines.jobs",
        "skit_pipelines",
        "skit_pipelines.models",
    } <= acyclic
