"""Git operations on an SLU project repository, through the ``git`` CLI.

Why the CLI rather than GitPython/dulwich: DVC itself drives the same repository and expects a normal git
checkout; the CLI is what users run by hand, so a failing command in our error message can be re-run as is.

GitCredentials never enter a URL: a token is sent as an ``Authorization: Basic`` header that git reads from
``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` environment variables (git >= 2.31), so it is
neither stored in ``.git/config`` nor visible on a command line, and every message passes through a
:class:`~skit_pipelines.vcs.redact.Redactor` that knows the token. A URL that arrives with ``user:token@`` is
split into a clean URL and credentials by :func:`split_credentials`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from skit_pipelines.vcs.errors import GitBranchNotFoundError, GitError, InvalidBranchNameError
from skit_pipelines.vcs.redact import Redactor, basic_auth_value

log = logging.getLogger(__name__)

#: The reference names a retraining branch by the UTC time it was made, e.g. ``2026-11-29-23-05-39``.
BRANCH_TIME_FORMAT = "%Y-%m-%d-%H-%M-%S"
DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class GitCredentials:
    """An HTTPS token and the user name sent with it (GitLab takes ``oauth2``, GitHub ``x-access-token``)."""

    token: str
    username: str = "oauth2"

    def __repr__(self) -> str:  # a dataclass repr would print the token
        return f"GitCredentials(username={self.username!r}, token='***')"


@dataclass(frozen=True)
class Author:
    """Who commits (the reference used ``automation <automation@skit.ai>``)."""

    name: str
    email: str


def timestamp_branch(now: dt.datetime | None = None) -> str:
    """The branch name for a run started at ``now`` (UTC; a naive time is taken as UTC)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    return now.astimezone(dt.timezone.utc).strftime(BRANCH_TIME_FORMAT)


def split_credentials(url: str) -> tuple[str, GitCredentials | None]:
    """``https://user:tok@host/r.git`` → (``https://host/r.git``, GitCredentials(tok, user)); others as is."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, token = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    if not token:  # only a user name: nothing secret to move
        return clean, None
    return clean, GitCredentials(token=unquote(token), username=unquote(user) or "oauth2")


def git_env(
    credentials: GitCredentials | None, base: Mapping[str, str] | None = None, *, url: str | None = None
) -> dict[str, str]:
    """The environment a git (or DVC, which runs git) command needs: no prompt, and the auth header if any.

    With an http(s) ``url`` the header is scoped to that scheme, host and port (``http.<url>.extraHeader``),
    so the token is never sent to another host (a submodule, a redirect elsewhere).
    """
    env = dict(os.environ if base is None else base)
    env["GIT_TERMINAL_PROMPT"] = "0"  # a missing credential fails at once instead of waiting for a TTY
    env.pop("GIT_ASKPASS", None)
    env.pop("SSH_ASKPASS", None)
    if credentials is not None:
        count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
        env["GIT_CONFIG_COUNT"] = str(count + 1)
        env[f"GIT_CONFIG_KEY_{count}"] = header_key(url)
        auth = basic_auth_value(credentials.username, credentials.token)
        env[f"GIT_CONFIG_VALUE_{count}"] = f"Authorization: Basic {auth}"
    return env


def header_key(url: str | None) -> str:
    """``http.<scheme>://<host[:port]>/.extraHeader`` for an http(s) URL, else the unscoped key."""
    parts = urlsplit(url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"http.{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/.extraHeader"
    return "http.extraHeader"


def check_branch_name(name: str) -> None:
    """Refuse what git would not take as a branch name (or would read as an option, like ``-f``)."""
    if not name or name.startswith("-"):
        raise InvalidBranchNameError(f"{name!r} is not a valid branch name")
    try:
        run_git(["check-ref-format", "--branch", name])
    except GitError:
        raise InvalidBranchNameError(f"{name!r} is not a valid branch name") from None


def redactor_for(credentials: GitCredentials | None) -> Redactor:
    if credentials is None:
        return Redactor()
    return Redactor([credentials.token], username=credentials.username)


def run_git(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    credentials: GitCredentials | None = None,
    url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Run ``git args`` and return its stdout; a failure raises :class:`GitError` with redacted output.

    ``url`` is the remote the command talks to (the credentials are sent to that host only).
    """
    redact = redactor_for(credentials)
    shown = redact(" ".join(["git", *args]))
    log.info("%s", shown)
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=git_env(credentials, url=url),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("the git command is not installed (it is needed for SLU project repos)") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"`{shown}` did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        output = redact((done.stderr or done.stdout).strip())
        raise GitError(f"`{shown}` failed (exit {done.returncode}): {output}")
    return done.stdout


def remote_branch_exists(url: str, branch: str, *, credentials: GitCredentials | None = None) -> bool:
    """Whether ``branch`` exists on the remote at ``url`` (``git ls-remote``); unreachable raises."""
    out = run_git(
        ["ls-remote", "--heads", "--", url, f"refs/heads/{branch}"], credentials=credentials, url=url
    )
    return any(line.endswith(f"\trefs/heads/{branch}") for line in out.splitlines())


def default_branch(url: str, *, credentials: GitCredentials | None = None) -> str:
    """The branch the remote's HEAD points to (what a plain clone checks out), e.g. ``main``."""
    out = run_git(["ls-remote", "--symref", "--", url, "HEAD"], credentials=credentials, url=url)
    for line in out.splitlines():
        if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
            return line[len("ref: refs/heads/") : -len("\tHEAD")]
    shown = redactor_for(credentials)(url)
    raise GitBranchNotFoundError(f"{shown} has no default branch (an empty repository?)")


def clone(url: str, dest: Path, *, credentials: GitCredentials | None = None) -> GitRepo:
    """Clone ``url`` (a URL or a local path) into ``dest``; credentials in the URL are moved out of it."""
    url, from_url = split_credentials(url)
    credentials = credentials or from_url
    run_git(["clone", "--quiet", "--", url, str(dest)], credentials=credentials, url=url)
    return GitRepo(Path(dest), credentials=credentials, remote_url=url)


class GitRepo:
    """A working copy whose remote is ``origin``; every command runs with the same credentials."""

    def __init__(
        self, path: Path, *, credentials: GitCredentials | None = None, remote_url: str | None = None
    ) -> None:
        self.path = Path(path)
        self.credentials = credentials
        self.redact = redactor_for(credentials)
        self._remote_url = remote_url

    def git(self, *args: str) -> str:
        return run_git(args, cwd=self.path, credentials=self.credentials, url=self.remote_url)

    @property
    def remote_url(self) -> str:
        """``origin``'s URL (read once; no credentials are needed to read it)."""
        if self._remote_url is None:
            self._remote_url = run_git(["remote", "get-url", "origin"], cwd=self.path).strip()
        return self._remote_url

    @property
    def current_branch(self) -> str:
        return self.git("rev-parse", "--abbrev-ref", "HEAD").strip()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def remote_branch_exists(self, branch: str) -> bool:
        return remote_branch_exists(self.remote_url, branch, credentials=self.credentials)

    def default_branch(self) -> str:
        return default_branch(self.remote_url, credentials=self.credentials)

    def checkout(self, branch: str) -> None:
        """Check out ``branch`` (a local one, or a remote one as a tracking branch)."""
        check_branch_name(branch)
        if not self._knows(branch):
            self.fetch()  # pushed since the clone?
        if not self._knows(branch):
            raise GitBranchNotFoundError(
                f"branch {branch!r} does not exist in {self.redact(self.remote_url)}"
            )
        self.git("checkout", "--quiet", branch)

    def _knows(self, branch: str) -> bool:
        return self._has_ref(f"refs/heads/{branch}") or self._has_ref(f"refs/remotes/origin/{branch}")

    def _has_ref(self, ref: str) -> bool:
        try:
            self.git("show-ref", "--verify", "--quiet", ref)
        except GitError:  # exit 1: no such ref
            return False
        return True

    def fetch(self) -> None:
        """Bring ``origin``'s branches up to date (``git fetch --prune origin``)."""
        self.git("fetch", "--quiet", "--prune", "origin")

    def create_branch(self, name: str, base: str) -> None:
        """Create ``name`` from ``base`` and check it out (refuses a name that exists on the remote)."""
        check_branch_name(name)
        self.checkout(base)
        if self.remote_branch_exists(name):
            raise GitError(f"branch {name!r} already exists in {self.redact(self.remote_url)}")
        self.git("checkout", "--quiet", "-b", name)

    def add(self, *paths: str) -> None:
        self.git("add", "--", *paths)

    def has_staged_changes(self) -> bool:
        return bool(self.git("diff", "--cached", "--name-only").strip())

    def commit(self, message: str, author: Author) -> str:
        """Commit what is staged as ``author`` (also the committer); returns the new commit id."""
        identity = ("-c", f"user.name={author.name}", "-c", f"user.email={author.email}")
        self.git(*identity, "commit", "--quiet", "--no-verify", "-m", message)
        return self.head()

    def push(self, branch: str) -> None:
        """Push ``branch`` to ``origin`` and make it track it (a rejected push raises :class:`GitError`)."""
        self.git("push", "--quiet", "--set-upstream", "origin", f"refs/heads/{branch}:refs/heads/{branch}")
