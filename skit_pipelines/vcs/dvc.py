"""DVC operations on an SLU project repository, through the ``dvc`` CLI.

Why DVC: a project's datasets and model archives are too large for git but must be versioned with the code
and config that produced them; ``data.dvc`` (a small text file in git) names the exact data, which lives in a
DVC remote (S3, a local folder, ...). Why the CLI and not ``dvc.api``: DVC lives in its own virtualenv
(``.venv-dvc``; its S3 plugin pins botocore versions that clash with ours), and the CLI is what a reviewer
runs to reproduce a step. The repository stays a git repository (no ``core.no_scm``): DVC then writes the
``.gitignore`` entries that keep ``data/`` out of git.

Git credentials reach DVC's own git calls (``dvc get`` of a remote repo) the same way as ours, through the
environment (see :func:`skit_pipelines.vcs.git.git_env`); S3 credentials come from the usual AWS variables.
"""

from __future__ import annotations

import enum
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from skit_pipelines.vcs.errors import DvcError, DvcNotInstalledError, DvcStateError
from skit_pipelines.vcs.git import GitCredentials, git_env
from skit_pipelines.vcs.redact import Redactor

log = logging.getLogger(__name__)

DATA_DIR = "data"
DATA_DVC = "data.dvc"
DEFAULT_REMOTE = "storage"
DEFAULT_TIMEOUT = 1800.0
INSTALL_HINT = (
    "run `make test` (it creates .venv-dvc) or "
    "`python3 -m venv .venv-dvc && .venv-dvc/bin/pip install 'dvc[s3]'`"
)


def executable(venv: Path | None = None) -> str:
    """The ``dvc`` program: ``<venv>/bin/dvc`` when a venv is given and has it, else the one on PATH."""
    if venv is not None:
        candidate = Path(venv) / "bin" / "dvc"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("dvc")
    if found:
        return found
    where = f"in {venv}/bin nor " if venv is not None else ""
    raise DvcNotInstalledError(f"no dvc executable {where}on PATH: {INSTALL_HINT}")


class DataState(enum.Enum):
    """What a retraining run does with the repository's data."""

    INITIAL = "initial"  # no data.dvc yet: dvc init, remote, first data
    RETRAIN = "retrain"  # data.dvc present: dvc pull the previous data, then add to it


def check_state(repo: Path, initial_training: bool) -> DataState:
    """Whether ``initial_training`` agrees with the presence of ``data.dvc``; a mismatch says which way.

    The reference raised "Discrepancy between initial_training and data.dvc" for both cases; the two
    mistakes need different fixes, so each gets its own message.
    """
    has_data = (Path(repo) / DATA_DVC).exists()
    if initial_training and has_data:
        raise DvcStateError(
            f"initial_training is true but the repository already has {DATA_DVC}: a first training would "
            "replace its tracked data; set initial_training=false to retrain on top of it"
        )
    if not initial_training and not has_data:
        raise DvcStateError(
            f"initial_training is false but the repository has no {DATA_DVC}, so there is no previous data "
            "to retrain from; set initial_training=true for a first training (or pick the right branch)"
        )
    return DataState.INITIAL if initial_training else DataState.RETRAIN


def dvc_env(
    credentials: GitCredentials | None, base: Mapping[str, str] | None = None, *, url: str | None = None
) -> dict[str, str]:
    env = git_env(credentials, base, url=url)
    env["DVC_NO_ANALYTICS"] = "1"  # no telemetry from a pipeline step
    env.setdefault("DVC_IGNORE_UPDATES", "1")
    return env


def run_dvc(
    args: Sequence[str],
    *,
    cwd: Path,
    dvc: str = "dvc",
    credentials: GitCredentials | None = None,
    secrets: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Run ``dvc args`` in ``cwd``; a failure raises :class:`DvcError` with its redacted output.

    ``url`` is the git repository DVC reads (``dvc get``): the credentials are sent to that host only.
    """
    redact = Redactor(
        [credentials.token if credentials else None, *secrets],
        username=credentials.username if credentials else None,
    )
    shown = redact(" ".join(["dvc", *args]))
    log.info("%s", shown)
    try:
        done = subprocess.run(
            [dvc, *args],
            cwd=cwd,
            env=dvc_env(credentials, env if env is not None else os.environ, url=url),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise DvcNotInstalledError(f"cannot run {dvc!r}, it is not installed: {INSTALL_HINT}") from exc
    except subprocess.TimeoutExpired as exc:
        raise DvcError(f"`{shown}` did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        output = redact("\n".join(s for s in (done.stderr.strip(), done.stdout.strip()) if s))
        raise DvcError(f"`{shown}` failed (exit {done.returncode}): {output}")
    return done.stdout


class Dvc:
    """DVC commands on the repository at ``repo`` (a git working copy)."""

    def __init__(
        self,
        repo: Path,
        *,
        dvc: str = "dvc",
        credentials: GitCredentials | None = None,
        secrets: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.repo = Path(repo)
        self.dvc = dvc
        self.credentials = credentials
        self.secrets = tuple(secrets)
        self.env = env
        self.timeout = timeout

    def run(self, *args: str) -> str:
        return run_dvc(
            args,
            cwd=self.repo,
            dvc=self.dvc,
            credentials=self.credentials,
            secrets=self.secrets,
            env=self.env,
            timeout=self.timeout,
        )

    def init(self) -> None:
        """``dvc init`` in the git repository (its ``.dvc/`` and ``.dvcignore`` are then to be committed)."""
        self.run("init", "--quiet")

    def add_remote(
        self, url: str, *, name: str = DEFAULT_REMOTE, default: bool = True, endpoint_url: str | None = None
    ) -> None:
        """Add (or replace) remote ``name`` at ``url`` (a folder or ``s3://bucket/prefix``) in .dvc/config.

        ``endpoint_url`` points an S3 remote at an S3-compatible server (MinIO, moto).
        """
        self.run("remote", "add", *(["--default"] if default else []), "--force", name, url)
        if endpoint_url:
            self.run("remote", "modify", name, "endpointurl", endpoint_url)

    def add(self, target: str = DATA_DIR) -> None:
        """Track ``target`` (writes ``<target>.dvc`` and the ``.gitignore`` entry, fills the cache)."""
        self.run("add", "--quiet", target)

    def push(self, target: str | None = None) -> None:
        """Upload the cached data of ``target`` (everything tracked by default) to the default remote."""
        self.run("push", *([target] if target else []))

    def pull(self, target: str = DATA_DVC) -> None:
        """Download and check out the data that ``target`` names from the remote."""
        self.run("pull", target)

    def get(self, url: str, path: str, out: Path, *, rev: str | None = None) -> Path:
        """``dvc get [--rev rev] url path -o out``: ``path`` as tracked at ``rev`` of the repo at ``url``."""
        return get(
            url,
            path,
            out,
            rev=rev,
            dvc=self.dvc,
            credentials=self.credentials,
            secrets=self.secrets,
            env=self.env,
            timeout=self.timeout,
        )


def get(
    url: str,
    path: str,
    out: Path,
    *,
    rev: str | None = None,
    dvc: str = "dvc",
    credentials: GitCredentials | None = None,
    secrets: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Fetch ``path`` as tracked at revision ``rev`` of the DVC repo at ``url`` (a URL or a local path).

    This is how the production model is read: the model at the production branch, without checking it out.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    args = ["get", *(["--rev", rev] if rev else []), url, path, "-o", str(out)]
    run_dvc(args, cwd=out.parent, dvc=dvc, credentials=credentials, secrets=secrets, env=env, timeout=timeout)
    return out
