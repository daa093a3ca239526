"""Retrain SLU from the command line, as a new user runs it: `slu init`, then `run retrain_slu` on the local
runner (two commands, offline), and `slu init --from-demo` on the demo warehouse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skit_pipelines.jobs.slu_repo import default_dvc_venv
from skit_pipelines.vcs import dvc as dvc_ops
from skit_pipelines.vcs.errors import DvcNotInstalledError
from tests.cli_runner import cli, flat
from tests.conftest import skip_or_fail
from tests.model_fixtures import sentences, tagged_rows, tiny_xlmr, write_csv
from tests.vcs_helpers import remote_branches, sh


@pytest.fixture(scope="module", autouse=True)
def dvc_installed() -> None:
    try:
        dvc_ops.executable(default_dvc_venv())
    except DvcNotInstalledError as exc:
        skip_or_fail(str(exc))


def test_slu_init_then_retrain_slu_on_the_local_runner(tmp_path: Path) -> None:
    model = tiny_xlmr(tmp_path / "tiny-xlmr")
    data = write_csv(tagged_rows(sentences("train")[::3]), tmp_path / "tagged.csv")
    home = Path(os.environ["SKIT_HOME"])

    created = cli("slu", "init", "client-bot", "--model-name", model, "--epochs", "1")
    assert created.returncode == 0, created.stderr
    assert "initial_training=true" in flat(created.stdout)
    remote = home / "slu-repos" / "client-bot.git"
    assert remote_branches(remote) == {"master"}

    again = cli("slu", "init", "client-bot")
    assert again.returncode == 2 and "already exists" in flat(again.stderr)

    run = cli(
        "run",
        "retrain_slu",
        "-p",
        "repo_name=client-bot",
        "-p",
        "initial_training=true",
        "-p",
        f"dataset_path={data}",
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    branches = remote_branches(remote) - {"master"}
    assert len(branches) == 1
    (branch,) = branches
    tree = sh("ls-tree", "--name-only", branch, cwd=remote).split()
    assert {"data.dvc", "slu.yaml", ".dvc"} <= set(tree)


def test_slu_init_from_the_demo_warehouse(tmp_path: Path) -> None:
    made = cli("demo-data", "--calls", "60", "--days", "2")
    assert made.returncode == 0, made.stderr
    created = cli("slu", "init", "demo-bot", "--from-demo")
    assert created.returncode == 0, created.stderr
    assert "train /" in flat(created.stdout) and "initial_training=true" not in flat(created.stdout)
    remote = Path(os.environ["SKIT_HOME"]) / "slu-repos" / "demo-bot.git"
    assert "data.dvc" in sh("ls-tree", "--name-only", "master", cwd=remote).split()
    bad = cli("slu", "init", "other", "--from-csv", str(tmp_path / "missing.csv"))
    assert bad.returncode == 2 and not (Path(os.environ["SKIT_HOME"]) / "slu-repos" / "other.git").exists()
