"""Artifact store: naming, atomic local writes, and the S3 backend against a real moto server on 127.0.0.1."""

from __future__ import annotations

import io
import re
import shlex
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import pytest

from skit_pipelines import storage
from skit_pipelines.storage import ArtifactNotFoundError
from tests.conftest import SettingsEnv

KEY_CHARS = re.compile(r"^[A-Za-z0-9._=/-]+$")
NOW = datetime(2024, 3, 5, 14, 7, 9, tzinfo=UTC)


def leftovers(folder: Path) -> list[str]:
    """Temporary files that an atomic write might have left behind."""
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith("."))


# ------------------------------------------------------------------------------------------------- naming


def test_object_key_layout_and_sanitising() -> None:
    key = storage.object_key("acme, inc #1: Q+A", "en untagged:v2", ".csv", now=NOW)
    assert re.fullmatch(
        r"project/acme_inc_1_Q_A/2024-03-05/acme_inc_1_Q_A-14-07-09-en_untagged_v2-[0-9a-f]{6}\.csv", key
    ), key
    assert KEY_CHARS.match(key)
    for bad in (" ", ":", "#", "+", ","):
        assert bad not in key


def test_object_key_uses_utc_and_is_unique_within_a_second() -> None:
    local = datetime(2024, 3, 6, 2, 0, 0, tzinfo=ZoneInfo("Asia/Kolkata"))  # 2024-03-05 20:30 UTC
    key = storage.object_key("ref", "t", ".csv", now=local)
    assert key.startswith("project/ref/2024-03-05/ref-20-30-00-t-")
    keys = {storage.object_key("ref", "t", ".csv", now=NOW) for _ in range(50)}
    assert len(keys) == 50


def test_object_key_cannot_escape_and_normalises_ext() -> None:
    key = storage.object_key("../../etc/passwd", "x", "csv", now=NOW)
    assert key.startswith("project/_.._etc_passwd/2024-03-05/")  # "/" folded: one harmless folder name
    assert ".." not in key.split("/")
    assert key.endswith(".csv")
    assert storage.object_key("a/b", "", "", now=NOW).startswith("project/a_b/2024-03-05/a_b-14-07-09-")
    assert storage.object_key("", "t", ".gz", now=NOW).startswith("project/unnamed/")


# ---------------------------------------------------------------------------------------------- local store


def test_local_round_trip(isolated_settings: Path, tmp_path: Path) -> None:
    source = tmp_path / "calls.csv"
    source.write_text("call_uuid,turns\nc1,3\n")
    uri = storage.upload_file(
        source, reference="acme-2024-01-01-2024-01-02", file_type="en-untagged", ext=".csv"
    )

    root = (isolated_settings / "artifacts").resolve()
    assert Path(uri).is_absolute() and Path(uri).is_relative_to(root)
    relative = Path(uri).relative_to(root).as_posix()
    assert re.fullmatch(
        r"project/acme-2024-01-01-2024-01-02/\d{4}-\d{2}-\d{2}/acme-2024-01-01-2024-01-02-\d{2}-\d{2}-\d{2}"
        r"-en-untagged-[0-9a-f]{6}\.csv",
        relative,
    ), relative
    assert not storage.is_remote(uri)
    assert storage.exists(uri)
    assert storage.read_text(uri) == "call_uuid,turns\nc1,3\n"
    assert storage.read_bytes(Path(uri).as_uri()) == source.read_bytes()  # file:// URIs are local paths
    assert leftovers(Path(uri).parent) == []

    into_folder = storage.download_file(uri, tmp_path)
    assert into_folder == tmp_path / Path(uri).name
    assert into_folder.read_bytes() == source.read_bytes()
    as_file = storage.download_file(uri, tmp_path / "sub" / "copy.csv")
    assert as_file.read_bytes() == source.read_bytes()
    assert leftovers(tmp_path / "sub") == []


def test_upload_bytes_with_root_override(tmp_path: Path) -> None:
    uri = storage.upload_bytes(
        b"hello", reference="r", file_type="note", ext=".txt", root=str(tmp_path / "x")
    )
    assert uri.startswith(str(tmp_path / "x" / "project" / "r" / ""))
    assert Path(uri).read_bytes() == b"hello"


def test_failed_copy_leaves_destination_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "new.csv"
    source.write_text("new content\n")
    dest = tmp_path / "store" / "report.csv"
    dest.parent.mkdir()
    dest.write_text("old content\n")

    def fail_midway(src: object, dst: io.BufferedWriter, length: int = 0) -> None:
        dst.write(b"new con")
        raise OSError("disk full")

    monkeypatch.setattr(storage.shutil, "copyfileobj", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        storage.upload_file(source, reference="r", file_type="t", output_path=str(dest))
    assert dest.read_text() == "old content\n"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["report.csv"]

    fresh = tmp_path / "store" / "fresh.csv"
    with pytest.raises(OSError, match="disk full"):
        storage.upload_file(source, reference="r", file_type="t", output_path=str(fresh))
    assert not fresh.exists()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["report.csv"]


def test_replace_onto_a_directory_fails_cleanly(tmp_path: Path) -> None:
    source = tmp_path / "a.csv"
    source.write_text("x")
    blocker = tmp_path / "store" / "taken"
    blocker.mkdir(parents=True)
    with pytest.raises(OSError):
        storage.upload_file(source, reference="r", file_type="t", output_path=str(blocker))
    assert blocker.is_dir() and list(blocker.iterdir()) == []
    assert sorted(p.name for p in blocker.parent.iterdir()) == ["taken"]


def test_missing_source_raises_and_writes_nothing(isolated_settings: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(ArtifactNotFoundError, match=re.escape(str(missing))):
        storage.upload_file(missing, reference="r", file_type="t", ext=".csv")
    assert not (isolated_settings / "artifacts").exists()


def test_output_path_override(isolated_settings: Path, tmp_path: Path) -> None:
    source = tmp_path / "a.csv"
    source.write_text("a")
    root = (isolated_settings / "artifacts").resolve()

    relative = storage.upload_file(source, reference="r", file_type="t", output_path="exports/latest.csv")
    assert relative == str(root / "exports" / "latest.csv")
    absolute = storage.upload_file(source, reference="r", file_type="t", output_path=str(tmp_path / "o.csv"))
    assert absolute == str(tmp_path / "o.csv") and Path(absolute).read_text() == "a"
    folder = storage.upload_file(source, reference="r", file_type="t", ext=".csv", output_path="inbox/")
    assert Path(folder).parent == root / "inbox" and re.fullmatch(
        r"r-\d\d-\d\d-\d\d-t-[0-9a-f]{6}\.csv", Path(folder).name
    )
    with pytest.raises(ValueError, match=r"\.\."):
        storage.upload_file(source, reference="r", file_type="t", output_path="../outside.csv")


def test_local_download_command_is_quoted(tmp_path: Path) -> None:
    uri = storage.upload_bytes(b"x", reference="r", file_type="t", output_path=str(tmp_path / "a b's.csv"))
    command = storage.download_command(uri)
    assert shlex.split(command) == ["cp", uri, "."]
    assert storage.download_command(str(tmp_path)) == f"cp -r {shlex.quote(str(tmp_path))} ."


def test_missing_artifact_errors_name_the_uri(tmp_path: Path) -> None:
    uri = str(tmp_path / "gone" / "file.csv")
    for call in (storage.read_bytes, storage.read_text, lambda u: storage.download_file(u, tmp_path / "d")):
        with pytest.raises(ArtifactNotFoundError) as info:
            call(uri)
        assert isinstance(info.value, FileNotFoundError)
        assert uri in str(info.value) and info.value.uri == uri
    assert not (tmp_path / "d").exists()
    assert not storage.exists(uri)


def test_unsupported_scheme_is_a_clear_value_error() -> None:
    for call in (storage.read_bytes, storage.exists, storage.is_remote, storage.download_command):
        with pytest.raises(ValueError, match=r"scheme 'gs'.*s3://"):
            call("gs://bucket/key.csv")
    with pytest.raises(ValueError, match="scheme 'gs'"):
        storage.upload_bytes(b"x", reference="r", file_type="t", root="gs://bucket/prefix")


def make_tree(base: Path) -> Path:
    tree = base / "model"
    (tree / "sub").mkdir(parents=True)
    (tree / "config.json").write_text("{}")
    (tree / "sub" / "weights.bin").write_bytes(b"\x00\x01")
    return tree


def test_local_directory_upload(tmp_path: Path) -> None:
    tree = make_tree(tmp_path)
    archive_uri = storage.upload_directory(tree, reference="r", file_type="model")
    assert archive_uri.endswith(".tar.gz")
    with tarfile.open(archive_uri) as tar:
        assert {"model/config.json", "model/sub/weights.bin"} <= set(tar.getnames())

    copy_uri = storage.upload_directory(tree, reference="r", file_type="model", as_archive=False)
    assert (Path(copy_uri) / "sub" / "weights.bin").read_bytes() == b"\x00\x01"
    assert leftovers(Path(copy_uri).parent) == []
    fetched = storage.download_directory(copy_uri, tmp_path / "fetched")
    assert (fetched / "config.json").read_text() == "{}"
    with pytest.raises(FileExistsError):
        storage.upload_directory(tree, reference="r", file_type="m", output_path=copy_uri, as_archive=False)
    with pytest.raises(ValueError, match="ext"):
        storage.upload_directory(tree, reference="r", file_type="m", ext=".zip", as_archive=False)


# ---------------------------------------------------------------------------------------- S3 (moto server)


def test_s3_round_trip(s3_bucket: str, moto_endpoint: str, tmp_path: Path) -> None:
    source = tmp_path / "calls.csv"
    source.write_text("call_uuid\nc1\n")
    uri = storage.upload_file(source, reference="acme, inc", file_type="en-untagged", ext=".csv")

    assert uri.startswith(f"s3://{s3_bucket}/prefix/project/acme_inc/") and uri.endswith(".csv")
    assert storage.is_remote(uri)
    key = uri.removeprefix(f"s3://{s3_bucket}/")
    raw = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert raw.get_object(Bucket=s3_bucket, Key=key)["Body"].read() == b"call_uuid\nc1\n"

    assert storage.exists(uri)
    assert storage.read_bytes(uri) == b"call_uuid\nc1\n"
    assert storage.read_text(uri) == "call_uuid\nc1\n"
    (tmp_path / "out").mkdir()
    downloaded = storage.download_file(uri, tmp_path / "out")
    assert downloaded == tmp_path / "out" / Path(key).name
    assert downloaded.read_text() == "call_uuid\nc1\n"
    assert leftovers(tmp_path / "out") == []

    data_uri = storage.upload_bytes(b"{}", reference="r", file_type="meta", ext=".json")
    assert storage.read_bytes(data_uri) == b"{}"
    explicit = storage.upload_file(
        source, reference="r", file_type="t", output_path=f"s3://{s3_bucket}/fixed.csv"
    )
    assert explicit == f"s3://{s3_bucket}/fixed.csv" and storage.exists(explicit)
    relative = storage.upload_file(source, reference="r", file_type="t", output_path="exports/x.csv")
    assert relative == f"s3://{s3_bucket}/prefix/exports/x.csv" and storage.exists(relative)


def test_s3_missing_object_and_bucket(s3_bucket: str, tmp_path: Path) -> None:
    uri = f"s3://{s3_bucket}/prefix/nothing-here.csv"
    assert not storage.exists(uri)
    for call in (storage.read_bytes, lambda u: storage.download_file(u, tmp_path / "d.csv")):
        with pytest.raises(ArtifactNotFoundError) as info:
            call(uri)
        assert isinstance(info.value, FileNotFoundError) and uri in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no partial or temporary download left behind

    source = tmp_path / "a.csv"
    source.write_text("a")
    with pytest.raises(ArtifactNotFoundError, match="no-such-bucket-skit") as info:
        storage.upload_file(source, reference="r", file_type="t", root="s3://no-such-bucket-skit/p")
    assert "does not exist" in str(info.value)
    with pytest.raises(ArtifactNotFoundError, match="s3://no-such-bucket-skit/k"):
        storage.read_bytes("s3://no-such-bucket-skit/k")
    assert not storage.exists("s3://no-such-bucket-skit/k")


def test_s3_download_command(s3_bucket: str, moto_endpoint: str) -> None:
    uri = storage.upload_bytes(b"x", reference="r", file_type="t", ext=".csv")
    assert shlex.split(storage.download_command(uri)) == [
        "aws",
        "s3",
        "cp",
        uri,
        ".",
        "--endpoint-url",
        moto_endpoint,
    ]
    assert "--recursive" in storage.download_command(uri, recursive=True)


def test_s3_client_follows_settings(s3_bucket: str, moto_endpoint: str, settings_env: SettingsEnv) -> None:
    client = storage.s3_client()
    assert client.meta.endpoint_url == moto_endpoint
    settings_env(SKIT_S3_REGION="eu-west-1")
    assert storage.s3_client().meta.region_name == "eu-west-1"


def test_s3_directory_upload(s3_bucket: str, tmp_path: Path) -> None:
    tree = make_tree(tmp_path)
    archive_uri = storage.upload_directory(tree, reference="r", file_type="model")
    assert archive_uri.startswith(f"s3://{s3_bucket}/prefix/project/r/") and archive_uri.endswith(".tar.gz")
    with tarfile.open(fileobj=io.BytesIO(storage.read_bytes(archive_uri))) as tar:
        assert tar.extractfile("model/sub/weights.bin").read() == b"\x00\x01"  # type: ignore[union-attr]

    tree_uri = storage.upload_directory(tree, reference="r", file_type="model", as_archive=False)
    assert storage.exists(tree_uri) and storage.exists(f"{tree_uri}/sub/weights.bin")
    fetched = storage.download_directory(tree_uri, tmp_path / "fetched")
    assert (fetched / "config.json").read_text() == "{}"
    assert (fetched / "sub" / "weights.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(ArtifactNotFoundError):
        storage.download_directory(f"s3://{s3_bucket}/prefix/empty", tmp_path / "none")
