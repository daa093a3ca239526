"""`make clean` removes what a build brings back; `make clean-state` says what it deletes, asks first."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"

STATE = (
    "labelstudio/label_studio.sqlite3",
    "skit.db",
    "demo-warehouse.db",
    "runs/r1/run.json",
    "artifacts/a.csv",
)
BUILD = ("build/fetch_calls_pipeline.yaml", ".pytest_cache/v/x", ".ruff_cache/x", "pkg/__pycache__/m.pyc")


def make(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SKIT_HOME", "MAKEFLAGS", "MAKELEVEL"}}
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(MAKEFILE), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    if shutil.which("make") is None:
        pytest.skip("no make on this machine")
    for name in (*STATE, *BUILD, ".venv/lib/__pycache__/keep.pyc"):
        path = tmp_path / (name if name.startswith(".venv") or name in BUILD else f".skit/{name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    return tmp_path


def test_clean_removes_build_outputs_and_caches_but_no_state(project: Path) -> None:
    result = make("clean", cwd=project)
    assert result.returncode == 0, result.stderr
    for name in ("build", ".pytest_cache", ".ruff_cache", "pkg/__pycache__"):
        assert not (project / name).exists(), name
    for name in STATE:
        assert (project / ".skit" / name).read_text() == "x", name
    assert (project / ".venv/lib/__pycache__/keep.pyc").exists()  # not ours to clean


def test_clean_state_lists_and_deletes_only_when_confirmed(project: Path) -> None:
    asked = make("clean-state", cwd=project)
    assert asked.returncode != 0
    for listed in (".skit/labelstudio", ".skit/skit.db", ".skit/runs", "CONFIRM=yes", "annotations"):
        assert listed in asked.stdout, listed
    assert all((project / ".skit" / name).exists() for name in STATE)

    done = make("clean-state", "CONFIRM=yes", cwd=project)
    assert done.returncode == 0, done.stderr
    assert not (project / ".skit").exists() and (project / "build").exists()
    again = make("clean-state", cwd=project)
    assert again.returncode == 0 and "nothing to delete" in again.stdout
