"""What a run may read (issue 11.1): API/Slack runs only under the allowed roots, secrets never, and no error
ever quotes an input file's content.

The policy is checked where inputs are opened (storage and the readers that open files themselves) and, for
runs submitted through the API, at submission. Files are real, the API is a real uvicorn server, runs execute
in real worker processes; Slack and the webhook receiver are the loopback fakes.
"""

from __future__ import annotations

import json
import traceback
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from skit_pipelines import storage
from skit_pipelines.annotation.upload import read_rows
from skit_pipelines.api.settings import get_api_settings
from skit_pipelines.asr_nbest import NbestMode, parse_nbest
from skit_pipelines.config import get_settings
from skit_pipelines.features import Separators, build_model_texts, true_labels
from skit_pipelines.jobs.entity_eval import read_entity_dataset
from skit_pipelines.jobs.model_archive import open_model
from skit_pipelines.jobs.yaml_inputs import load_alias, load_groups, load_layers
from skit_pipelines.metrics.entity.report import require_columns
from skit_pipelines.metrics.tagged import intent_data, read_tagged_csv
from skit_pipelines.readpolicy import ReadPolicy, ReadRefusedError, api_policy
from tests.api_helpers import ApiClient, WebhookReceiver
from tests.conftest import SettingsEnv
from tests.fakes.http import LoopbackHTTPServer, reply
from tests.test_cli import cli
from tests.test_eer_pipeline import write_dataset

if TYPE_CHECKING:
    from tests.fakes.slack_server import FakeSlackServer

pytest_plugins = ["tests.api_fixtures", "tests.fakes.slack_server"]

pytestmark = pytest.mark.timeout(180)

MARKER = "SECRET-MARKER-7f3a9c"


def confine(monkeypatch: pytest.MonkeyPatch, readable: str = "") -> None:
    """This test process reads as an API worker does (the same environment the worker sets)."""
    settings = get_settings()
    policy = api_policy(settings.effective_artifact_root, readable, settings.secret_paths)
    for name, value in policy.environment().items():
        monkeypatch.setenv(name, value)


def artifact_root() -> Path:
    root = Path(get_settings().effective_artifact_root)
    root.mkdir(parents=True, exist_ok=True)
    return root


def full_text(exc: BaseException) -> str:
    """The message and the whole traceback as a run's error logs would show it (chained causes included)."""
    return "".join(traceback.format_exception(exc))


# -- secrets: never readable, CLI included ---------------------------------------------------------------
def test_cli_reads_any_local_file_but_never_a_secrets_file(tmp_path: Path, isolated_settings: Path) -> None:
    outside = tmp_path / "elsewhere" / "data.csv"
    outside.parent.mkdir()
    outside.write_text("a,b\n1,2\n")
    assert storage.read_text(str(outside)) == "a,b\n1,2\n"  # not confined: a local user reads local files

    secrets = [tmp_path / ".env", tmp_path / ".env.production", tmp_path / "prod.env"]
    for secret in secrets:
        secret.write_text(f"SKIT_JWT_SECRET={MARKER}\n")
    link = tmp_path / "innocent.csv"
    link.symlink_to(tmp_path / ".env")
    jwt_file = get_api_settings().state_dir / "jwt-secret"
    get_api_settings().jwt_key()  # generated and kept under SKIT_HOME/api
    assert jwt_file.is_file()
    for location in [*map(str, secrets), str(link), f"file://{secrets[0]}", str(jwt_file)]:
        with pytest.raises(ReadRefusedError, match="never readable") as refused:
            storage.read_text(location)
        assert MARKER not in full_text(refused.value)
        with pytest.raises(ReadRefusedError):
            storage.download_file(location, tmp_path / "copy")
    assert not (tmp_path / "copy").exists()
    folder = tmp_path / "model-folder"
    folder.mkdir()
    (folder / "labels.json").write_text("{}")
    (folder / ".env").write_text(MARKER)
    with pytest.raises(ReadRefusedError):  # a folder holding a secrets file is refused as a whole
        storage.download_directory(str(folder), tmp_path / "copied-folder")
    assert not (tmp_path / "copied-folder").exists()
    with pytest.raises(ReadRefusedError, match="cannot be written"):  # nor written over, by an output path
        storage.upload_bytes(b"x", reference="r", file_type="t", output_path=str(secrets[0]))
    assert secrets[0].read_text() == f"SKIT_JWT_SECRET={MARKER}\n"


# -- confined: API runs read only under the allowed roots ------------------------------------------------
def test_confined_runs_read_only_under_the_artifact_root_and_the_listed_paths(
    tmp_path: Path, isolated_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = artifact_root()
    inside = root / "project" / "x.csv"
    inside.parent.mkdir(parents=True)
    inside.write_text("ok")
    shared = tmp_path / "shared-data"
    shared.mkdir()
    (shared / "y.csv").write_text("shared")
    outside = tmp_path / "private.csv"
    outside.write_text(MARKER)
    (root / "project" / "escape.csv").symlink_to(outside)
    confine(monkeypatch, readable=str(shared))

    assert storage.read_text(str(inside)) == "ok"
    assert storage.read_text(f"file://{inside}") == "ok"
    assert storage.read_text(str(shared / "y.csv")) == "shared"
    for location in [
        str(outside),
        f"{root}/project/../../private.csv",
        str(root / "project" / "escape.csv"),  # a link inside the root that points out of it
        "/etc/passwd",
        "../../../../etc/passwd",
    ]:
        with pytest.raises(ReadRefusedError, match="may only read") as refused:
            storage.read_text(location)
        assert MARKER not in full_text(refused.value)
    with pytest.raises(ReadRefusedError):
        open_model(str(tmp_path), tmp_path / "work")  # a model folder is read in place: same rule
    # an explicit output path of a confined run stays under the artifact root too
    assert storage.upload_bytes(b"m", reference="r", file_type="t", output_path=str(root / "m.bin"))
    with pytest.raises(ReadRefusedError, match="may only write under the artifact root"):
        storage.upload_bytes(b"m", reference="r", file_type="t", output_path=str(outside))
    assert outside.read_text() == MARKER
    with pytest.raises(ReadRefusedError):
        read_entity_dataset(str(outside))


def test_s3_prefixes_and_url_prefixes_of_a_confined_policy() -> None:
    policy = ReadPolicy.create(
        confined=True, allowed=["s3://bucket/team", "http://127.0.0.1:9/yamls/"], secrets=()
    )
    policy.check("s3://bucket/team/a.csv")
    policy.check("s3://bucket/team")
    policy.check("http://127.0.0.1:9/yamls/alias.yaml", urls=True)
    refused = [
        ("s3://bucket/teammate/a.csv", False),
        ("s3://other/team/a.csv", False),
        ("s3://bucket/team/../secret.csv", False),
        ("http://127.0.0.1:9/admin", True),  # loopback outside the listed prefix
        ("http://127.0.0.1:9/yamls/%2e%2e/admin", True),
        ("http://localhost:8080/x.yaml", True),
        ("http://10.1.2.3/x.yaml", True),
        ("http://127.0.0.1:9/yamls/a.yaml", False),  # a URL where the parameter takes no URL
    ]
    for location, urls in refused:
        with pytest.raises(ReadRefusedError):
            policy.check(location, parameter="p", urls=urls)
    open_policy = ReadPolicy.create(confined=False, allowed=[], secrets=())
    open_policy.check("s3://any/thing")
    open_policy.check("http://127.0.0.1:1/x.yaml", urls=True)


class Redirector(LoopbackHTTPServer):
    """A real loopback server that answers every request with a redirect to ``target``."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        reply(handler, 302, headers={"Location": self.target})


def test_a_yaml_url_cannot_redirect_a_confined_run_to_a_private_address(
    monkeypatch: pytest.MonkeyPatch, isolated_settings: Path
) -> None:
    from tests.test_intent_yaml_inputs import YamlServer

    with YamlServer() as target, Redirector(f"{target.url}/alias.yaml") as allowed:
        target.routes["/alias.yaml"] = [(200, "a: [b]\n")]
        assert load_alias(f"{allowed.base_url}/alias.yaml") == {"a": ["b"]}  # not confined: followed
        target.hits.clear()
        confine(monkeypatch, readable=allowed.base_url)
        with pytest.raises(ReadRefusedError, match="loopback, private"):
            load_alias(f"{allowed.base_url}/alias.yaml")
        assert not target.hits


def test_every_location_parameter_of_every_pipeline_is_declared() -> None:
    """A new pipeline (or parameter) that names a file must say whether it is read or written."""
    from skit_pipelines.pipeline_checks import INPUT_LOCATIONS, OUTPUT_LOCATIONS
    from skit_pipelines.pipelines import PIPELINES

    for name, pipeline in PIPELINES.items():
        parameters = pipeline.component_spec.inputs or {}
        looks_like_location = {p for p in parameters if p.endswith(("_path", "_uri")) or "_path_" in p}
        declared = set(INPUT_LOCATIONS.get(name, {})) | OUTPUT_LOCATIONS.get(name, frozenset())
        assert looks_like_location <= declared, (name, looks_like_location - declared)
        assert set(INPUT_LOCATIONS.get(name, {})) <= set(parameters), name


# -- (b) errors say which file, where and what was expected, never what the file holds ------------------
def test_reader_errors_name_the_file_but_never_quote_it(tmp_path: Path, isolated_settings: Path) -> None:
    def write(name: str, content: str | bytes) -> str:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return str(path)

    broken_yaml = write("broken.yaml", f"alias:\n  - [{MARKER}\n  other: ]: x\n")
    keyed_yaml = write("keyed.yaml", f"{MARKER}:\n  nested: 1\n")
    layers_yaml = write("layers.yaml", f"{MARKER}: {{}}\nother: 1\n")
    twice_yaml = write("twice.yaml", f"a: [{MARKER}]\nb: [{MARKER}]\n")
    binary = write("binary.yaml", b"\xff\xfe" + MARKER.encode())
    header_csv = write("header.csv", f"{MARKER},other\n1,2\n")
    ragged_csv = write("ragged.csv", f"a,b\n1,2\n3,4,{MARKER}\n")
    binary_csv = write("binary.csv", b"a,b\n\xff\xfe," + MARKER.encode() + b"\n")
    model = tmp_path / "model"
    model.mkdir()
    (model / "labels.json").write_text(json.dumps({"labels": MARKER}))
    (model / "config.json").write_text("{}")

    cases = [
        (lambda: load_alias(broken_yaml), broken_yaml, "line 3, column 8"),
        (lambda: load_groups(keyed_yaml), keyed_yaml, "entry 1 of 1"),
        (lambda: load_layers(layers_yaml), layers_yaml, "intent_x"),
        (lambda: load_alias(twice_yaml), twice_yaml, "alias entry 1"),
        (lambda: load_alias(binary), binary, "not utf-8 text"),
        (lambda: intent_data(read_tagged_csv(header_csv)), "", "the dataset has 2 columns"),
        (lambda: read_tagged_csv(ragged_csv), ragged_csv, "Expected 2 fields in line 3, saw 3"),
        (lambda: read_tagged_csv(binary_csv), binary_csv, "not utf-8 text"),
        (lambda: require_columns(read_entity_dataset(header_csv)), "", "2 other columns"),
        (lambda: read_rows(Path(header_csv), "s3_path", ["call_uuid"]), "s3_path", "2 columns"),
        (lambda: open_model(str(model), tmp_path / "work"), str(model), "labels.json must hold"),
        # training and prediction read the same CSVs (eval's s3_path_data=.env quoted its first line here)
        (lambda: true_labels(read_tagged_csv(header_csv)), "", "it has 2 other columns"),
        (lambda: build_model_texts(read_tagged_csv(header_csv), Separators()), "", "2 other columns"),
        (lambda: parse_nbest(json.dumps([MARKER]), NbestMode.STRICT), "", "got a JSON list of 1 items"),
    ]
    for read, names, says in cases:
        with pytest.raises(ValueError) as failure:
            read()
        message = str(failure.value)
        assert names in message and says in message, message
        assert MARKER not in full_text(failure.value), full_text(failure.value)


# -- through the API: refused at submission, confined in the steps, errors without content --------------
@pytest.fixture
def readable_dir(tmp_path: Path, isolated_settings: Path, api_env: None, settings_env: SettingsEnv) -> Path:
    """A folder listed in SKIT_API_READABLE_PATHS (set before the API starts)."""
    folder = tmp_path / "team-data"
    folder.mkdir()
    settings_env(SKIT_API_READABLE_PATHS=f"{folder},s3://team-bucket/datasets")
    return folder


def test_api_refuses_locations_outside_the_allowed_roots_naming_the_parameter(
    readable_dir: Path, client: ApiClient
) -> None:
    inside = str(artifact_root() / "x.csv")
    cases = [
        ("eer_from_tog", {"dataset_path": "../../../../etc/passwd"}, "dataset_path"),
        ("eer_from_tog", {"dataset_path": "/etc/passwd"}, "dataset_path"),
        ("irr_from_tog", {"dataset_path": "file:///etc/passwd"}, "dataset_path"),
        ("eval_voicebot_xlmr_pipeline", {"s3_path_data": ".env", "org_id": "1"}, "s3_path_data"),
        (
            "eval_voicebot_xlmr_pipeline",
            {"s3_path_data": inside, "org_id": "1", "s3_path_model": "s3://x/m"},
            "s3_path_model",
        ),
        (
            "tag_calls",
            {"org_id": "1", "job_ids": "4", "s3_path": f"{readable_dir}/../secret.csv"},
            "s3_path",
        ),
        (
            "fetch_n_tag_calls",
            {"org_id": "1", "lang": "en", "job_ids": "4", "taxonomy_uri": "/etc/hostname"},
            "taxonomy_uri",
        ),
        (
            "irr_from_tog",
            {"dataset_path": inside, "eevee_intent_alias_yaml_github_path": "http://127.0.0.1:1/a.yaml"},
            "eevee_intent_alias_yaml_github_path",
        ),
        ("train_voicebot_intent_model_xlmr", {"dataset_path": inside, "model_name": "/etc"}, "model_name"),
        ("train_voicebot_intent_model_xlmr", {"dataset_path": inside, "model_path": "/tmp/m"}, "model_path"),
        ("add_llm_situations", {"situations_path": "/etc/passwd"}, "situations_path"),
        (
            "train_voicebot_intent_model_xlmr",
            {"dataset_path": "other/x.csv", "storage_options": '{"type": "s3", "bucket": "team-bucket"}'},
            "dataset_path",  # resolved with storage_options to s3://team-bucket/other/x.csv: not listed
        ),
    ]
    for pipeline, body, parameter in cases:
        response = client.run(pipeline, body)
        assert response.status_code == 400, (pipeline, body, response.text)
        errors = response.json()["response"]["errors"]
        assert parameter in errors and "cannot be " in errors[parameter], (pipeline, errors)
    listed = client.http.get("/skit/pipelines/runs", headers=client.auth()).json()
    assert listed["response"]["total"] == 0


def test_api_run_steps_are_confined_and_their_errors_never_quote_inputs(
    readable_dir: Path,
    slack_server: FakeSlackServer,
    client: ApiClient,
    webhook: WebhookReceiver,
    tmp_path: Path,
) -> None:
    dataset = readable_dir / "tagged.csv"  # allowed through SKIT_API_READABLE_PATHS
    dataset.write_text(f"{MARKER},other\n1,2\n")
    alias = artifact_root() / "alias.yaml"  # allowed: under the artifact root
    alias.write_text(f"a:\n  - [{MARKER}\n  b: ]: c\n")
    private = tmp_path / "private.txt"
    private.write_text(MARKER)
    thread = {"channel": "C0CHAN", "slack_thread": "1700000000.000001", "webhook_uri": webhook.url}
    runs = [  # (pipeline, arguments, what the error says, posted to Slack)
        ("irr_from_tog", {"dataset_path": str(dataset), **thread}, "is not in the dataset", True),
        (
            "irr_from_tog",
            {"dataset_path": str(dataset), "eevee_intent_alias_yaml_github_path": str(alias), **thread},
            "not valid YAML",
            True,
        ),
        # a step that reads a location no declaration covers: the worker's policy holds inside the step
        ("read_pipeline", {"path": str(private), "webhook_uri": webhook.url}, "may only read", False),
    ]
    responses = [client.run(pipeline, arguments) for pipeline, arguments, _, _ in runs]  # run side by side
    for response, (_, _, says, slack) in zip(responses, runs, strict=True):
        assert response.status_code == 200, response.text
        run_id = response.json()["response"]["run_id"]
        final = client.wait_final(run_id, timeout=150)
        assert final["response"]["state"] == "FAILED"
        assert says in final["response"]["error"], final["response"]["error"]
        client.wait_delivery(run_id)
        if slack:
            client.wait_delivery(run_id, "slack")
        assert MARKER not in json.dumps(final)
    assert len(webhook.delivered) == 3 and all(MARKER not in r.body.decode() for r in webhook.delivered)
    posts = slack_server.calls("chat.postMessage")
    assert len(posts) == 2 and all(MARKER not in json.dumps(p.args) for p in posts)
    assert slack_server.uploads and all(MARKER.encode() not in c for c in slack_server.uploads.values())


def test_the_cli_still_reads_an_absolute_path_outside_the_artifact_root(
    tmp_path: Path, isolated_settings: Path
) -> None:
    (tmp_path / "outside").mkdir()
    dataset = write_dataset(tmp_path / "outside" / "tagged_entities.csv")
    assert not str(dataset).startswith(get_settings().effective_artifact_root)
    result = cli("run", "eer_from_tog", "-p", f"dataset_path={dataset}")
    assert result.returncode == 0, result.stdout + result.stderr
