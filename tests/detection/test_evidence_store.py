"""FileEvidenceStore: content addressing, idempotence, tamper detection."""

from __future__ import annotations

import hashlib

import pytest

from detection.evidence_store import (
    EvidenceNotFound,
    EvidenceStore,
    EvidenceTampered,
    FileEvidenceStore,
    MemoryEvidenceStore,
)


@pytest.fixture(params=["file", "memory"])
def store(request, tmp_path) -> EvidenceStore:
    return FileEvidenceStore(tmp_path / "ev") if request.param == "file" else MemoryEvidenceStore()


def test_put_returns_sha256_and_get_roundtrips(store):
    data = b"\xff\xd8 some jpeg bytes"
    key = store.put(data, content_type="image/jpeg")
    assert key == hashlib.sha256(data).hexdigest()
    assert store.exists(key)
    assert store.get(key) == data
    assert isinstance(store, EvidenceStore)


def test_put_is_idempotent(store):
    assert store.put(b"x", content_type="image/jpeg") == store.put(b"x", content_type="image/jpeg")


def test_missing_key(store):
    key = "0" * 64
    assert not store.exists(key)
    with pytest.raises(EvidenceNotFound):
        store.get(key)


@pytest.mark.parametrize("bad", ["", "abc", "G" * 64, "A" * 64, "../" + "a" * 61])
def test_bad_key_is_rejected(store, bad):
    with pytest.raises(ValueError, match="sha256"):
        store.get(bad)


def test_file_layout_and_no_temp_left(tmp_path):
    store = FileEvidenceStore(tmp_path)
    key = store.put(b"hello", content_type="image/jpeg")
    path = tmp_path / key[:2] / key[2:4] / key
    assert path.read_bytes() == b"hello"
    assert store.content_type(key) == "image/jpeg"
    assert not list(tmp_path.rglob(".tmp-*"))


def test_tampered_file_raises(tmp_path):
    store = FileEvidenceStore(tmp_path)
    key = store.put(b"original", content_type="image/jpeg")
    store.path_for(key).write_bytes(b"forged")
    with pytest.raises(EvidenceTampered, match=key):
        store.get(key)
    # putting the original again repairs the blob
    assert store.put(b"original", content_type="image/jpeg") == key
    assert store.get(key) == b"original"


def test_put_rejects_non_bytes_and_bad_type(tmp_path):
    store = FileEvidenceStore(tmp_path)
    with pytest.raises(TypeError):
        store.put("text", content_type="image/jpeg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="content type"):
        store.put(b"x", content_type="jpeg")
