"""S3EvidenceStore over real HTTP against moto's S3 server (started here on a free loopback port)."""

from __future__ import annotations

import hashlib
import socket
import uuid

import boto3
import moto.server as moto_server
import pytest

from detection.evidence_backends import BACKENDS, make_evidence_store
from detection.evidence_s3 import S3EvidenceStore
from detection.evidence_store import (
    EvidenceNotFound,
    EvidenceStore,
    EvidenceTampered,
    FileEvidenceStore,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture()
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto accepts any credentials; these are test placeholders, not secrets
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture()
def bucket(s3_endpoint: str, s3_env: None) -> str:
    name = f"evidence-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture()
def store(s3_endpoint: str, bucket: str) -> S3EvidenceStore:
    return S3EvidenceStore(bucket, endpoint_url=s3_endpoint, region="us-east-1", prefix="evidence")


def _raw_client(endpoint: str):  # noqa: ANN202
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def test_round_trip_over_http(store: S3EvidenceStore, s3_endpoint: str, bucket: str) -> None:
    data = b"\xff\xd8 a jpeg-ish blob " + uuid.uuid4().bytes
    key = store.put(data, content_type="image/jpeg")
    assert key == hashlib.sha256(data).hexdigest()
    assert isinstance(store, EvidenceStore)
    assert store.exists(key)
    assert store.get(key) == data
    assert store.content_type(key) == "image/jpeg"
    listed = _raw_client(s3_endpoint).list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"evidence/{key[:2]}/{key[2:4]}/{key}"]


def test_put_is_idempotent(store: S3EvidenceStore, s3_endpoint: str, bucket: str) -> None:
    data = b"same bytes twice"
    key = store.put(data, content_type="image/png")
    client = _raw_client(s3_endpoint)
    name = store.object_name(key)
    first = client.head_object(Bucket=bucket, Key=name)["LastModified"]
    etag = client.head_object(Bucket=bucket, Key=name)["ETag"]
    puts: list[str] = []
    store.client.meta.events.register("before-call.s3.PutObject", lambda **kw: puts.append("put"))
    assert store.put(data, content_type="image/jpeg") == key
    assert puts == []  # the second put saw the object and uploaded nothing
    head = client.head_object(Bucket=bucket, Key=name)
    assert (head["LastModified"], head["ETag"]) == (first, etag)
    assert head["ContentType"] == "image/png"  # the first content type stays
    assert client.list_objects_v2(Bucket=bucket)["KeyCount"] == 1


def test_tampered_object_is_refused(store: S3EvidenceStore, s3_endpoint: str, bucket: str) -> None:
    key = store.put(b"original evidence", content_type="image/jpeg")
    _raw_client(s3_endpoint).put_object(Bucket=bucket, Key=store.object_name(key), Body=b"forged evidence")
    with pytest.raises(EvidenceTampered, match=key):
        store.get(key)


def test_missing_key(store: S3EvidenceStore) -> None:
    key = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(key)
    with pytest.raises(EvidenceNotFound, match=key):
        store.get(key)
    with pytest.raises(ValueError, match="sha256 hex key"):
        store.get("not-a-key")


def test_bad_input_names_the_problem(store: S3EvidenceStore) -> None:
    with pytest.raises(ValueError, match="MIME content type"):
        store.put(b"x", content_type="jpeg")
    with pytest.raises(TypeError, match="expected bytes"):
        store.put("text", content_type="text/plain")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bucket"):
        S3EvidenceStore("", client=object())


def test_make_evidence_store_chooses_backend(tmp_path, s3_endpoint: str, bucket: str) -> None:  # noqa: ANN001
    from phatnguoi.settings import EvidenceSettings

    file_store = make_evidence_store(EvidenceSettings(backend="file", root=tmp_path / "ev"))
    assert isinstance(file_store, FileEvidenceStore)
    s3_store = make_evidence_store(
        EvidenceSettings(backend="s3", root="cams", s3_bucket=bucket, s3_endpoint_url=s3_endpoint,
                         s3_region="us-east-1")
    )
    assert isinstance(s3_store, S3EvidenceStore)
    key = s3_store.put(b"via settings", content_type="image/jpeg")
    assert s3_store.object_name(key).startswith("cams/")
    assert s3_store.get(key) == b"via settings"
    with pytest.raises(ValueError, match="expected one of file, s3, got 'gcs'"):
        make_evidence_store({"backend": "gcs"})
    with pytest.raises(ValueError, match="s3_bucket is missing"):
        make_evidence_store({"backend": "s3"})
    assert sorted(BACKENDS) == ["file", "s3"]
