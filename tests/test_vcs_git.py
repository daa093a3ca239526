"""Git operations on real repositories: a bare remote on disk, and a fake GitLab serving git over HTTP."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
from pathlib import Path

import pytest

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.vcs import git
from skit_pipelines.vcs.errors import GitBranchNotFoundError, GitError, InvalidBranchNameError
from skit_pipelines.vcs.git import GitCredentials, clone, timestamp_branch
from skit_pipelines.vcs.redact import MASK, Redactor, basic_auth_value, strip_url_credentials
from tests.fakes.gitlab import FakeGitLab
from tests.vcs_helpers import BOT, bare_remote, remote_branches, sh


def test_branch_name_is_the_utc_time_in_the_reference_format() -> None:
    ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
    assert timestamp_branch(dt.datetime(2026, 11, 29, 5, 0, 7, tzinfo=ist)) == "2026-11-28-23-30-07"
    assert timestamp_branch(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02-03-04-05"  # naive = UTC
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    now = dt.datetime.strptime(timestamp_branch(), git.BRANCH_TIME_FORMAT).replace(tzinfo=dt.timezone.utc)
    assert before <= now <= before + dt.timedelta(seconds=5)


def test_clone_branch_commit_push_round_trip(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path, branch="master")
    repo = clone(str(remote), tmp_path / "work")
    assert repo.remote_branch_exists("master")
    assert not repo.remote_branch_exists("sandbox")
    assert repo.default_branch() == "master"

    repo.create_branch("2026-11-29-23-05-39", base="master")
    assert repo.current_branch == "2026-11-29-23-05-39"
    (repo.path / "slu.yaml").write_text("epochs: 3\n")
    repo.add("slu.yaml")
    commit = repo.commit("Trained a model", BOT)
    repo.push("2026-11-29-23-05-39")

    assert remote_branches(remote) == {"master", "2026-11-29-23-05-39"}
    shown = sh("log", "-1", "--format=%H|%an|%ae|%cn|%ce|%s", "2026-11-29-23-05-39", cwd=remote).strip()
    assert (
        shown
        == f"{commit}|automation|automation@example.org|automation|automation@example.org|Trained a model"
    )
    assert sh("show", "2026-11-29-23-05-39:slu.yaml", cwd=remote) == "epochs: 3\n"
    assert sh("show", "master:slu.yaml", cwd=remote) == "epochs: 1\n"  # the base is untouched


def test_default_branch_is_what_the_remote_says(tmp_path: Path) -> None:
    assert git.default_branch(str(bare_remote(tmp_path, "a.git", branch="main"))) == "main"
    assert git.default_branch(str(bare_remote(tmp_path, "b.git", branch="production"))) == "production"


def test_unknown_branch_and_unknown_repo_fail_clearly(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    repo = clone(str(remote), tmp_path / "work")
    with pytest.raises(GitBranchNotFoundError, match=r"branch 'nope' does not exist in .*project\.git"):
        repo.checkout("nope")
    with pytest.raises(GitBranchNotFoundError):
        repo.create_branch("new", base="nope")
    for bad in ("-f", "a..b", "with space", ""):
        with pytest.raises(InvalidBranchNameError, match="not a valid branch name"):
            repo.checkout(bad)
        with pytest.raises(InvalidBranchNameError):
            repo.create_branch(bad, base="master")
    assert repo.current_branch == "master"
    with pytest.raises(GitError, match=r"git clone .*missing\.git.*failed"):
        clone(str(tmp_path / "missing.git"), tmp_path / "other")
    with pytest.raises(GitError, match="ls-remote"):
        git.remote_branch_exists(str(tmp_path / "missing.git"), "master")


def test_a_branch_that_exists_on_the_remote_is_not_created_again(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    first = clone(str(remote), tmp_path / "one")
    first.create_branch("2026-01-01-00-00-00", base="master")
    first.push("2026-01-01-00-00-00")
    second = clone(str(remote), tmp_path / "two")
    with pytest.raises(GitError, match="already exists"):
        second.create_branch("2026-01-01-00-00-00", base="master")


def test_a_rejected_push_raises_with_the_reason(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    one, two = clone(str(remote), tmp_path / "one"), clone(str(remote), tmp_path / "two")
    for repo, text in ((one, "a"), (two, "b")):
        (repo.path / "slu.yaml").write_text(text)
        repo.add("slu.yaml")
        repo.commit(f"edit {text}", BOT)
    one.push("master")
    with pytest.raises(GitError, match="rejected") as caught:
        two.push("master")
    assert isinstance(caught.value, SkitPipelinesError)
    assert sh("show", "master:slu.yaml", cwd=remote) == "a"


# ------------------------------------------------------------------------------------ secrets stay secret


def test_redactor_masks_tokens_their_basic_form_and_url_credentials() -> None:
    redact = Redactor(["tok-123"], username="oauth2")
    text = f"a tok-123 b {basic_auth_value('oauth2', 'tok-123')} c https://u:other@host/x"
    assert redact(text) == f"a {MASK} b {MASK} c https://{MASK}@host/x"
    assert strip_url_credentials("ssh://git@host/x and http://h/y") == f"ssh://{MASK}@host/x and http://h/y"


def test_credentials_in_a_url_are_moved_out_of_it() -> None:
    url, creds = git.split_credentials("https://oauth2:s%2Fecret@gitlab.example/g/r.git")
    assert url == "https://gitlab.example/g/r.git"
    assert creds == GitCredentials(token="s/ecret", username="oauth2")
    assert "s/ecret" not in repr(creds)
    assert git.split_credentials("/srv/repos/r.git") == ("/srv/repos/r.git", None)


@pytest.fixture
def gitlab_git(tmp_path: Path):
    repos = tmp_path / "served"
    bare_remote(repos / "slu", "client.git")
    with FakeGitLab(repos=repos) as server:
        yield server


def test_clone_and_push_over_http_send_the_token_only_in_a_header(
    gitlab_git: FakeGitLab, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = gitlab_git.token
    url = f"{gitlab_git.base_url}/slu/client.git"
    creds = GitCredentials(token=token)
    assert git.remote_branch_exists(url, "master", credentials=creds)
    repo = clone(
        f"{gitlab_git.base_url.replace('http://', f'http://oauth2:{token}@')}/slu/client.git",
        tmp_path / "work",
    )
    assert repo.credentials == creds  # moved out of the URL ...
    assert repo.remote_url == url  # ... which git stored without them
    repo.create_branch("2026-11-29-00-00-00", base="master")
    (repo.path / "new.txt").write_text("x")
    repo.add("new.txt")
    repo.commit("x", BOT)
    repo.push("2026-11-29-00-00-00")
    assert "2026-11-29-00-00-00" in remote_branches(gitlab_git.repos / "slu" / "client.git")

    assert f"Basic {basic_auth_value('oauth2', token)}" in gitlab_git.git_auth
    stored = subprocess.run(
        ["git", "config", "--list", "--show-origin"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert token not in stored and basic_auth_value("oauth2", token) not in stored
    assert all(token not in r.getMessage() for r in caplog.records)


def test_a_wrong_token_fails_without_showing_any_token(
    gitlab_git: FakeGitLab, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    planted = "glpat-PLANTED-secret-value"
    url = f"{gitlab_git.base_url}/slu/client.git"
    failures: list[GitError] = []
    for attempt in (
        lambda: clone(url, tmp_path / "a", credentials=GitCredentials(planted)),
        lambda: clone(url.replace("http://", f"http://oauth2:{planted}@"), tmp_path / "b"),
        lambda: git.remote_branch_exists(url, "master", credentials=GitCredentials(planted)),
        lambda: git.default_branch(url, credentials=GitCredentials(planted)),
    ):
        with pytest.raises(GitError) as caught:
            attempt()
        failures.append(caught.value)
    assert f"Basic {basic_auth_value('oauth2', planted)}" in gitlab_git.git_auth  # it was really sent
    encoded = basic_auth_value("oauth2", planted)
    texts = [str(e) for e in failures] + [r.getMessage() for r in caplog.records]
    assert any("401" in t or "Authentication failed" in t or "could not read" in t for t in texts)
    for text in texts:
        assert planted not in text and encoded not in text


def test_the_auth_header_is_scoped_to_the_remote_host() -> None:
    creds = GitCredentials("tok-abc")
    env = git.git_env(creds, {}, url="https://oauth2:x@gitlab.example.org:8443/g/r.git")
    assert env["GIT_CONFIG_COUNT"] == "1"
    assert env["GIT_CONFIG_KEY_0"] == "http.https://gitlab.example.org:8443/.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"] == f"Authorization: Basic {basic_auth_value('oauth2', 'tok-abc')}"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    kept = git.git_env(creds, {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "a.b", "GIT_CONFIG_VALUE_0": "c"})
    assert kept["GIT_CONFIG_COUNT"] == "2" and kept["GIT_CONFIG_KEY_0"] == "a.b"
    assert kept["GIT_CONFIG_KEY_1"] == "http.extraHeader"  # a local path: nothing to scope to
    assert "GIT_CONFIG_COUNT" not in git.git_env(None, {})


def test_a_branch_pushed_after_the_clone_can_be_checked_out(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    repo = clone(str(remote), tmp_path / "work")
    other = clone(str(remote), tmp_path / "other")
    other.create_branch("later", base="master")
    other.push("later")
    repo.checkout("later")
    assert repo.current_branch == "later"
