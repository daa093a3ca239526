"""Alias/groups/layers YAMLs from local paths, artifact URIs and http(s) URLs; failures name the parameter."""

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from skit_pipelines import storage
from skit_pipelines.jobs.yaml_inputs import (
    InvalidYamlInputError,
    load_alias,
    load_groups,
    load_layers,
    read_yaml_input,
)
from tests.fakes.http import LoopbackHTTPServer, reply

ALIAS = "_confirm_:\n  - _confirm_wifi_\n  - yes_please\n_cancel_: [_cancel_browse_]\n"
LAYERS = "intent_x:\n  acoustic_oos: [audio_silent, _]\n  lexical_oos: [ood]\nintent_y:\n  oos: [oos, _]\n"


class YamlServer(LoopbackHTTPServer):
    """A real HTTP server on 127.0.0.1: ``routes`` maps a path to a list of (status, body) answers."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, list[tuple[int, str]]] = {}
        self.hits: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return self.base_url

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        self.hits.append((handler.path, handler.headers.get("Authorization", "")))
        answers = self.routes.get(handler.path, [(404, "Not Found")])
        status, body = answers.pop(0) if len(answers) > 1 else answers[0]
        if 300 <= status < 400:  # the body is the Location
            reply(handler, status, b"", headers={"Location": body})
        else:
            reply(handler, status, body.encode())


@pytest.fixture
def yaml_server() -> Iterator[YamlServer]:
    with YamlServer() as server:
        yield server


def test_empty_path_means_no_yaml() -> None:
    assert read_yaml_input("", "p") is None and load_alias("  ") is None and load_layers("") is None


def test_local_path_and_artifact_uri(tmp_path: Path) -> None:
    path = tmp_path / "alias.yaml"
    path.write_text(ALIAS)
    expected = {"_confirm_": ["_confirm_wifi_", "yes_please"], "_cancel_": ["_cancel_browse_"]}
    assert load_alias(str(path)) == expected
    assert load_alias(path.as_uri()) == expected  # file:// URI
    uri = storage.upload_bytes(ALIAS.encode(), reference="yamls", file_type="alias", ext=".yaml")
    assert load_alias(uri) == expected


def test_s3_artifact_uri(s3_bucket: str) -> None:
    uri = storage.upload_bytes(
        b"smalltalk_intents: [_confirm_, _cancel_]\n", reference="y", file_type="groups", ext=".yaml"
    )
    assert uri.startswith(f"s3://{s3_bucket}/")
    assert load_groups(uri) == {"smalltalk_intents": ["_confirm_", "_cancel_"]}


def test_http_url(yaml_server: YamlServer) -> None:
    yaml_server.routes["/skit-ai/eevee-yamls/main/intents/oppo/layers.yaml"] = [(200, LAYERS)]
    layers = load_layers(
        f"{yaml_server.url}/skit-ai/eevee-yamls/main/intents/oppo/layers.yaml",
        headers={"Authorization": "token abc"},
    )
    assert layers.true_layers == {"acoustic_oos": ["audio_silent", "_"], "lexical_oos": ["ood"]}
    assert layers.pred_layers == {"oos": ["oos", "_"]} and layers.predicted_layer == "oos"
    assert yaml_server.hits == [("/skit-ai/eevee-yamls/main/intents/oppo/layers.yaml", "token abc")]


def test_http_errors_name_the_parameter(yaml_server: YamlServer) -> None:
    with pytest.raises(InvalidYamlInputError, match=r"eevee_intent_alias_yaml_github_path: GET .* HTTP 404"):
        load_alias(f"{yaml_server.url}/missing.yaml")
    assert len(yaml_server.hits) == 1  # a 404 is not retried


def test_redirects_are_followed_hop_by_hop_and_tokens_stay_with_their_host(yaml_server: YamlServer) -> None:
    """Each hop passes the read policy (and is pinned when confined); another host never sees the token."""
    port = yaml_server.url.rsplit(":", 1)[1]
    yaml_server.routes["/moved.yaml"] = [(302, "/alias.yaml")]
    yaml_server.routes["/alias.yaml"] = [(200, ALIAS)]
    yaml_server.routes["/elsewhere.yaml"] = [(301, f"http://localhost:{port}/alias.yaml")]
    token = {"Authorization": "token abc"}
    assert load_alias(f"{yaml_server.url}/moved.yaml", headers=token)["_cancel_"] == ["_cancel_browse_"]
    assert yaml_server.hits == [("/moved.yaml", "token abc"), ("/alias.yaml", "token abc")]
    yaml_server.hits.clear()
    assert load_alias(f"{yaml_server.url}/elsewhere.yaml", headers=token)["_cancel_"] == ["_cancel_browse_"]
    assert yaml_server.hits == [("/elsewhere.yaml", "token abc"), ("/alias.yaml", "")]
    yaml_server.routes["/loop.yaml"] = [(302, "/loop.yaml")]
    with pytest.raises(InvalidYamlInputError, match="TooManyRedirects"):
        load_alias(f"{yaml_server.url}/loop.yaml")


def test_http_server_errors_are_retried(yaml_server: YamlServer) -> None:
    yaml_server.routes["/flaky.yaml"] = [(503, "busy"), (200, ALIAS)]
    assert load_alias(f"{yaml_server.url}/flaky.yaml")["_cancel_"] == ["_cancel_browse_"]
    assert len(yaml_server.hits) == 2


def test_bad_paths_and_shapes(tmp_path: Path) -> None:
    expected = "intents/oppo/alias.yaml.*not a local file.*raw.githubusercontent"
    with pytest.raises(InvalidYamlInputError, match=expected):
        load_alias("intents/oppo/alias.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [b\n")
    with pytest.raises(InvalidYamlInputError, match="eevee_intent_groups_yaml_github_path.*not valid YAML"):
        load_groups(str(broken))
    twice = tmp_path / "twice.yaml"
    twice.write_text("x: [a, b]\ny: [b]\n")
    with pytest.raises(
        InvalidYamlInputError, match="intent 1 of alias entry 2 is already listed under alias entry 1"
    ):
        load_alias(str(twice))
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(InvalidYamlInputError, match="expected a mapping of group name"):
        load_groups(str(listy))
    one_side = tmp_path / "layers.yaml"
    one_side.write_text("intent_x: {acoustic_oos: [a]}\n")
    with pytest.raises(InvalidYamlInputError, match="expected keys intent_x.*intent_y"):
        load_layers(str(one_side))
