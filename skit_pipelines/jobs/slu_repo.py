"""Where an SLU project repository is and how to reach it: its URL, git credentials, the forge and DVC.

Why a module: ``retrain_slu``, ``evaluate_slu`` and ``skit-pipelines slu init`` resolve ``repo_name`` the same
way (against ``SKIT_SLU_REPO_BASE``, or a full URL/path as given) and pick credentials and the forge from the
same settings. The entry point reads the settings once and builds one :class:`SluConnections`; nothing here
reads settings, and no token ever reaches a message (the repr masks them, URLs are shown without userinfo).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.forge import UnknownForgeError, forge_kind, parse_remote
from skit_pipelines.forge.remote import default_api_url
from skit_pipelines.readpolicy import ReadRefusedError, current_policy
from skit_pipelines.vcs.dvc import executable
from skit_pipelines.vcs.git import GitCredentials
from skit_pipelines.vcs.redact import strip_url_credentials

__all__ = ["Forge", "InvalidRepoNameError", "SluConnections", "default_dvc_venv", "slu_connections_from"]

_REPO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class InvalidRepoNameError(SkitPipelinesError, ValueError):
    """A ``repo_name`` that is neither a project name, a URL nor a path."""


def default_dvc_venv() -> Path:
    """``.venv-dvc`` next to the package checkout (``make test`` creates it: DVC's pins clash with ours)."""
    return Path(__file__).resolve().parents[2] / ".venv-dvc"


@dataclass(frozen=True)
class Forge:
    """Where merge requests are opened: ``kind`` (gitlab/github), the API base URL and the token."""

    kind: str
    api_url: str
    token: str

    def __repr__(self) -> str:
        return f"Forge(kind={self.kind!r}, api_url={self.api_url!r}, token='***')"


def _host(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        return ""
    port = f":{parts.port}" if parts.port else ""
    return parts.hostname + port


def _is_location(name: str) -> bool:
    return "://" in name or name.startswith(("/", "~", ".", "git@")) or Path(name).is_absolute()


@dataclass(frozen=True)
class SluConnections:
    """What an SLU run needs from the settings: where repos live, tokens, the forge, DVC, Label Studio."""

    repo_base: str
    dvc: str = ""
    git_token: str = ""
    gitlab_url: str = ""
    gitlab_token: str = ""
    github_url: str = ""
    github_token: str = ""
    labelstudio_url: str = ""
    labelstudio_token: str = ""
    names_only: bool = False
    """Only project names under ``repo_base``: runs started through the API or Slack (a confined read policy)
    must not point a run, which clones and pushes, at any repository or folder the worker can reach."""

    def __repr__(self) -> str:  # a dataclass repr would print the tokens
        return f"SluConnections(repo_base={self.repo_base!r}, dvc={self.dvc!r}, tokens='***')"

    def secrets(self) -> list[str]:
        """Every token held (for redaction of anything that leaves the run)."""
        return [
            t for t in (self.git_token, self.gitlab_token, self.github_token, self.labelstudio_token) if t
        ]

    def dvc_program(self) -> str:
        """The ``dvc`` executable (a clear error with the install hint when there is none)."""
        return self.dvc or executable(default_dvc_venv())

    def repo_url(self, repo_name: str) -> str:
        """``repo_name`` as a clone URL or path: under ``repo_base``, or itself when it is a URL/path."""
        name = (repo_name or "").strip()
        if not name:
            raise InvalidRepoNameError("repo_name is empty: name the SLU project repository")
        if _is_location(name):
            if self.names_only:
                raise ReadRefusedError(
                    name,
                    "runs started through the API or Slack name a project under SKIT_SLU_REPO_BASE; a full "
                    "URL or path is for the CLI",
                    "repo_name",
                )
            return str(Path(name).expanduser()) if "://" not in name and not name.startswith("git@") else name
        if not _REPO_NAME.match(name) or ".." in name.split("/"):
            raise InvalidRepoNameError(
                f"repo_name {name!r} is not a project name (letters, digits, . _ - and / between parts), "
                "a URL or a path"
            )
        suffix = "" if name.endswith(".git") else ".git"
        base = self.repo_base.strip()
        if "://" in base:
            return f"{base.rstrip('/')}/{name}{suffix}"
        return str(Path(base).expanduser() / f"{name}{suffix}")

    def credentials(self, url: str) -> GitCredentials | None:
        """HTTPS credentials for ``url``: ``git_token``, else the token of the forge hosting it."""
        if urlsplit(url).scheme not in ("http", "https"):
            return None
        if self.git_token:
            return GitCredentials(self.git_token)
        forge = self.forge_for(url)
        if forge is None:
            return None
        return GitCredentials(forge.token, "x-access-token" if forge.kind == "github" else "oauth2")

    def forge_for(self, url: str) -> Forge | None:
        """The forge of the repository at ``url`` when one is configured with a token, else None.

        A configured ``gitlab_url``/``github_url`` whose host is the remote's host wins (a self-hosted forge
        with any host name); else the host name says (gitlab.com, github.com, gitlab.example.org).
        """
        try:
            project = parse_remote(url)
        except UnknownForgeError:
            return None  # a local folder: no forge
        for kind, api, token in (
            ("gitlab", self.gitlab_url, self.gitlab_token),
            ("github", self.github_url, self.github_token),
        ):
            if api and token and _host(api) == project.host:
                return Forge(kind, api.rstrip("/"), token)
        kind = forge_kind(project.host)
        token = {"gitlab": self.gitlab_token, "github": self.github_token}.get(kind or "", "")
        if kind is None or not token:
            return None
        configured = self.gitlab_url if kind == "gitlab" else self.github_url
        return Forge(kind, (configured or default_api_url(kind, project.host)).rstrip("/"), token)

    def shown(self, url: str) -> str:
        """``url`` as messages may show it (no userinfo)."""
        return strip_url_credentials(url)


def slu_connections_from(settings: Any) -> SluConnections:
    """The connections of an entry point's settings (:class:`skit_pipelines.config.Settings`).

    ``names_only`` follows this process's read policy: a step of an API or Slack run is confined.
    """

    def secret(value: Any) -> str:
        return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value or "")

    return SluConnections(
        repo_base=settings.effective_slu_repo_base,
        dvc=settings.dvc_executable,
        git_token=secret(settings.git_token),
        gitlab_url=settings.gitlab_url,
        gitlab_token=secret(settings.gitlab_token),
        github_url=settings.github_url,
        github_token=secret(settings.github_token),
        labelstudio_url=settings.labelstudio_url,
        labelstudio_token=secret(settings.labelstudio_token),
        names_only=current_policy().confined,
    )
