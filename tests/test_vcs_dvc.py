"""DVC on real repositories: a local-folder remote, an S3 remote on the moto server, and the publish rule
(a branch is pushed only once its data is in the DVC remote)."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest

from skit_pipelines.vcs import dvc as dvc_ops
from skit_pipelines.vcs.dvc import DataState, Dvc, check_state
from skit_pipelines.vcs.errors import DvcError, DvcNotInstalledError, DvcStateError, PublishError
from skit_pipelines.vcs.git import GitCredentials, GitRepo, clone
from skit_pipelines.vcs.publish import publish
from skit_pipelines.vcs.redact import basic_auth_value
from tests.conftest import free_port, skip_or_fail
from tests.fakes.gitlab import FakeGitLab
from tests.vcs_helpers import BOT, bare_remote, remote_branches, sh

ROOT = Path(__file__).resolve().parents[1]
BRANCH = "2026-11-29-23-05-39"
TRAIN = "text,tag\nhello,_greet_\nbye,_bye_\n"


@pytest.fixture(scope="module")
def dvc_exe() -> str:
    try:
        return dvc_ops.executable(ROOT / ".venv-dvc")
    except DvcNotInstalledError as exc:
        skip_or_fail(str(exc))
        raise


def first_training(
    tmp_path: Path, dvc_exe: str, remote_url: str, *, endpoint_url: str | None = None
) -> tuple[Path, GitRepo, Dvc]:
    """A cloned project on a new branch with DVC initialised, a remote set and data/ tracked (not pushed)."""
    origin = bare_remote(tmp_path)
    repo = clone(str(origin), tmp_path / "work")
    assert check_state(repo.path, initial_training=True) is DataState.INITIAL
    repo.create_branch(BRANCH, base="master")
    dvc = Dvc(repo.path, dvc=dvc_exe)
    dvc.init()
    dvc.add_remote(remote_url, endpoint_url=endpoint_url)
    datasets = repo.path / "data" / "classification" / "datasets"
    datasets.mkdir(parents=True)
    (datasets / "train.csv").write_text(TRAIN)
    dvc.add("data")
    return origin, repo, dvc


def test_state_check_names_the_mismatch(tmp_path: Path) -> None:
    assert check_state(tmp_path, initial_training=True) is DataState.INITIAL
    with pytest.raises(DvcStateError, match="initial_training is false but .* no data.dvc"):
        check_state(tmp_path, initial_training=False)
    (tmp_path / "data.dvc").write_text("outs: []\n")
    assert check_state(tmp_path, initial_training=False) is DataState.RETRAIN
    with pytest.raises(DvcStateError, match="initial_training is true but .* already has data.dvc"):
        check_state(tmp_path, initial_training=True)


def test_missing_dvc_executable_says_how_to_install_it(
    tmp_path: Path, dvc_exe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DvcNotInstalledError, match="venv-dvc"):
        dvc_ops.run_dvc(["version"], cwd=tmp_path, dvc=str(tmp_path / "no-dvc-here"))
    assert dvc_ops.executable(Path(dvc_exe).parents[1]) == dvc_exe
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DvcNotInstalledError, match=r"no dvc executable in .*/bin nor on PATH.*venv-dvc"):
        dvc_ops.executable(tmp_path / "empty-venv")


@pytest.mark.slow
def test_publish_with_a_local_remote_then_pull_and_get_it_back(tmp_path: Path, dvc_exe: str) -> None:
    storage = tmp_path / "dvc-storage"
    origin, repo, dvc = first_training(tmp_path, dvc_exe, str(storage))
    commit = publish(repo, dvc, BRANCH, "Trained on 2 rows", BOT)

    assert remote_branches(origin) == {"master", BRANCH}
    tracked = set(sh("ls-tree", "-r", "--name-only", BRANCH, cwd=origin).split())
    assert {"data.dvc", ".dvc/config", ".gitignore", "slu.yaml"} <= tracked
    assert not any(name.startswith("data/") for name in tracked)  # the data itself stays out of git
    assert sh("log", "-1", "--format=%H %an %s", BRANCH, cwd=origin).strip() == (
        f"{commit} automation Trained on 2 rows"
    )
    assert any(storage.rglob("*")), "dvc push put nothing in the remote"

    other = clone(str(origin), tmp_path / "reviewer")
    other.checkout(BRANCH)
    assert check_state(other.path, initial_training=False) is DataState.RETRAIN
    Dvc(other.path, dvc=dvc_exe).pull()
    assert (other.path / "data/classification/datasets/train.csv").read_text() == TRAIN

    got = dvc_ops.get(str(origin), "data", tmp_path / "prod" / "data", rev=BRANCH, dvc=dvc_exe)
    assert (got / "classification/datasets/train.csv").read_text() == TRAIN
    with pytest.raises(DvcError, match="dvc get"):
        dvc_ops.get(str(origin), "data", tmp_path / "none", rev="no-such-branch", dvc=dvc_exe)


@pytest.mark.slow
def test_publish_with_an_s3_remote_on_moto(
    tmp_path: Path, dvc_exe: str, s3_bucket: str, moto_endpoint: str
) -> None:
    url = f"s3://{s3_bucket}/clients/project"
    origin, repo, dvc = first_training(tmp_path, dvc_exe, url, endpoint_url=moto_endpoint)
    publish(repo, dvc, BRANCH, "Trained", BOT)

    listed = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").list_objects_v2(
        Bucket=s3_bucket, Prefix="clients/project/"
    )
    assert listed.get("KeyCount", 0) >= 2  # the train.csv object and the directory manifest
    assert f"endpointurl = {moto_endpoint}" in sh("show", f"{BRANCH}:.dvc/config", cwd=origin)

    other = clone(str(origin), tmp_path / "reviewer")
    other.checkout(BRANCH)
    Dvc(other.path, dvc=dvc_exe).pull()
    assert (other.path / "data/classification/datasets/train.csv").read_text() == TRAIN


@pytest.mark.slow
def test_a_failed_dvc_push_to_a_broken_remote_pushes_no_branch(tmp_path: Path, dvc_exe: str) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the remote's parent folder should be")
    origin, repo, dvc = first_training(tmp_path, dvc_exe, str(blocker / "storage"))
    head = repo.head()
    with pytest.raises(PublishError, match=f"dvc push failed, so branch '{BRANCH}' was not pushed"):
        publish(repo, dvc, BRANCH, "Trained", BOT)
    assert remote_branches(origin) == {"master"}
    assert repo.head() == head  # not even committed locally


@pytest.mark.slow
def test_a_failed_dvc_push_to_an_unreachable_s3_pushes_no_branch(
    tmp_path: Path, dvc_exe: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "aws-secret-PLANTED-value"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    origin, repo, _ = first_training(tmp_path, dvc_exe, f"s3://{s3_bucket}/x", endpoint_url=closed)
    dvc = Dvc(repo.path, dvc=dvc_exe, secrets=[os.environ["AWS_SECRET_ACCESS_KEY"]], timeout=300)
    with pytest.raises(PublishError, match="dvc push failed") as caught:
        publish(repo, dvc, BRANCH, "Trained", BOT)
    assert secret not in str(caught.value)
    assert remote_branches(origin) == {"master"}


@pytest.mark.slow
def test_a_rejected_git_push_after_the_data_says_what_was_pushed(tmp_path: Path, dvc_exe: str) -> None:
    origin, repo, dvc = first_training(tmp_path, dvc_exe, str(tmp_path / "storage"))
    rival = clone(str(origin), tmp_path / "rival")
    rival.create_branch(BRANCH, base="master")
    (rival.path / "other.txt").write_text("x")
    rival.add("other.txt")
    rival.commit("rival", BOT)
    rival.push(BRANCH)
    with pytest.raises(PublishError, match="data is in the DVC remote but branch .* was not pushed"):
        publish(repo, dvc, BRANCH, "Trained", BOT)
    assert sh("show", f"{BRANCH}:other.txt", cwd=origin) == "x"  # the rival's branch is untouched


@pytest.mark.slow
def test_publish_refuses_another_branch(tmp_path: Path, dvc_exe: str) -> None:
    origin, repo, dvc = first_training(tmp_path, dvc_exe, str(tmp_path / "storage"))
    with pytest.raises(PublishError, match="working copy is on"):
        publish(repo, dvc, "master", "Trained", BOT)
    assert remote_branches(origin) == {"master"}


@pytest.mark.slow
def test_get_over_http_authenticates_with_the_token_in_a_header(tmp_path: Path, dvc_exe: str) -> None:
    """The production model is read with ``dvc get --rev`` from the forge; DVC's own git clone gets the token
    the same way as ours (environment, not URL), and a wrong token fails without showing it."""
    repos = tmp_path / "served"
    bare_remote(repos / "slu", "client.git")
    with FakeGitLab(repos=repos) as gitlab:
        url = f"{gitlab.base_url}/slu/client.git"
        creds = GitCredentials(gitlab.token)
        repo = clone(url, tmp_path / "work", credentials=creds)
        repo.create_branch(BRANCH, base="master")
        dvc = Dvc(repo.path, dvc=dvc_exe, credentials=creds)
        dvc.init()
        dvc.add_remote(str(tmp_path / "storage"))
        (repo.path / "data").mkdir()
        (repo.path / "data" / "train.csv").write_text(TRAIN)
        dvc.add("data")
        publish(repo, dvc, BRANCH, "Trained", BOT)

        got = dvc_ops.get(url, "data", tmp_path / "prod", rev=BRANCH, dvc=dvc_exe, credentials=creds)
        assert (got / "train.csv").read_text() == TRAIN

        planted = GitCredentials("glpat-PLANTED-for-dvc")
        with pytest.raises(DvcError, match="dvc get") as caught:
            dvc_ops.get(url, "data", tmp_path / "denied", rev=BRANCH, dvc=dvc_exe, credentials=planted)
        assert planted.token not in str(caught.value)
        assert basic_auth_value(planted.username, planted.token) not in str(caught.value)
        assert f"Basic {basic_auth_value(planted.username, planted.token)}" in gitlab.git_auth
