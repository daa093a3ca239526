"""Real git repositories for the vcs/forge tests: a bare "remote" on disk seeded with one commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

from skit_pipelines.vcs.git import Author

BOT = Author("automation", "automation@example.org")


def sh(*args: str, cwd: Path | None = None) -> str:
    """Run a git command the way a user would (to check what our code did), failing loudly."""
    done = subprocess.run(
        ["git", "-c", "user.name=seed", "-c", "user.email=seed@example.org", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def bare_remote(root: Path, name: str = "project.git", *, branch: str = "master", files=None) -> Path:
    """A bare repository at ``root/name`` whose ``branch`` holds ``files`` (default: an slu.yaml)."""
    remote = root / name
    remote.parent.mkdir(parents=True, exist_ok=True)
    sh("init", "--quiet", "--bare", "-b", branch, str(remote))
    seed = root / f"seed-{remote.stem}"
    sh("clone", "--quiet", str(remote), str(seed))
    sh("checkout", "--quiet", "-b", branch, cwd=seed)
    for rel, text in (files or {"slu.yaml": "epochs: 1\n"}).items():
        (seed / rel).parent.mkdir(parents=True, exist_ok=True)
        (seed / rel).write_text(text)
    sh("add", "-A", cwd=seed)
    sh("commit", "--quiet", "-m", "seed", cwd=seed)
    sh("push", "--quiet", "origin", branch, cwd=seed)
    return remote


def remote_branches(remote: Path) -> set[str]:
    out = sh("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=remote)
    return set(out.split())
