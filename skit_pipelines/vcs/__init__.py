"""Git and DVC operations on an SLU project repository (the reference's "project-config" repo).

Why a package of its own: retraining needs to clone a client's repo, branch it, version its data with DVC and
push the result, and each of those steps can fail in ways the user must understand (unknown branch, remote
unreachable, push rejected) without ever seeing a token. Everything here takes URLs, paths and credentials
as arguments: nothing reads settings, so a job decides where they come from.

- :mod:`.redact`: removes secrets from every message and log line.
- :mod:`.git`: clone, branch, commit, push, ``ls-remote`` through the ``git`` CLI.
- :mod:`.dvc`: ``dvc init``/remote/add/push/pull/get through the ``dvc`` CLI, and the data-state check.
- :mod:`.publish`: the one way to push a branch: its data first, then the commit.
"""
