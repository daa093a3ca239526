"""Where an SLU project repository is and how it is reached: names, URLs, credentials, forges; the request."""

from __future__ import annotations

from pathlib import Path

import pytest

from skit_pipelines.config import Settings
from skit_pipelines.jobs.retrain_slu import retrain_request_from
from skit_pipelines.jobs.slu_repo import InvalidRepoNameError, SluConnections, slu_connections_from


def test_repo_names_resolve_under_the_base_and_urls_or_paths_stay_as_given(tmp_path: Path) -> None:
    local = SluConnections(repo_base=str(tmp_path))
    assert local.repo_url("client-bot") == str(tmp_path / "client-bot.git")
    assert local.repo_url("group/bot.git") == str(tmp_path / "group" / "bot.git")
    assert local.repo_url("/srv/repos/x.git") == "/srv/repos/x.git"
    hosted = SluConnections(repo_base="https://gitlab.com/skit-ai/slu/project-configs/")
    assert hosted.repo_url("acme") == "https://gitlab.com/skit-ai/slu/project-configs/acme.git"
    assert hosted.repo_url("https://github.com/acme/bot.git") == "https://github.com/acme/bot.git"
    for bad in ("", "group/../etc", "-rf", "a b"):
        with pytest.raises(InvalidRepoNameError):
            hosted.repo_url(bad)


def test_forge_and_credentials_come_from_the_settings_never_from_a_local_path() -> None:
    conn = SluConnections(
        repo_base="",
        gitlab_url="http://127.0.0.1:8929",
        gitlab_token="glpat-secret",
        github_token="ghp-secret",
    )
    self_hosted = conn.forge_for("http://127.0.0.1:8929/skit-ai/slu/bot.git")
    assert self_hosted is not None and (self_hosted.kind, self_hosted.api_url) == (
        "gitlab",
        "http://127.0.0.1:8929",
    )
    github = conn.forge_for("https://github.com/acme/bot.git")
    assert github is not None and (github.kind, github.api_url) == ("github", "https://api.github.com")
    assert conn.forge_for("/srv/repos/bot.git") is None
    assert conn.forge_for("https://git.example.org/g/bot.git") is None  # unknown host, no setting
    assert conn.credentials("/srv/repos/bot.git") is None
    creds = conn.credentials("https://github.com/acme/bot.git")
    assert creds is not None and (creds.username, creds.token) == ("x-access-token", "ghp-secret")
    assert "secret" not in repr(conn) + repr(self_hosted) + repr(creds)
    with_git_token = SluConnections(repo_base="", git_token="git-secret", gitlab_token="glpat-secret")
    assert with_git_token.credentials("https://gitlab.com/g/bot.git").token == "git-secret"


def test_connections_from_settings(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, gitlab_token="glpat-x", dvc_executable="/opt/dvc/bin/dvc")
    conn = slu_connections_from(settings)
    assert conn.repo_base == str((tmp_path / "slu-repos").resolve())
    assert conn.gitlab_token == "glpat-x" and conn.dvc_program() == "/opt/dvc/bin/dvc"
    assert "glpat-x" not in " ".join(value for _name, value, _doc in settings.describe())


def test_the_request_of_the_pipeline_parameters() -> None:
    request = retrain_request_from(
        {
            "repo_name": " client-bot ",
            "dataset_path": "a.csv, s3://b/c.csv",
            "labelstudio_project_ids": "12",
            "job_ids": "13",
            "job_start_date": "2026-11-01",
            "timezone": "Asia/Kolkata",
            "remove_intents": "greet, bye",
            "epochs": 3,
            "core_slu_repo_name": "core-slu-service",
        }
    )
    assert request.repo_name == "client-bot" and request.dataset_paths == ("a.csv", "s3://b/c.csv")
    assert request.download is not None and sorted(request.download.project_ids) == [12, 13]
    assert request.download.window.describe()  # the window was read in Asia/Kolkata
    assert request.remove_intents == ("greet", "bye") and request.epochs == 3
    assert retrain_request_from({"repo_name": "x"}).download is None
    evaluate = retrain_request_from(
        {"repo_name": "x", "test_dataset_path": "t.csv", "compare_branch": "prod"}
    )
    assert evaluate.custom_test_dataset_paths == ("t.csv",) and evaluate.production_branch == "prod"
