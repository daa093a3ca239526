"""The Label Studio client against a real server: auth kinds, errors that name the problem, paging, exports,
and retries (through a fault-injecting proxy on 127.0.0.1 in front of the real server)."""

import base64
import json
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

import httpx
import pytest

from skit_pipelines.annotation.client import LabelStudioClient
from skit_pipelines.annotation.errors import (
    LabelStudioAuthError,
    LabelStudioNotFoundError,
    LabelStudioRequestError,
    LabelStudioUnreachableError,
)
from skit_pipelines.annotation.label_config import turn_label_config
from skit_pipelines.annotation.upload import ProjectUpload, upload_tasks
from tests.conftest import free_port
from tests.fakes.http import LoopbackHTTPServer, read_body, reply

if TYPE_CHECKING:
    from tests.labelstudio_server import LabelStudioServer

pytest_plugins = ["tests.labelstudio_server"]

CONFIG = turn_label_config(["_confirm_", "_cancel_"])


def _task(n: int) -> dict:
    return {
        "data": {
            "text": f"turn {n}",
            "conversation_uuid": f"u{n}",
            "bot_response": "",
            "audio_url": "",
            "alternatives_text": "",
        }
    }


@pytest.fixture
def client(labelstudio: "LabelStudioServer") -> Iterator[LabelStudioClient]:
    with LabelStudioClient(labelstudio.url, labelstudio.token, backoff=0.01) as c:
        yield c


@pytest.fixture
def project(client: LabelStudioClient) -> int:
    return client.create_project(f"client test {uuid.uuid4().hex[:8]}", CONFIG)["id"]


def test_legacy_token_and_personal_access_token(
    labelstudio: "LabelStudioServer", client: LabelStudioClient
) -> None:
    assert not client.uses_pat and client.whoami()["email"] == labelstudio.username
    assert labelstudio.pat, "the template creates a personal access token"
    with LabelStudioClient(labelstudio.url, labelstudio.pat) as pat_client:
        assert pat_client.uses_pat
        assert pat_client.whoami()["email"] == labelstudio.username  # exchanged for a Bearer access token


def test_wrong_tokens_name_the_server_and_the_setting(labelstudio: "LabelStudioServer") -> None:
    with LabelStudioClient(labelstudio.url, "0" * 40) as bad, pytest.raises(LabelStudioAuthError) as info:
        bad.list_projects()
    assert f"{labelstudio.url}/api/projects" in str(info.value) and "SKIT_LABELSTUDIO_TOKEN" in str(
        info.value
    )
    assert info.value.status == 401
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.bad"
    with (
        LabelStudioClient(labelstudio.url, forged) as bad,
        pytest.raises(LabelStudioAuthError, match="personal access token"),
    ):
        bad.whoami()


def test_a_token_from_the_future_names_the_clocks(labelstudio: "LabelStudioServer") -> None:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    ahead = int(time.time()) + 3600
    token = f"{part({'alg': 'HS256'})}.{part({'token_type': 'refresh', 'iat': ahead})}.bad"
    with LabelStudioClient(labelstudio.url, token) as bad, pytest.raises(LabelStudioAuthError) as info:
        bad.whoami()
    assert "s after the server's clock (check the clocks of both machines)" in str(info.value)
    seconds = int(str(info.value).split(", ")[1].split(" s after")[0])
    assert 3500 < seconds < 3700
    forged = f"{part({'alg': 'HS256'})}.{part({'token_type': 'refresh', 'iat': int(time.time()) - 60})}.bad"
    with LabelStudioClient(labelstudio.url, forged) as bad, pytest.raises(LabelStudioAuthError) as info:
        bad.whoami()
    assert "clock" not in str(info.value)  # a past issue time is not the reason: no hint


def test_unreachable_server_after_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with (
        LabelStudioClient(url, "t" * 40, attempts=2, backoff=0.01) as dead,
        pytest.raises(LabelStudioUnreachableError, match=f"{url} is unreachable.*2 attempt"),
    ):
        dead.get_project(1)


def test_missing_project_is_named(client: LabelStudioClient, labelstudio: "LabelStudioServer") -> None:
    with pytest.raises(LabelStudioNotFoundError, match="project 987654 does not exist") as info:
        client.get_project(987654)
    assert info.value.url == f"{labelstudio.url}/api/projects/987654" and info.value.project_id == 987654
    with pytest.raises(LabelStudioNotFoundError, match="project 987654"):
        list(client.iter_tasks(987654))


def test_import_page_and_export_both_ways(client: LabelStudioClient, project: int) -> None:
    imported = client.import_tasks(project, [_task(n) for n in range(5)])
    assert imported.task_count == 5 and len(imported.task_ids) == 5
    listed = list(client.iter_tasks(project, page_size=2))  # pages of 2, 2, 1
    assert sorted(t["data"]["conversation_uuid"] for t in listed) == [f"u{n}" for n in range(5)]
    client.create_annotation(
        imported.task_ids[0],
        [
            {
                "from_name": "tag",
                "to_name": "transcript",
                "type": "choices",
                "value": {"choices": ["_cancel_"]},
            }
        ],
    )
    direct = client.export_tasks(project, snapshot=False)
    snapshot = client.export_tasks(project, snapshot=True)
    for export in (direct, snapshot):
        assert len(export) == 5  # unannotated tasks included
        (annotated,) = [t for t in export if t["annotations"]]
        assert annotated["id"] == imported.task_ids[0]
        assert annotated["annotations"][0]["result"][0]["value"]["choices"] == ["_cancel_"]
    assert (
        client.get_project(project)["title"]
        == client.find_project(client.get_project(project)["title"])["title"]
    )


def test_refused_import_says_why(client: LabelStudioClient, project: int) -> None:
    with pytest.raises(LabelStudioRequestError, match=r"HTTP 400 \(project \d+\).*text"):
        client.import_tasks(project, [{"data": {"no_text": "x"}}])


# ---------------------------------------------------------------------------------- fault injection


class FlakyProxy(LoopbackHTTPServer):
    """Forwards to the real server, but answers ``status`` to the first ``times`` requests matching a path."""

    thread_name = "flaky-proxy"

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target
        self.rules: list[list] = []  # [method, path prefix, status, times left]
        self.seen: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return self.base_url

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = read_body(handler)
        self.seen.append((handler.command, handler.path))
        for rule in self.rules:
            if rule[0] == handler.command and handler.path.startswith(rule[1]) and rule[3] > 0:
                rule[3] -= 1
                reply(handler, rule[2])
                return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length")}
        answer = httpx.request(handler.command, self.target + handler.path, headers=headers, content=body)
        passed = {
            key: value
            for key, value in answer.headers.items()
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")
        }
        reply(handler, answer.status_code, answer.content, headers=passed)

    def fail(self, method: str, path: str, status: int, times: int) -> None:
        self.rules.append([method, path, status, times])

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p in self.seen if m == method and p.startswith(path))


@pytest.fixture
def proxy(labelstudio: "LabelStudioServer") -> Iterator[FlakyProxy]:
    with FlakyProxy(labelstudio.url) as flaky:
        yield flaky


def test_reads_are_retried_on_5xx(proxy: FlakyProxy, labelstudio: "LabelStudioServer", project: int) -> None:
    proxy.fail("GET", f"/api/projects/{project}", 503, times=2)
    with LabelStudioClient(proxy.url, labelstudio.token, attempts=3, backoff=0.01) as flaky:
        assert flaky.get_project(project)["id"] == project
    assert proxy.count("GET", f"/api/projects/{project}") == 3


def test_an_import_is_not_retried_when_it_may_have_happened(
    proxy: FlakyProxy, labelstudio: "LabelStudioServer", client: LabelStudioClient, project: int
) -> None:
    path = f"/api/projects/{project}/import"
    proxy.fail("POST", path, 500, times=1)  # the application may have run: a retry could duplicate tasks
    with LabelStudioClient(proxy.url, labelstudio.token, attempts=3, backoff=0.01) as flaky:
        with pytest.raises(LabelStudioRequestError, match="HTTP 500"):
            flaky.import_tasks(project, [_task(1)])
        assert proxy.count("POST", path) == 1
        proxy.fail("POST", path, 503, times=1)  # a proxy refusal: the request never reached the application
        assert flaky.import_tasks(project, [_task(2)]).task_count == 1
        assert proxy.count("POST", path) == 3
    assert [t["data"]["conversation_uuid"] for t in client.iter_tasks(project)] == ["u2"]


def test_gives_up_after_the_attempts(
    proxy: FlakyProxy, labelstudio: "LabelStudioServer", project: int
) -> None:
    proxy.fail("GET", f"/api/projects/{project}", 502, times=10)
    with (
        LabelStudioClient(proxy.url, labelstudio.token, attempts=3, backoff=0.01) as flaky,
        pytest.raises(LabelStudioRequestError, match=f"HTTP 502 \\(project {project}\\)"),
    ):
        flaky.get_project(project)
    assert proxy.count("GET", f"/api/projects/{project}") == 3


def test_a_refused_batch_is_reported_and_the_rest_goes_on(client: LabelStudioClient, project: int) -> None:
    keyed = [(f"u{n}", _task(n)) for n in range(5)]
    keyed[3] = ("u3", {"data": {"conversation_uuid": "u3"}})  # no `text`: the server refuses its batch
    keyed.append(("u0", _task(0)))  # repeated in the file
    report = upload_tasks(
        client, ProjectUpload(project, "turn"), keyed, key="conversation_uuid", batch_size=2
    )
    assert (report.uploaded, report.failed, report.duplicates_in_file, report.batches) == (3, 2, 1, 3)
    (failure,) = report.failures
    assert failure.batch == 2 and failure.tasks == 2 and failure.first_key == "u2"
    assert "HTTP 400" in failure.error and "key is expected in task data" in failure.error
    assert sorted(t["data"]["conversation_uuid"] for t in client.iter_tasks(project)) == ["u0", "u1", "u4"]
    again = upload_tasks(client, ProjectUpload(project, "turn"), keyed[:3], key="conversation_uuid")
    assert (again.uploaded, again.duplicates_in_project, again.duplicates_in_file) == (1, 2, 0)  # u2 retried
