"""What the Retrain SLU tests share: the dvc program, tagged CSVs of the four test intents, a project made by
``slu init`` (its job), and a reviewer's merge. Plain functions: each test module defines its fixtures."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd

from skit_pipelines.jobs.slu_init import SluInitResult, init_project
from skit_pipelines.jobs.slu_repo import SluConnections, default_dvc_venv
from skit_pipelines.slu.project_config import SluProjectConfig
from skit_pipelines.vcs import dvc as dvc_ops
from skit_pipelines.vcs.errors import DvcNotInstalledError
from tests.conftest import skip_or_fail
from tests.model_fixtures import sentences, tagged_rows, write_csv
from tests.vcs_helpers import sh


def dvc_program() -> str:
    """The ``dvc`` of ``.venv-dvc`` (or PATH); skipped where there is none, a failure under CI=true."""
    try:
        return dvc_ops.executable(default_dvc_venv())
    except DvcNotInstalledError as exc:
        skip_or_fail(str(exc))
        raise


def rows(split: str, every: int, seed: int) -> pd.DataFrame:
    """A few dozen tagged rows of the four test intents (every ``every``-th sentence)."""
    return pd.DataFrame(tagged_rows(sentences(split)[::every], seed=seed))


def csv(tmp_path: Path, name: str, frame: pd.DataFrame) -> str:
    return write_csv(frame.to_dict("records"), tmp_path / name)


def connections(base: Path | str, dvc: str, **tokens: str) -> SluConnections:
    return SluConnections(repo_base=str(base), dvc=dvc, **tokens)


def new_project(
    tmp_path: Path, dvc: str, model: str, name: str = "client-bot", base: Path | None = None
) -> tuple[SluConnections, SluInitResult]:
    """``slu init NAME`` under ``base`` (default ``tmp_path/repos``): tiny model, one epoch, no data."""
    conn = connections(base or tmp_path / "repos", dvc)
    config = SluProjectConfig(model_name=model, epochs=1, batch_size=8, max_seq_length=32)
    result = init_project(name, conn, tmp_path / "home", config=config)
    return conn, result


def merge_into_master(remote: Path, branch: str) -> None:
    """A reviewer merges the merge request (fast-forward): master now holds the retrained model."""
    sh("update-ref", "refs/heads/master", f"refs/heads/{branch}", cwd=remote)


def refuse_pushes(remote: Path, reason: str) -> None:
    """A ``pre-receive`` hook in the bare repository that refuses every push with ``reason`` (what a
    protected branch or a server-side push rule does)."""
    hook = remote / "hooks" / "pre-receive"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(f"#!/bin/sh\necho '{reason}' >&2\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    assert os.access(hook, os.X_OK)
