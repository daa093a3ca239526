"""schemathesis against our own OpenAPI document: generated requests to every operation, no 5xx.

The server is real (uvicorn on 127.0.0.1) with the Kubeflow backend pointed at the fake KFP server, so valid
generated run requests are really submitted (and cost no local worker). Requests carry a valid token so
the generator reaches the handlers, not only the 401 in front of them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.api_helpers import SIGNING_SECRET, ApiClient
from tests.conftest import SettingsEnv

if TYPE_CHECKING:
    from tests.fakes.kfp_server import FakeKfpServer

pytest_plugins = ["tests.api_fixtures", "tests.fakes.kfp_server"]

EXAMPLES = 30


@pytest.fixture
def slack_bot_env(api_env: None, settings_env: SettingsEnv) -> None:
    """The Slack bot on (fuzzed events then meet bolt's signature check); the token is never used."""
    settings_env(
        SKIT_SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SKIT_SLACK_TOKEN="xoxb-never-used",
        SKIT_SLACK_API_URL="http://127.0.0.1:9/api/",
    )


def fuzz(operation: Any, base_url: str, headers: dict[str, str], codes: set[int]) -> Any:
    """A hypothesis test that sends generated requests to one operation and fails on any 5xx."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        codes.add(response.status_code)
        case.validate_response(response, checks=[not_a_server_error])

    return check


@pytest.mark.slow
@pytest.mark.timeout(170)
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")  # schemathesis' own
def test_no_operation_answers_a_server_error(
    kfp_server: FakeKfpServer, slack_bot_env: None, client: ApiClient
) -> None:
    headers = client.auth()
    raw = client.http.get("/openapi.json", headers=headers).json()
    schema = schemathesis.openapi.from_dict(raw)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {f"{op.method.upper()} {op.path}" for op in operations}
    assert {
        "POST /token",
        "GET /",
        "GET /pipelines",
        "GET /{namespace}/pipelines/runs",
        "GET /{namespace}/pipelines/runs/{run_id}",
        "POST /slack/events",
        "POST /{namespace}/pipelines/run/fetch_calls_pipeline/",
    } <= labels

    seen: dict[str, set[int]] = {}
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        started = time.monotonic()
        fuzz(operation, client.url, headers, seen.setdefault(label, set()))()
        print(f"{label}: {sorted(seen[label])} in {time.monotonic() - started:.1f}s")
    # The generator got past validation somewhere: some runs were created.
    assert seen["POST /slack/events"] == {401}  # bolt refused every unsigned event
    run_codes = set().union(*(codes for label, codes in seen.items() if "/pipelines/run/" in label))
    assert 200 in run_codes, seen
    assert kfp_server.submitted_runs
