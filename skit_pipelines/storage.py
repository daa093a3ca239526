"""Artifact store: one interface, two backends (a local folder or an S3-compatible bucket).

Why: every pipeline writes its outputs (CSV datasets, model archives, reports) somewhere a person can fetch
them later. On a laptop that is a folder under ``SKIT_HOME``; in production it is ``s3://bucket/prefix`` on
AWS or any S3-compatible endpoint (MinIO, Ceph). Components call the functions here and never care which
backend the settings picked: the root is the configured artifact root (``SKIT_ARTIFACT_ROOT``, handed over
by the entry point through :mod:`skit_pipelines.runtime`, like the S3 endpoint and region) unless a call
passes ``root=``.

Why boto3 and not fsspec/s3fs: boto3 is already a dependency (no new packages in the component image), it
is the reference S3 client (multipart uploads, retries, the whole AWS credential chain: env variables,
``~/.aws`` profiles, instance/pod roles), and we need only a handful of operations. fsspec would add a
layer of caching and async machinery (aiobotocore pins botocore tightly) for no gain here.

Naming (spec 2.5, with the gap of spec 14 item 23 fixed): generated keys are
``project/{reference}/{YYYY-MM-DD}/{reference}-{HH-MM-SS}-{file_type}-{token}{ext}`` in UTC, where
``reference`` and ``file_type`` are sanitised so that keys hold no spaces, colons, ``#``, ``+`` or commas
(runs of characters outside ``[A-Za-z0-9._=-]`` become ``_``) and can be copied into a shell as they are.
``/`` is *not* kept in references: a reference names one folder, so ``a/b`` becomes ``a_b`` and no
reference can climb out of ``project/`` (leading dots are dropped too). ``token`` is 6 random hex digits so
that two uploads of the same reference and type in the same second (parallel components, retries) never
overwrite each other.

Reads (``download_file``, ``download_directory``, ``read_bytes``) are checked by
:mod:`skit_pipelines.readpolicy` first: runs started through the API may only read under the allowed roots,
and secrets files are never read. ``exists`` is not checked (it tells nothing of a file's content, and the
audio checks of fetch_calls use it on the warehouse's own URIs).

Writes are atomic: a reader never sees a half-written artifact. Locally a file is written to a temporary
name in the destination folder and moved into place with ``os.replace``; on S3 an object only becomes
visible when its single PUT (or its multipart upload) completes.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from skit_pipelines import runtime
from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.localfiles import atomic_open
from skit_pipelines.readpolicy import check_readable, check_writable

__all__ = [
    "ArtifactNotFoundError",
    "artifact_uri",
    "download_command",
    "download_directory",
    "download_file",
    "exists",
    "is_remote",
    "object_key",
    "read_bytes",
    "read_text",
    "s3_client",
    "sanitize",
    "upload_bytes",
    "upload_directory",
    "upload_file",
]

SUPPORTED = "a local path, a file:// URI or s3://bucket/prefix"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_AWKWARD = re.compile(r"[^A-Za-z0-9._=-]+")
_S3_MISSING = {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}


class ArtifactNotFoundError(SkitPipelinesError, FileNotFoundError):
    """An artifact (local file, S3 object or S3 bucket) does not exist. ``uri`` names it."""

    def __init__(self, uri: str, detail: str = "") -> None:
        self.uri = uri
        self.detail = detail
        super().__init__(f"artifact not found: {uri}" + (f" ({detail})" if detail else ""))

    def __reduce__(self) -> tuple[Any, ...]:  # keep uri/detail when pickled across processes
        return (type(self), (self.uri, self.detail))

    @property
    def safe_reason(self) -> str:
        """What :func:`skit_pipelines.read_errors.content_free_reason` says (the detail is the store's)."""
        return f"not found ({self.detail})" if self.detail else "not found"


# --------------------------------------------------------------------------------------------- locations


@dataclass(frozen=True)
class _Location:
    """A parsed artifact URI: a local absolute path, or a bucket and key."""

    path: Path | None = None
    bucket: str = ""
    key: str = ""

    @property
    def remote(self) -> bool:
        return self.path is None

    @property
    def uri(self) -> str:
        if self.path is not None:
            return str(self.path)
        return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"

    def child(self, relative: str) -> _Location:
        """The location ``relative`` (a POSIX key, no ``..``) below this one."""
        if self.path is not None:
            return _Location(path=self.path.joinpath(*PurePosixPath(relative).parts))
        key = f"{self.key.rstrip('/')}/{relative}" if self.key.strip("/") else relative
        return _Location(bucket=self.bucket, key=key)


def _parse(uri: str | os.PathLike[str]) -> _Location:
    text = os.fspath(uri)
    if not text:
        raise ValueError(f"empty artifact URI: expected {SUPPORTED}")
    match = _SCHEME.match(text)
    if not match:
        return _Location(path=Path(os.path.abspath(os.path.expanduser(text))))
    scheme = match.group(1).lower()
    if scheme == "s3":
        # Split by hand: S3 keys may legally contain '?' and '#', which urlsplit would cut off.
        bucket, _, key = text[len(match.group(0)) :].partition("/")
        if not bucket:
            raise ValueError(f"S3 URI {text!r} has no bucket: expected s3://bucket/key")
        return _Location(bucket=bucket, key=key)
    if scheme == "file":
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file URI {text!r} names host {parts.netloc!r}: only local files are supported")
        return _Location(path=Path(os.path.abspath(unquote(parts.path))))
    raise ValueError(f"unsupported artifact URI scheme {scheme!r} in {text!r}: expected {SUPPORTED}")


def _root(root: str | None) -> _Location:
    return _parse(root or runtime.current().artifact_root)


def is_remote(uri: str) -> bool:
    """True for ``s3://`` URIs, False for local paths and ``file://`` URIs; ValueError for other schemes."""
    return _parse(uri).remote


def artifact_uri(key: str, root: str | None = None) -> str:
    """URI of the relative ``key`` under the artifact root (a plain absolute path for local roots)."""
    _check_relative(key)
    return _root(root).child(key).uri


def _check_relative(key: str) -> None:
    if not key or PurePosixPath(key).is_absolute() or ".." in PurePosixPath(key).parts:
        raise ValueError(f"artifact key {key!r} must be a non-empty relative path without '..'")


# ------------------------------------------------------------------------------------------------ naming


def sanitize(text: str) -> str:
    """``text`` with every run of characters outside ``[A-Za-z0-9._=-]`` replaced by ``_``."""
    return _AWKWARD.sub("_", text)


def object_key(reference: str, file_type: str, ext: str, now: datetime | None = None) -> str:
    """Relative key ``project/{ref}/{YYYY-MM-DD}/{ref}-{HH-MM-SS}-{file_type}-{token}{ext}`` (UTC).

    ``now`` defaults to the current time; a naive ``now`` is taken as UTC. ``token`` is random, so two
    calls never return the same key. An ``ext`` without a leading dot gets one (``csv`` → ``.csv``).
    """
    ref = sanitize(reference).lstrip(".") or "unnamed"
    kind = sanitize(file_type).strip(".")
    suffix = sanitize(ext)
    if suffix and not suffix.startswith("."):
        suffix = f".{suffix}"
    moment = datetime.now(UTC) if now is None else now
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    name = "-".join(part for part in (ref, f"{moment:%H-%M-%S}", kind, secrets.token_hex(3)) if part)
    return f"project/{ref}/{moment:%Y-%m-%d}/{name}{suffix}"


def _destination(reference: str, file_type: str, ext: str, output_path: str, root: str | None) -> _Location:
    """Where an upload goes: the generated key under the root, or ``output_path``.

    ``output_path`` may be an absolute path or URI (used as is), or a key relative to the root. Ending it
    with ``/`` names a folder: the generated file name is placed inside it.
    """
    if not output_path:
        return _root(root).child(object_key(reference, file_type, ext))
    if output_path.endswith("/"):
        folder = output_path.rstrip("/")
        name = PurePosixPath(object_key(reference, file_type, ext)).name
        return _destination(reference, file_type, ext, f"{folder}/{name}" if folder else name, root)
    if _SCHEME.match(output_path) or os.path.isabs(os.path.expanduser(output_path)):
        check_writable(output_path)  # API runs write only under the root; nobody writes over secrets
        return _parse(output_path)
    _check_relative(output_path)
    return _root(root).child(output_path)


# ----------------------------------------------------------------------------------------------------- S3


def s3_client() -> Any:
    """A boto3 S3 client for the configured endpoint and region.

    Built afresh on each call (cheap next to a network round trip) so that a change of configuration or of
    the AWS credential environment takes effect at once. Credentials come from the normal AWS chain.
    """
    import boto3
    from botocore.config import Config

    configured = runtime.current()
    endpoint = configured.s3_endpoint_url
    # Custom endpoints (MinIO, moto, on-premise stores) rarely resolve bucket sub-domains: use path style.
    config = Config(s3={"addressing_style": "path"}) if endpoint else None
    return boto3.client("s3", endpoint_url=endpoint or None, region_name=configured.s3_region, config=config)


def _client_error_code(exc: BaseException) -> str:
    from botocore.exceptions import ClientError

    # boto3's upload_file wraps ClientError in S3UploadFailedError without a cause: look at the context.
    for err in (exc, exc.__cause__, exc.__context__):
        if isinstance(err, ClientError):
            return str(err.response.get("Error", {}).get("Code", ""))
    return ""


@contextlib.contextmanager
def _s3_errors(uri: str, bucket: str) -> Iterator[None]:
    """Turn "no such key/bucket" errors of boto3 into ArtifactNotFoundError naming ``uri``."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import ClientError

    try:
        yield
    except (ClientError, S3UploadFailedError) as exc:
        code = _client_error_code(exc)
        if code == "NoSuchBucket" or "NoSuchBucket" in str(exc):
            raise ArtifactNotFoundError(uri, f"bucket {bucket!r} does not exist") from exc
        if code in _S3_MISSING:
            raise ArtifactNotFoundError(uri, "no such S3 object") from exc
        raise


# -------------------------------------------------------------------------------------------- local writes


def _atomic_write(dest: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Create ``dest`` through a temporary file in its folder and ``os.replace``: all or nothing."""
    with atomic_open(dest, "wb") as handle:
        write(handle)


def _copy_into(source: Path) -> Callable[[IO[bytes]], None]:
    def write(handle: IO[bytes]) -> None:
        with source.open("rb") as src:
            shutil.copyfileobj(src, handle, 1024 * 1024)

    return write


def _source_file(path: str | os.PathLike[str]) -> Path:
    source = Path(path)
    if source.is_dir():
        raise IsADirectoryError(f"{source} is a directory: use storage.upload_directory")
    if not source.is_file():
        raise ArtifactNotFoundError(str(source), "no such local file to upload")
    return source


# ------------------------------------------------------------------------------------------------ uploads


def upload_file(
    path: str | os.PathLike[str],
    *,
    reference: str,
    file_type: str,
    ext: str = "",
    output_path: str = "",
    root: str | None = None,
) -> str:
    """Store the file ``path`` and return its URI (absolute path for local roots, ``s3://`` otherwise)."""
    source = _source_file(path)
    dest = _destination(reference, file_type, ext, output_path, root)
    if dest.path is not None:
        _atomic_write(dest.path, _copy_into(source))
        return dest.uri
    with _s3_errors(dest.uri, dest.bucket):
        # boto3 switches to a multipart upload for big files; that is atomic too: S3 makes the object
        # visible only when CompleteMultipartUpload succeeds, and never shows a partial object.
        s3_client().upload_file(str(source), dest.bucket, dest.key)
    return dest.uri


def upload_bytes(
    data: bytes,
    *,
    reference: str,
    file_type: str,
    ext: str = "",
    output_path: str = "",
    root: str | None = None,
) -> str:
    """Store ``data`` as an artifact and return its URI."""
    dest = _destination(reference, file_type, ext, output_path, root)
    if dest.path is not None:
        _atomic_write(dest.path, lambda handle: handle.write(data))
        return dest.uri
    with _s3_errors(dest.uri, dest.bucket):
        s3_client().put_object(Bucket=dest.bucket, Key=dest.key, Body=data)  # one PUT: atomic
    return dest.uri


def upload_directory(
    path: str | os.PathLike[str],
    *,
    reference: str,
    file_type: str,
    ext: str = "",
    output_path: str = "",
    root: str | None = None,
    as_archive: bool = True,
) -> str:
    """Store the directory ``path`` and return its URI.

    ``as_archive=True`` (default, spec 2.5) stores one ``.tar.gz`` (``ext`` defaults to ``.tar.gz``) whose
    single top-level entry is the directory's name. ``as_archive=False`` copies the tree; ``ext`` must then
    be empty. Locally the tree is built in a temporary sibling and renamed into place (atomic; an existing
    destination is an error). On S3 each object is atomic but the tree appears object by object.
    """
    source = Path(path)
    if not source.is_dir():
        raise ArtifactNotFoundError(str(source), "no such local directory to upload")
    if as_archive:
        with tempfile.TemporaryDirectory(prefix="skit-archive-") as scratch:
            archive = Path(scratch) / f"{source.name or 'archive'}.tar.gz"
            with tarfile.open(archive, "w:gz") as tar:
                tar.add(source, arcname=source.name or ".")
            return upload_file(
                archive,
                reference=reference,
                file_type=file_type,
                ext=ext or ".tar.gz",
                output_path=output_path,
                root=root,
            )
    if ext:
        raise ValueError(f"ext={ext!r} makes no sense for a directory uploaded as a tree (as_archive=False)")
    dest = _destination(reference, file_type, "", output_path, root)
    if dest.path is not None:
        if dest.path.exists():
            raise FileExistsError(f"artifact destination {dest.uri} already exists")
        dest.path.parent.mkdir(parents=True, exist_ok=True)
        scratch_dir = Path(
            tempfile.mkdtemp(dir=dest.path.parent, prefix=f".{dest.path.name}.", suffix=".tmp")
        )
        try:
            shutil.copytree(source, scratch_dir, dirs_exist_ok=True)
            os.replace(scratch_dir, dest.path)
        except BaseException:
            shutil.rmtree(scratch_dir, ignore_errors=True)
            raise
        return dest.uri
    client = s3_client()
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        target = dest.child(file.relative_to(source).as_posix())
        with _s3_errors(target.uri, target.bucket):
            client.upload_file(str(file), target.bucket, target.key)
    return dest.uri


# ---------------------------------------------------------------------------------------------- downloads


def _target(uri: _Location, dest: str | os.PathLike[str]) -> Path:
    """``dest`` itself, or ``dest/<name of the artifact>`` when ``dest`` is an existing folder."""
    target = Path(dest)
    if target.is_dir():
        name = PurePosixPath(uri.key).name if uri.path is None else uri.path.name
        if not name:
            raise ValueError(f"cannot name a download of {uri.uri} into folder {target}")
        target = target / name
    return target


def download_file(uri: str, dest: Path | str) -> Path:
    """Fetch the artifact ``uri`` to ``dest`` (a file path, or an existing folder) atomically."""
    loc = _parse(uri)
    check_readable(uri)
    target = _target(loc, dest)
    if loc.path is not None:
        if not loc.path.is_file():
            raise ArtifactNotFoundError(
                loc.uri,
                "a directory: use storage.download_directory" if loc.path.is_dir() else "no such file",
            )
        _atomic_write(target, _copy_into(loc.path))
        return target
    client = s3_client()
    with _s3_errors(loc.uri, loc.bucket):
        _atomic_write(target, lambda handle: client.download_fileobj(loc.bucket, loc.key, handle))
    return target


def download_directory(uri: str, dest: Path | str) -> Path:
    """Fetch every file below ``uri`` (a local folder or an S3 prefix) into the folder ``dest``.

    Files are merged into ``dest`` (created if missing), each written atomically. Every local file is
    checked against the read policy, so a folder holding a secrets file (or a link out of an allowed
    folder) is refused as a whole before anything is copied.
    """
    loc = _parse(uri)
    check_readable(uri)
    target = Path(dest)
    if loc.path is not None:
        if not loc.path.is_dir():
            raise ArtifactNotFoundError(loc.uri, "no such directory")
        files = sorted(p for p in loc.path.rglob("*") if p.is_file())
        for file in files:
            check_readable(str(file))
        for file in files:
            _atomic_write(target / file.relative_to(loc.path), _copy_into(file))
        target.mkdir(parents=True, exist_ok=True)
        return target
    client = s3_client()
    prefix = f"{loc.key.rstrip('/')}/" if loc.key.strip("/") else ""
    found = False
    with _s3_errors(loc.uri, loc.bucket):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=loc.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                relative = item["Key"][len(prefix) :]
                if not relative or relative.endswith("/"):
                    continue  # folder markers
                _check_relative(relative)
                found = True
                key = item["Key"]
                _atomic_write(
                    target.joinpath(*PurePosixPath(relative).parts),
                    lambda handle, key=key: client.download_fileobj(loc.bucket, key, handle),
                )
    if not found:
        raise ArtifactNotFoundError(loc.uri, "no S3 objects under this prefix")
    target.mkdir(parents=True, exist_ok=True)
    return target


def read_bytes(uri: str) -> bytes:
    """The content of the artifact ``uri``."""
    loc = _parse(uri)
    check_readable(uri)
    if loc.path is not None:
        if not loc.path.is_file():
            raise ArtifactNotFoundError(loc.uri, "no such file")
        return loc.path.read_bytes()
    with _s3_errors(loc.uri, loc.bucket):
        return s3_client().get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read()


def read_text(uri: str, encoding: str = "utf-8") -> str:
    """The content of the artifact ``uri`` decoded as text."""
    return read_bytes(uri).decode(encoding)


def exists(uri: str) -> bool:
    """Whether the artifact exists: a local file or folder, an S3 object, or a non-empty S3 prefix."""
    loc = _parse(uri)
    if loc.path is not None:
        return loc.path.exists()
    from botocore.exceptions import ClientError

    client = s3_client()
    if loc.key and not loc.key.endswith("/"):
        try:
            client.head_object(Bucket=loc.bucket, Key=loc.key)
            return True
        except ClientError as exc:
            if _client_error_code(exc) not in _S3_MISSING:
                raise
    prefix = f"{loc.key.rstrip('/')}/" if loc.key.strip("/") else ""
    try:
        listed = client.list_objects_v2(Bucket=loc.bucket, Prefix=prefix, MaxKeys=1)
    except ClientError as exc:
        if _client_error_code(exc) in _S3_MISSING:
            return False  # no such bucket
        raise
    return bool(listed.get("KeyCount", 0))


def download_command(uri: str, *, recursive: bool | None = None) -> str:
    """The shell command a person runs to fetch ``uri`` into the current folder.

    S3: ``aws s3 cp s3://bucket/key .`` (with ``--endpoint-url`` for a custom endpoint, ``--recursive``
    when ``recursive``). Local: ``cp /abs/path .`` (``cp -r`` for a folder, detected when ``recursive`` is
    None).
    """
    loc = _parse(uri)
    if loc.path is not None:
        folder = loc.path.is_dir() if recursive is None else recursive
        return f"cp {'-r ' if folder else ''}{shlex.quote(str(loc.path))} ."
    command = f"aws s3 cp {'--recursive ' if recursive else ''}{shlex.quote(loc.uri)} ."
    endpoint = runtime.current().s3_endpoint_url
    if endpoint:
        command += f" --endpoint-url {shlex.quote(endpoint)}"
    return command
