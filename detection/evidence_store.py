"""Content-addressed evidence storage: a blob's key is the sha256 hex of its bytes.

The key *is* the integrity check: ``get`` recomputes the hash and refuses bytes that no longer
match, so a tampered file can never be served as evidence. Writes are idempotent (putting the
same bytes twice returns the same key and writes nothing new) and atomic (a temporary file in the
same directory, then ``os.replace``), so a crash never leaves a half-written blob under its key.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

_KEY = re.compile(r"^[0-9a-f]{64}$")


class EvidenceError(Exception):
    """Base class for evidence-store failures."""


class EvidenceNotFound(EvidenceError, KeyError):
    """No blob is stored under the key."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "evidence not found"


class EvidenceTampered(EvidenceError):
    """The stored bytes no longer hash to their key."""


@runtime_checkable
class EvidenceStore(Protocol):
    """Where evidence images live. Keys are sha256 hex digests of the stored bytes."""

    def put(self, data: bytes, *, content_type: str) -> str:
        """Store ``data`` and return its sha256 hex key (idempotent)."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; raises ``EvidenceNotFound`` / ``EvidenceTampered``."""
        ...

    def exists(self, key: str) -> bool:
        """True when a blob is stored under ``key``."""
        ...


def checked_blob(data: bytes, content_type: str) -> tuple[bytes, str]:
    """Validate what ``put`` is given; returns the bytes and their sha256 key."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    if not content_type or "/" not in content_type:
        raise ValueError(f"expected a MIME content type like 'image/jpeg', got {content_type!r}")
    data = bytes(data)
    return data, sha256_hex(data)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    """Return ``key`` if it is a lowercase sha256 hex digest, else raise ``ValueError``."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(f"expected a 64-character lowercase sha256 hex key, got {key!r}")
    return key


class FileEvidenceStore:
    """Evidence on a local filesystem: ``root/ab/cd/<sha256>``.

    ``content_type`` is recorded beside the blob (``<sha256>.type``) for serving; it is not part
    of the key, so the same bytes stored under two content types keep the first one.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes, *, content_type: str) -> str:
        data, key = checked_blob(data, content_type)
        path = self.path_for(key)
        if path.exists() and sha256_hex(path.read_bytes()) == key:
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        self._atomic_write(path, data)
        type_path = path.with_name(key + ".type")
        if not type_path.exists():
            self._atomic_write(type_path, content_type.encode("utf-8"))
        return key

    def get(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise EvidenceNotFound(f"no evidence stored under {key}") from None
        actual = sha256_hex(data)
        if actual != key:
            raise EvidenceTampered(
                f"evidence {key} is corrupt or tampered: expected sha256 {key}, got {actual}"
            )
        return data

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def content_type(self, key: str) -> str:
        """The content type given when the blob was first stored."""
        try:
            return self.path_for(key).with_name(key + ".type").read_text("utf-8")
        except FileNotFoundError:
            raise EvidenceNotFound(f"no evidence stored under {key}") from None

    @staticmethod
    def _atomic_write(path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            os.fchmod(fd, 0o644)  # mkstemp makes 0600; the web server may run as another user
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


class MemoryEvidenceStore:
    """In-memory store with the same contract, for tests and throwaway runs."""

    def __init__(self) -> None:
        self._blobs: dict[str, tuple[bytes, str]] = {}

    def put(self, data: bytes, *, content_type: str) -> str:
        data, key = checked_blob(data, content_type)
        self._blobs.setdefault(key, (data, content_type))
        return key

    def get(self, key: str) -> bytes:
        check_key(key)
        if key not in self._blobs:
            raise EvidenceNotFound(f"no evidence stored under {key}")
        data = self._blobs[key][0]
        if sha256_hex(data) != key:
            raise EvidenceTampered(f"evidence {key} is corrupt or tampered")
        return data

    def exists(self, key: str) -> bool:
        check_key(key)
        return key in self._blobs

    def content_type(self, key: str) -> str:
        check_key(key)
        if key not in self._blobs:
            raise EvidenceNotFound(f"no evidence stored under {key}")
        return self._blobs[key][1]
