"""`make labelstudio` (``python -m skit_pipelines.annotation.local_server``) as a real process.

It must never print another server's URL, and a SIGTERM to it must not leave Label Studio running alone.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from skit_pipelines.annotation import local_server
from tests.api_helpers import wait_for
from tests.conftest import free_port, skip_or_fail
from tests.labelstudio_server import TEMPLATE, VENV


def script(*args: str) -> list[str]:
    return [sys.executable, "-m", "skit_pipelines.annotation.local_server", "--venv", str(VENV), *args]


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def installed() -> None:
    try:
        local_server.executable(VENV)
    except local_server.LabelStudioNotInstalledError as exc:
        skip_or_fail(str(exc))


def test_a_port_in_use_is_refused_not_moved(installed: None, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            script("--port", str(port), "--data-dir", str(tmp_path / "ls")),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"port {port} is in use (another Label Studio?)" in result.stderr
    assert "is running at" not in result.stdout


def test_sigterm_stops_label_studio_with_the_script(installed: None, tmp_path: Path) -> None:
    local_server.warm_template(TEMPLATE, venv=VENV)  # the tests' migrated data dir: a warm start
    data_dir = tmp_path / "ls"
    shutil.copytree(TEMPLATE, data_dir)
    port = free_port()
    out = tmp_path / "script.out"
    with open(out, "wb") as handle:
        process = subprocess.Popen(
            script("--port", str(port), "--data-dir", str(data_dir)),
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server_pid = 0
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(
            lambda: f"is running at {url}\n" in out.read_text() or process.poll() is not None,
            480,
            0.5,
            "Label Studio to start",
        )
        assert process.poll() is None, out.read_text()
        (server_pid,) = children(process.pid)
        assert httpx.get(url + "/health", timeout=5).status_code == 200

        os.kill(process.pid, signal.SIGTERM)  # the script alone, as `kill <pid>` or a supervisor does
        assert process.wait(60) == 0, out.read_text()
        wait_for(lambda: not alive(server_pid), 30, 0.2, "the Label Studio server to stop")
        with pytest.raises(httpx.TransportError):
            httpx.get(url + "/health", timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if server_pid and alive(server_pid):
            os.killpg(server_pid, signal.SIGKILL)  # its own process group (start_new_session)


def test_secret_key_is_written_once_before_the_first_start(tmp_path: Path) -> None:
    """PATs are JWTs signed with it: the key must be in the data dir before Label Studio signs anything."""
    local_server.ensure_secret_key(tmp_path)
    env_file = tmp_path / local_server.SECRET_KEY_FILE
    first = env_file.read_text()
    assert first.count("SECRET_KEY=") == 1 and len(first.strip()) > len("SECRET_KEY=") + 40
    assert env_file.stat().st_mode & 0o777 == 0o600
    local_server.ensure_secret_key(tmp_path)
    assert env_file.read_text() == first  # kept: tokens signed with it stay valid


def test_secret_key_keeps_a_users_env_lines(tmp_path: Path) -> None:
    env_file = tmp_path / local_server.SECRET_KEY_FILE
    env_file.write_text("LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true")  # no final newline
    local_server.ensure_secret_key(tmp_path)
    lines = env_file.read_text().splitlines()
    assert lines[0] == "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true"
    assert len(lines) == 2 and lines[1].startswith("SECRET_KEY=")
    env_file.write_text("SECRET_KEY=mine\n")
    local_server.ensure_secret_key(tmp_path)
    assert env_file.read_text() == "SECRET_KEY=mine\n"


def test_values_that_look_like_options_reach_label_studio() -> None:
    """A generated password may begin with '-': Label Studio's own parser must read it as the value."""
    import argparse

    credentials = local_server.Credentials("admin@example.com", "-Xq1_-abc", "-" + "0" * 39)
    command = local_server.start_command(Path("label-studio"), 8080, credentials)
    parser = argparse.ArgumentParser()  # parses options as label-studio start does (argparse, long options)
    for option in ("--internal-host", "--port", "--username", "--password", "--user-token"):
        parser.add_argument(option)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--enable-legacy-api-token", action="store_true")
    parsed = parser.parse_args(command[2:])
    assert (parsed.password, parsed.user_token, parsed.port) == ("-Xq1_-abc", "-" + "0" * 39, "8080")
