"""Which input locations a pipeline step may read: every user-supplied location is checked here first.

Why: pipeline parameters name files to read (``dataset_path``, ``s3_path_data``, the alias YAMLs, a model
folder, ...). A person running the CLI is a local user and may read what their account can read. A run
started through the HTTP API or the Slack bot is not: its parameters come from a remote caller, and without
a rule ``dataset_path=../../../../etc/passwd`` or ``s3_path_data=.env`` read the server's files (spec 14,
issue 11.1). So there are two policies:

- **unconfined** (default, the CLI): any location, except secrets;
- **confined** (runs of the API and Slack): only locations under the *allowed roots* — the artifact root
  (a local folder or an ``s3://bucket/prefix``) and the extra entries of ``SKIT_API_READABLE_PATHS``
  (local folders, s3 prefixes, or http(s) URL prefixes) — plus public http(s) URLs where a parameter
  accepts URLs. Loopback and private addresses are refused unless an allowed URL prefix names them.

Secrets are refused under both policies: dotenv files (``.env``, ``.env.*``, ``*.env``: pydantic-settings
reads the server's secrets from ``.env``), the API's state folder (``SKIT_HOME/api``, where the JWT secret
is kept) and the SQLite run database. Local paths are resolved (``~``, ``..``, symlinks) before any
comparison, so a link inside an allowed folder that points outside is refused too.

The confined policy reaches every step through the environment: the API's worker process sets
``SKIT_READ_CONFINED=1`` and ``SKIT_READ_ALLOWED`` (a JSON list of roots) before it runs a pipeline, and the
steps (subprocesses) inherit them. Refusals name the location as the caller gave it and why; they never
say anything about what the location holds.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.netaddr import public_addresses

__all__ = [
    "ENV_ALLOWED",
    "ENV_CONFINED",
    "ReadPolicy",
    "ReadRefusedError",
    "api_policy",
    "check_readable",
    "url_address",
    "check_writable",
    "current_policy",
    "is_secret_name",
    "parse_roots",
]

ENV_CONFINED = "SKIT_READ_CONFINED"
ENV_ALLOWED = "SKIT_READ_ALLOWED"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
ALLOWED_HINT = "the artifact root (SKIT_ARTIFACT_ROOT) or a location listed in SKIT_API_READABLE_PATHS"


class ReadRefusedError(SkitPipelinesError, PermissionError):
    """A location the current policy does not let a run read. ``parameter`` is empty when not known."""

    def __init__(self, location: str, reason: str, parameter: str = "", action: str = "read") -> None:
        self.location = location
        self.reason = reason
        self.parameter = parameter
        self.action = action
        prefix = f"{parameter}: " if parameter else ""
        super().__init__(f"{prefix}{location!r} cannot be {action}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:  # keep the fields when pickled across processes
        return (type(self), (self.location, self.reason, self.parameter, self.action))

    @property
    def safe_reason(self) -> str:
        """What :func:`skit_pipelines.read_errors.content_free_reason` says: the reason, no content."""
        return self.reason


def is_secret_name(name: str) -> bool:
    """``.env``, ``.env.<anything>`` (``.env.local``) and ``<anything>.env`` (``prod.env``): the names of
    dotenv files, where pydantic-settings and deployment tools keep secrets."""
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


def _is_under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _local_path(text: str) -> Path:
    """The resolved local path of a plain path or ``file://`` URI (symlinks and ``..`` followed)."""
    if text.lower().startswith("file://"):
        text = unquote(urlsplit(text).path)
    return Path(os.path.realpath(os.path.expanduser(text)))


def _s3_parts(text: str) -> tuple[str, str]:
    bucket, _, key = text[len("s3://") :].partition("/")
    return bucket, key


def _normalise_root(entry: str) -> str:
    """An allowed root as compared: resolved local path, or an s3/http(s) prefix without trailing ``/``."""
    match = _SCHEME.match(entry)
    scheme = match.group(1).lower() if match else "file"
    if scheme == "file":
        return str(_local_path(entry))
    if scheme in ("s3", "http", "https"):
        return entry.rstrip("/")
    raise ValueError(f"{entry!r}: expected a local folder, an s3://bucket/prefix or an http(s) URL prefix")


def parse_roots(text: str) -> list[str]:
    """The entries of a comma-separated list of readable locations (blank entries ignored)."""
    return [entry.strip() for entry in (text or "").split(",") if entry.strip()]


@dataclass(frozen=True)
class ReadPolicy:
    """What may be read. ``allowed`` holds normalised roots; it only matters when ``confined``.

    The same policy says where an explicit output location (``model_path``) may be written: a confined
    run writes only under ``write_root`` (the artifact root), and nobody writes over a secrets file.
    """

    confined: bool = False
    allowed: tuple[str, ...] = ()
    secrets: tuple[Path, ...] = ()
    write_root: str = ""

    @classmethod
    def create(
        cls,
        *,
        confined: bool,
        allowed: list[str] | tuple[str, ...],
        secrets: tuple[Path, ...],
        write_root: str = "",
    ) -> ReadPolicy:
        roots = tuple(dict.fromkeys(_normalise_root(entry) for entry in allowed if entry))
        return cls(
            confined=confined,
            allowed=roots,
            secrets=tuple(_local_path(str(p)) for p in secrets),
            write_root=_normalise_root(write_root) if write_root else "",
        )

    def environment(self) -> dict[str, str]:
        """The variables that carry this policy into the steps (subprocesses) of a run."""
        return {ENV_CONFINED: "1" if self.confined else "0", ENV_ALLOWED: json.dumps(list(self.allowed))}

    # -- checks ----------------------------------------------------------------------------------------
    def check(self, location: str, *, parameter: str = "", urls: bool = False) -> None:
        """Raise :class:`ReadRefusedError` unless ``location`` may be read.

        ``urls``: the caller fetches http(s) URLs itself (the YAML inputs); elsewhere a URL is not an input
        location and is left to the reader to reject.
        """
        text = (location or "").strip()
        if not text:
            return
        match = _SCHEME.match(text)
        scheme = match.group(1).lower() if match else "file"
        if scheme == "file":
            self._check_local(text, parameter)
        elif scheme == "s3":
            self._check_s3(text, parameter)
        elif scheme in ("http", "https") and urls:
            self._check_url(text, parameter)
        elif self.confined:
            raise ReadRefusedError(
                text, f"unsupported location: expected a path under {ALLOWED_HINT}", parameter
            )

    def check_write(self, location: str, *, parameter: str = "") -> None:
        """Raise :class:`ReadRefusedError` unless an explicit output ``location`` may be written."""
        text = (location or "").strip()
        match = _SCHEME.match(text)
        scheme = match.group(1).lower() if match else "file"
        if not text or scheme not in ("file", "s3"):
            return  # the artifact store names the unsupported scheme
        hint = "runs started through the API may only write under the artifact root (SKIT_ARTIFACT_ROOT)"
        roots = (self.write_root,) if self.write_root else ()
        try:
            if scheme == "file":
                self._check_local(text, parameter, roots, hint, verb="written")
            else:
                self._check_s3(text, parameter, roots, hint)
        except ReadRefusedError as exc:
            raise ReadRefusedError(exc.location, exc.reason, parameter, action="written") from None

    def _check_local(
        self,
        text: str,
        parameter: str,
        roots: tuple[str, ...] | None = None,
        hint: str = f"runs started through the API may only read {ALLOWED_HINT}",
        verb: str = "readable",
    ) -> None:
        given = text[len("file://") :] if text.lower().startswith("file://") else text
        path = _local_path(text)
        if is_secret_name(PurePosixPath(given.rstrip("/")).name) or is_secret_name(path.name):
            raise ReadRefusedError(
                text, f"a settings file with secrets is never {verb} by a pipeline", parameter
            )
        if any(_is_under(path, secret) for secret in self.secrets):
            raise ReadRefusedError(text, f"the server's own state and secrets are never {verb}", parameter)
        allowed = self.allowed if roots is None else roots
        if self.confined and not any(
            _is_under(path, Path(root)) for root in allowed if not _SCHEME.match(root)
        ):
            raise ReadRefusedError(text, hint, parameter)

    def _check_s3(
        self,
        text: str,
        parameter: str,
        roots: tuple[str, ...] | None = None,
        hint: str = f"runs started through the API may only read {ALLOWED_HINT}",
    ) -> None:
        if not self.confined:
            return
        bucket, key = _s3_parts(text)
        if ".." in PurePosixPath(key).parts:
            raise ReadRefusedError(text, "'..' is not allowed in the key", parameter)
        for root in self.allowed if roots is None else roots:
            if not root.startswith("s3://"):
                continue
            root_bucket, prefix = _s3_parts(root)
            if bucket == root_bucket and (not prefix or key == prefix or key.startswith(f"{prefix}/")):
                return
        raise ReadRefusedError(text, hint, parameter)

    def _check_url(self, text: str, parameter: str) -> None:
        self.url_address(text, parameter)

    def url_address(self, text: str, parameter: str = "") -> str | None:
        """The address a fetch of URL ``text`` must connect to, or None when any address will do.

        None when unconfined or under an allowed http(s) prefix (the operator's choice); else the first of
        the host's addresses, all checked public (a private or unresolvable host is refused). A confined
        fetch connects to exactly that address (:func:`skit_pipelines.netaddr.pinned_target`): a second
        DNS lookup at connect time could answer differently (DNS rebinding).
        """
        if not self.confined:
            return None
        parts = urlsplit(text)
        if not parts.hostname:
            raise ReadRefusedError(text, "expected an absolute http(s) URL", parameter)
        if ".." in PurePosixPath(unquote(parts.path)).parts:  # clients resolve it: it would leave a prefix
            raise ReadRefusedError(text, "'..' is not allowed in the URL path", parameter)
        for root in self.allowed:
            if root.lower().startswith(("http://", "https://")) and (
                text == root or text.startswith(root if root.endswith("/") else f"{root}/")
            ):
                return None
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        try:
            return public_addresses(parts.hostname, port)[0]
        except ValueError:
            raise ReadRefusedError(
                text,
                "a loopback, private or unresolvable address: runs started through the API may only fetch "
                "public URLs, or URLs under an http(s) prefix listed in SKIT_API_READABLE_PATHS",
                parameter,
            ) from None


def current_policy() -> ReadPolicy:
    """The policy of this process: confined when ``SKIT_READ_CONFINED=1`` (set for API runs)."""
    confined = os.environ.get(ENV_CONFINED, "").strip().lower() in ("1", "true", "yes")
    allowed: list[str] = []
    if confined:
        try:
            loaded = json.loads(os.environ.get(ENV_ALLOWED) or "[]")
        except json.JSONDecodeError:
            loaded = []  # a broken list allows nothing: confined stays confined
        allowed = [str(entry) for entry in loaded] if isinstance(loaded, list) else []
    from skit_pipelines import runtime  # the secrets and the root, as the entry point configured them

    configured = runtime.current()
    return ReadPolicy.create(
        confined=confined,
        allowed=allowed,
        secrets=configured.secret_paths,
        write_root=configured.artifact_root,
    )


def api_policy(artifact_root: str, readable_paths: str, secret_paths: tuple[Path, ...]) -> ReadPolicy:
    """The confined policy of runs started through the API or Slack (``Settings.secret_paths`` refused)."""
    return ReadPolicy.create(
        confined=True,
        allowed=[artifact_root, *parse_roots(readable_paths)],
        secrets=secret_paths,
        write_root=artifact_root,
    )


def check_readable(location: str, *, parameter: str = "", urls: bool = False) -> None:
    """Check ``location`` against this process's policy (see :meth:`ReadPolicy.check`)."""
    current_policy().check(location, parameter=parameter, urls=urls)


def url_address(location: str, *, parameter: str = "") -> str | None:
    """The address a fetch of ``location`` must connect to under this process's policy (None: any)."""
    return current_policy().url_address(location, parameter)


def check_writable(location: str, *, parameter: str = "") -> None:
    """Check an explicit output ``location`` against this process's policy (see ``check_write``)."""
    current_policy().check_write(location, parameter=parameter)
