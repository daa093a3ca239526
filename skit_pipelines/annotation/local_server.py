"""Start a local Label Studio (from its own virtualenv) for users (`make labelstudio`) and for the tests.

Why a separate virtualenv: Label Studio is a ~1 GB Django application with its own pinned dependencies; it is
a tool we talk to over HTTP, not a library of ours, so it lives in ``.venv-labelstudio`` and never shares
packages with ``.venv``.

Facts this relies on (measured with Label Studio 1.23, DESIGN.md section 5):
- ``label-studio start --no-browser --internal-host 127.0.0.1 --port P --username U --password W
  --user-token T --enable-legacy-api-token`` with ``LABEL_STUDIO_BASE_DATA_DIR`` and ``HOME`` pointing at a
  scratch folder starts a server with user U whose legacy token is T (only on a new data dir).
- A cold start (database migrations) takes ~25 s on an idle machine (minutes on a busy one), a warm one
  ~3-10 s. The data dir (SQLite database + ``.env``
  with the Django SECRET_KEY) can be copied: the copy starts warm and keeps users, tokens and PATs.
- ``POST /api/token/`` creates the user's one personal access token (409 once it exists; shown only once).
- ``label-studio --version`` starts a server: never call it.
- Label Studio signs its JWTs (personal access tokens) with the Django SECRET_KEY. Left alone it generates one
  on a first start and appends it to ``<data dir>/.env`` only if that write succeeds (a failed write is just a
  warning, and every later start then signs with a new random key). We write the key ourselves before the
  first start, so the key that signs a template's PAT is always in the data dir that is copied
  (:func:`ensure_secret_key`).

    python -m skit_pipelines.annotation.local_server [--port 8080] [--data-dir .skit/labelstudio]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from skit_pipelines.errors import SkitPipelinesError
from skit_pipelines.localfiles import atomic_path

DEFAULT_VENV = Path(".venv-labelstudio")
INSTALL_HINT = "python3 -m venv .venv-labelstudio && .venv-labelstudio/bin/pip install label-studio"
CREDENTIALS_FILE = "skit-credentials.json"
SECRET_KEY_FILE = ".env"  # where Label Studio reads (and would otherwise generate) its Django SECRET_KEY
START_TIMEOUT = 480.0  # a cold start migrates a database: minutes on a busy 2-core machine
STOP_TIMEOUT = 20.0


class LabelStudioNotInstalledError(SkitPipelinesError, FileNotFoundError):
    """No ``label-studio`` executable in the virtualenv; the message says how to install it."""


class PortInUseError(SkitPipelinesError, OSError):
    """Something already listens on the port (typically a Label Studio started earlier)."""


@dataclass
class Credentials:
    username: str
    password: str
    token: str  # legacy API token
    pat: str = ""  # personal access token (refresh JWT), created on first start

    @classmethod
    def generate(cls) -> Credentials:
        return cls(
            username="admin@example.com", password=secrets.token_urlsafe(12), token=secrets.token_hex(20)
        )

    @classmethod
    def load(cls, data_dir: Path) -> Credentials | None:
        path = data_dir / CREDENTIALS_FILE
        if not path.is_file():
            return None
        return cls(**json.loads(path.read_text()))

    def save(self, data_dir: Path) -> None:
        path = data_dir / CREDENTIALS_FILE
        with atomic_path(path) as scratch:
            scratch.write_text(json.dumps(self.__dict__, indent=2))
            scratch.chmod(0o600)  # tokens: readable by their owner only, before the file appears


@dataclass
class LocalLabelStudio:
    """A running server: ``url``, the credentials, its data dir and log file."""

    url: str
    credentials: Credentials
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def token(self) -> str:
        return self.credentials.token

    def stop(self) -> None:
        """SIGTERM the server's process group (it forks workers), then SIGKILL after a grace period."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT)


def executable(venv: Path = DEFAULT_VENV) -> Path:
    path = Path(venv) / "bin" / "label-studio"
    if not path.is_file():
        raise LabelStudioNotInstalledError(
            f"Label Studio is not installed in {venv} (no {path}); install it with: {INSTALL_HINT}"
        )
    return path.resolve()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_port_free(port: int) -> None:
    """Refuse a port that something answers on.

    Why: Label Studio quietly moves to the next port when its port is taken, and the server already there
    (often our own earlier Label Studio, same token) answers the readiness checks, so we would print a URL
    that belongs to another process.
    """
    with socket.socket() as sock:
        sock.settimeout(1.0)
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise PortInUseError(
                f"port {port} is in use (another Label Studio?); stop it, or choose another port with "
                "--port / LABELSTUDIO_PORT"
            )


def ensure_secret_key(data_dir: Path) -> None:
    """Give ``data_dir`` a Django SECRET_KEY before Label Studio starts, unless it has one.

    Why: see the module docstring (a PAT is only as durable as the key that signed it).
    Appends, never rewrites: a user's own ``.env`` lines stay as they are. Readable by its owner only, as
    Label Studio itself makes it (the key signs every token).
    """
    path = Path(data_dir) / SECRET_KEY_FILE
    existing = path.read_text() if path.is_file() else ""
    if any(line.strip().startswith("SECRET_KEY=") for line in existing.splitlines()):
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a") as handle:
        separator = "" if not existing or existing.endswith("\n") else "\n"
        handle.write(f"{separator}SECRET_KEY={secrets.token_urlsafe(50)}\n")


def start_command(program: Path, port: int, credentials: Credentials) -> list[str]:
    """``label-studio start`` for ``credentials`` on 127.0.0.1:``port``.

    Every value is attached to its option (``--password=...``): a generated password may begin with ``-``
    (``token_urlsafe`` uses that character), and argparse would take it for an option and refuse to start.
    """
    return [
        str(program),
        "start",
        "--no-browser",
        "--internal-host=127.0.0.1",
        f"--port={port}",
        f"--username={credentials.username}",
        f"--password={credentials.password}",
        f"--user-token={credentials.token}",
        "--enable-legacy-api-token",
    ]


def start(
    data_dir: Path,
    credentials: Credentials,
    *,
    port: int | None = None,
    venv: Path = DEFAULT_VENV,
    timeout: float = START_TIMEOUT,
) -> LocalLabelStudio:
    """Start Label Studio on 127.0.0.1 with ``data_dir`` as its home; return once the token works."""
    program = executable(venv)
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_secret_key(data_dir)
    port = port or free_port()
    ensure_port_free(port)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SKIT_", "DJANGO_"))}
    env |= {
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "HOME": str(data_dir),
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    log_path = data_dir / "server.log"
    command = start_command(program, port, credentials)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=data_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = LocalLabelStudio(f"http://127.0.0.1:{port}", credentials, data_dir, log_path, process)
    try:
        wait_until_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_ready(server: LocalLabelStudio, timeout: float) -> None:
    """Poll ``/health`` and then an authenticated call until both answer (or the process dies)."""
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Token {server.token}"}
    with httpx.Client(base_url=server.url, timeout=5.0) as http:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"Label Studio exited with code {server.process.returncode} while starting; "
                    f"see {server.log_path}:\n{_tail(server.log_path)}"
                )
            try:
                if (
                    http.get("/health").status_code == 200
                    and http.get("/api/current-user/whoami", headers=headers).status_code == 200
                ):
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Label Studio at {server.url} not ready after {timeout:.0f} s; see "
                    f"{server.log_path}:\n{_tail(server.log_path)}"
                )
            time.sleep(0.25)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def create_pat(url: str, token: str) -> str:
    """The user's personal access token (created now; '' if one exists already and cannot be shown)."""
    response = httpx.post(f"{url}/api/token/", headers={"Authorization": f"Token {token}"}, timeout=30)
    if response.status_code == 409:
        return ""
    response.raise_for_status()
    return response.json()["token"]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def warm_template(template: Path, *, venv: Path = DEFAULT_VENV) -> Credentials:
    """A migrated data dir with a user, a legacy token and a PAT, made once (cold start) and then reused.

    Safe when several test sessions start at once: a file lock serialises the cold start, and the template
    only appears (``os.replace``) when complete.
    """
    template = Path(template)
    with _locked(template.with_name(template.name + ".lock")):
        found = Credentials.load(template)
        if found is not None:
            return found
        executable(venv)  # fail with the install hint before making anything
        if template.exists():  # left over from an interrupted run (no credentials file): start over
            shutil.rmtree(template)
        scratch = Path(tempfile.mkdtemp(prefix=f".{template.name}.", dir=template.parent))
        try:
            credentials = Credentials.generate()
            server = start(scratch, credentials, venv=venv)
            try:
                credentials.pat = create_pat(server.url, credentials.token)
            finally:
                server.stop()
            credentials.save(scratch)
            (scratch / "server.log").unlink(missing_ok=True)
            os.replace(scratch, template)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        return credentials


def start_from_template(
    template: Path, data_dir: Path, *, venv: Path = DEFAULT_VENV, port: int | None = None
) -> LocalLabelStudio:
    """Copy the warm template into ``data_dir`` (a scratch folder of its own) and start it there."""
    credentials = warm_template(template, venv=venv)
    with _locked(template.with_name(template.name + ".lock")):
        shutil.copytree(template, data_dir, dirs_exist_ok=True)
    return start(data_dir, credentials, venv=venv, port=port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start a local Label Studio and print its URL and token.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LABELSTUDIO_PORT", "8080")))
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("SKIT_HOME", ".skit")) / "labelstudio"
    )
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    args = parser.parse_args(argv)
    try:
        executable(args.venv)
        ensure_port_free(args.port)
    except (LabelStudioNotInstalledError, PortInUseError) as exc:
        print(exc, file=sys.stderr)
        return 2
    # SIGTERM/SIGHUP (a closed terminal, `kill`, a supervisor) end us like Ctrl-C does: the server, in its own
    # process group so that Ctrl-C reaches us first, is stopped with us instead of left running alone.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    data_dir = args.data_dir.resolve()
    credentials = Credentials.load(data_dir)
    first = credentials is None
    if credentials is None:
        # Saved before the first start: an interrupted first start is resumed with the same user and token.
        credentials = Credentials.generate()
        data_dir.mkdir(parents=True, exist_ok=True)
        credentials.save(data_dir)
    print(
        f"starting Label Studio in {data_dir} on port {args.port}"
        + (" (first start: database migrations take a minute or more)" if first else ""),
        flush=True,
    )
    try:
        server = start(data_dir, credentials, port=args.port, venv=args.venv)  # stops it if interrupted
    except KeyboardInterrupt:
        print("interrupted before Label Studio was ready; stopped it", file=sys.stderr, flush=True)
        return 130
    except PortInUseError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        _announce(server, credentials)
        while server.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        print("stopping Label Studio ...", flush=True)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second signal must not cut the stop short
        server.stop()
    return 0


def _announce(server: LocalLabelStudio, credentials: Credentials) -> None:
    """Create the personal access token on the first start, then print the URL the server really has."""
    if not credentials.pat:
        credentials.pat = create_pat(server.url, credentials.token)
        if credentials.pat:
            credentials.save(server.data_dir)
    print(
        f"""
Label Studio is running at {server.url}
  login:  {credentials.username} / {credentials.password}
  token:  {credentials.token}   (legacy API token; credentials in {server.data_dir / CREDENTIALS_FILE})

Use it from skit-pipelines:
  export SKIT_LABELSTUDIO_URL={server.url}
  export SKIT_LABELSTUDIO_TOKEN={credentials.token}

Log: {server.log_path}. Press Ctrl-C to stop.""",
        flush=True,
    )


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


if __name__ == "__main__":
    sys.exit(main())
