"""``skit-pipelines slu init NAME``: a working SLU project repository on this machine, offline.

Why: ``retrain_slu`` needs a git repository with ``slu.yaml`` and a DVC remote before it can run. On a team's
setup that is a GitLab project and an S3 bucket; on a laptop this creates both locally so that a new user gets
from nothing to a reviewed model change in two commands (``slu init``, then ``run retrain_slu``):

- a bare git repository ``<SKIT_SLU_REPO_BASE>/<NAME>.git`` (the "remote"), branch ``master``;
- a DVC remote folder ``<SKIT_HOME>/slu-dvc/<NAME>``, named in the committed ``.dvc/config``;
- ``slu.yaml`` with every field written (``model_name`` and ``epochs`` as given);
- with a tagged dataset (``--from-csv`` or the demo warehouse's turns), its first tags, split 85/15 into
  ``data/classification/datasets/{train,test}.csv``, tracked as ``data.dvc`` and pushed to the DVC remote:
  then retrain with ``initial_training=false``. Without one, the first ``retrain_slu`` run is the initial
  training (``initial_training=true``).

An existing repository (or DVC remote folder) is never overwritten: that is an error naming it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.jobs.slu_repo import SluConnections
from skit_pipelines.slu.dataset_prep import PreparationOptions, prepare_datasets
from skit_pipelines.slu.layout import SluLayout
from skit_pipelines.slu.project_config import SluProjectConfig, dump_project_config
from skit_pipelines.vcs.dvc import Dvc
from skit_pipelines.vcs.git import Author, clone, run_git
from skit_pipelines.vcs.publish import DVC_FILES

__all__ = ["SluInitError", "SluInitResult", "init_project"]

AUTHOR = Author("automation", "automation@skit.ai")
BRANCH = "master"


class SluInitError(SkitPipelinesError, ValueError):
    """The project cannot be created here (it exists, or the repo base is not a local folder)."""


@dataclass(frozen=True)
class SluInitResult:
    repo: Path
    dvc_remote: str
    train_rows: int
    test_rows: int
    intents: int

    @property
    def initial_training(self) -> bool:
        """What the first ``retrain_slu`` run must say: true when no data was committed."""
        return self.train_rows == 0


def init_project(
    name: str,
    connections: SluConnections,
    home: Path,
    *,
    data: pd.DataFrame | None = None,
    data_name: str = "tagged data",
    config: SluProjectConfig | None = None,
    dvc_remote: str = "",
    dvc_endpoint_url: str = "",
) -> SluInitResult:
    """Create the project (see the module docstring); ``data`` is a tagged dataset frame or None.

    ``dvc_remote`` (e.g. ``s3://bucket/clients/<name>``, with ``dvc_endpoint_url`` for an S3-compatible
    server) replaces the local DVC remote folder.
    """
    if "://" in connections.repo_base:
        raise SluInitError(
            f"SKIT_SLU_REPO_BASE is a URL ({connections.shown(connections.repo_base)}): slu init creates "
            "local repositories only; create the project on your forge and push an slu.yaml there"
        )
    repo = Path(connections.repo_url(name))
    local_remote = (Path(home) / "slu-dvc" / name).resolve()
    targets = [(repo, "repository")] + ([] if dvc_remote else [(local_remote, "DVC remote folder")])
    for path, what in targets:
        if path.exists():
            raise SluInitError(
                f"SLU project {name!r} already exists: {what} {path} is there (not overwritten)"
            )
    repo.parent.mkdir(parents=True, exist_ok=True)
    run_git(["init", "--quiet", "--bare", "-b", BRANCH, str(repo)])
    if not dvc_remote:
        local_remote.mkdir(parents=True)
    counts = (0, 0, 0)
    with tempfile.TemporaryDirectory(prefix="skit-slu-init-") as scratch:
        checkout = clone(str(repo), Path(scratch) / "repo")
        checkout.git("checkout", "--quiet", "-b", BRANCH)
        layout = SluLayout(checkout.path)
        layout.config_file.write_text(dump_project_config(config or SluProjectConfig()), encoding="utf-8")
        dvc = Dvc(checkout.path, dvc=connections.dvc_program())
        dvc.init()
        dvc.add_remote(dvc_remote or str(local_remote), endpoint_url=dvc_endpoint_url or None)
        if data is not None:
            prepared = prepare_datasets([(data_name, data)], PreparationOptions(use_previous_dataset=False))
            layout.datasets_dir.mkdir(parents=True, exist_ok=True)
            prepared.train.to_csv(layout.train_csv, index=False)
            prepared.test.to_csv(layout.test_csv, index=False)
            dvc.add("data")
            counts = (len(prepared.train), len(prepared.test), len(prepared.report.intents))
            # the data reaches the DVC remote before the branch names it (as vcs.publish does; publish itself
            # needs a branch with a commit, and this is the first one)
            dvc.push()
            message = f"SLU project {name}: {prepared.report.summary()}"
        else:
            message = f"SLU project {name}: slu.yaml and DVC remote"
        present = [p for p in (*DVC_FILES, "slu.yaml") if (checkout.path / p).exists()]
        checkout.add(*present)
        checkout.commit(message, AUTHOR)
        checkout.push(BRANCH)
    return SluInitResult(repo, dvc_remote or str(local_remote), *counts)


def demo_tagged_rows(warehouse_url: str, limit: int = 300) -> pd.DataFrame:
    """Tagged rows from the demo warehouse: each turn's n-best as ``alternatives``, its demo truth as ``tag``.

    The demo warehouse keeps the true intent of every simulated turn (the demo annotator's truth); turns
    without one are left out. The first ``limit`` turns in id order: the same warehouse, the same rows.
    """
    import json

    import sqlalchemy as sa

    from skit_pipelines.annotation.demo_annotator import TRUE_INTENT_KEY
    from skit_pipelines.warehouse.schema import open_warehouse, turns

    engine = open_warehouse(warehouse_url)
    query = sa.select(turns.c.uuid, turns.c.state, turns.c.utterances, turns.c.context, turns.c.intent)
    out = []
    with engine.connect() as connection:
        for row in connection.execute(query.order_by(turns.c.id)):
            context = row.context if isinstance(row.context, dict) else {}
            truth = context.get(TRUE_INTENT_KEY)
            if not truth or not row.utterances:
                continue
            out.append(
                {
                    "conversation_uuid": row.uuid,
                    "alternatives": json.dumps(row.utterances),
                    "state": row.state or "",
                    "tag": truth,
                    "raw.intent": row.intent or "",
                }
            )
            if len(out) >= limit:
                break
    engine.dispose()
    if not out:
        raise SluInitError(
            f"the demo warehouse ({warehouse_url}) has no turns with a demo truth: run "
            "`skit-pipelines demo-data` first"
        )
    return pd.DataFrame(out)
