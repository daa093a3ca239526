"""vcs/ and forge/ take URLs, paths and tokens from their callers: they read no settings and know no kfp,
Slack or artifact store (a job wires them to those)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skit_pipelines"
FORBIDDEN = (
    "skit_pipelines.config",
    "skit_pipelines.storage",
    "skit_pipelines.notify",
    "kfp",
    "slack_sdk",
    "slack_bolt",
    "boto3",
)


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("package", ["vcs", "forge"])
def test_no_settings_kfp_slack_or_storage(package: str) -> None:
    files = sorted((PACKAGE / package).rglob("*.py"))
    assert files
    for path in files:
        bad = {n for n in imported(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"
        assert "get_settings" not in path.read_text(encoding="utf-8"), path
