"""Publishing a retraining branch: its data reaches the DVC remote before the branch reaches git.

Why this order is the whole point: a pushed branch whose ``data.dvc`` names data that is not in the DVC
remote is a broken promise (``dvc pull`` fails for every reviewer). So ``dvc push`` runs first and a failure
stops everything before git is touched; only then are the commit made and the branch pushed. A failed git
push after a good ``dvc push`` leaves unreferenced data in the remote: harmless, as no branch claims it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from skit_pipelines.vcs.dvc import DATA_DVC, Dvc
from skit_pipelines.vcs.errors import DvcError, GitError, PublishError
from skit_pipelines.vcs.git import Author, GitRepo

log = logging.getLogger(__name__)

#: What a DVC-tracked project commits besides its own files: the pointer, DVC's config and ignore files.
DVC_FILES = (DATA_DVC, ".gitignore", ".dvc/config", ".dvc/.gitignore", ".dvcignore")


def publish(
    repo: GitRepo,
    dvc: Dvc,
    branch: str,
    message: str,
    author: Author,
    *,
    paths: Sequence[str] = (),
) -> str:
    """``dvc push``, then commit ``DVC_FILES`` + ``paths`` on ``branch`` and push it; returns the commit id.

    ``branch`` must be checked out. Raises :class:`PublishError` saying what was and was not pushed.
    """
    current = repo.current_branch
    if current != branch:
        raise PublishError(f"cannot publish {branch!r}: the working copy is on {current!r}")
    try:
        dvc.push()
    except DvcError as exc:
        raise PublishError(f"dvc push failed, so branch {branch!r} was not pushed: {exc}") from exc
    present = [p for p in (*DVC_FILES, *paths) if (repo.path / p).exists()]
    try:
        repo.add(*present)
        if not repo.has_staged_changes():
            raise PublishError(f"nothing to commit on {branch!r}: the data and files are unchanged")
        commit = repo.commit(message, author)
        repo.push(branch)
    except GitError as exc:
        raise PublishError(
            f"the data is in the DVC remote but branch {branch!r} was not pushed: {exc}"
        ) from exc
    log.info("published %s at %s", branch, commit)
    return commit
