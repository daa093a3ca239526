"""Reading a git remote URL: which host, which project path, and so which forge and which API.

Why parse rather than ask for owner/project separately: the remote URL is the one fact a project repo always
has (``git remote get-url origin``); deriving the API coordinates from it keeps the two from disagreeing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlsplit

from skit_pipelines.forge.errors import UnknownForgeError
from skit_pipelines.vcs.redact import strip_url_credentials

ForgeKind = Literal["gitlab", "github"]
_SCP_LIKE = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[^:/\s]+):(?P<path>[^\s]+)$")


@dataclass(frozen=True)
class RemoteProject:
    """``host`` (with a port, if any) and ``path`` (``group/sub/repo``, without ``.git``)."""

    host: str
    path: str

    @property
    def url_encoded_path(self) -> str:
        """GitLab's project id form: ``group%2Fsub%2Frepo``."""
        return quote(self.path, safe="")

    @property
    def owner_and_name(self) -> tuple[str, str]:
        """GitHub's ``owner`` and ``repo`` (the last two path segments)."""
        owner, _, name = self.path.rpartition("/")
        return owner.rsplit("/", 1)[-1], name


def parse_remote(url: str) -> RemoteProject:
    """The host and project path of an https, ssh:// or ``git@host:group/repo.git`` remote URL."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme in ("http", "https", "ssh", "git") and parts.hostname:
        host = parts.hostname + (f":{parts.port}" if parts.port and parts.scheme in ("http", "https") else "")
        path = parts.path
    elif match := _SCP_LIKE.match(url):
        host, path = match["host"], match["path"]
    else:
        raise UnknownForgeError(f"cannot read a forge project from remote {strip_url_credentials(url)!r}")
    path = path.strip("/").removesuffix(".git")
    if "/" not in path:
        raise UnknownForgeError(f"remote {strip_url_credentials(url)!r} names no group/project path")
    return RemoteProject(host=host, path=path)


def forge_kind(host: str) -> ForgeKind | None:
    """``gitlab`` or ``github`` when the host name says so (gitlab.com, gitlab.example.org, github.com)."""
    name = host.split(":", 1)[0].lower()
    if name == "github.com" or name.startswith("github."):
        return "github"
    if name == "gitlab.com" or name.startswith("gitlab.") or ".gitlab." in name:
        return "gitlab"
    return None


def default_api_url(kind: ForgeKind, host: str) -> str:
    """Where the API of a hosted or self-hosted forge lives."""
    if kind == "github":
        return "https://api.github.com" if host == "github.com" else f"https://{host}/api/v3"
    return f"https://{host}"
