"""Content-addressed evidence in an S3-compatible object store (AWS S3, MinIO, Ceph RGW, ...).

Same contract as :class:`detection.evidence_store.FileEvidenceStore`: a blob's key is the sha256
hex of its bytes, ``get`` recomputes the hash and refuses bytes that no longer match, ``put`` is
idempotent. Object names are ``<prefix>ab/cd/<sha256>`` (the same fan-out as the file store, so a
``aws s3 sync`` of an evidence folder lands under the same keys). The content type is stored as the
object's ``Content-Type``; the sha256 is also sent as the object's checksum, so the server itself
rejects an upload damaged in transit.

S3 PUTs are atomic (an object is visible whole or not at all), so a crash never leaves half a blob
under its key; racing writers of the same bytes write the same object, which is harmless.
"""

from __future__ import annotations

import base64
from typing import Any

from detection.evidence_store import (
    EvidenceError,
    EvidenceNotFound,
    EvidenceTampered,
    check_key,
    checked_blob,
    sha256_hex,
)

_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3EvidenceStore:
    """Evidence in ``bucket`` under ``prefix``; ``client`` is a boto3 S3 client (built when ``None``).

    ``endpoint_url`` points at a non-AWS server (``http://minio:9000``); credentials come from the
    usual boto3 chain (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` environment, a profile, an
    instance or pod role). The bucket must exist: creating it is the platform's job.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        prefix: str = "",
        client: Any = None,
    ) -> None:
        if not bucket or not isinstance(bucket, str):
            raise ValueError(f"expected an S3 bucket name, got {bucket!r}")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if prefix.startswith("/"):
            raise ValueError(f"expected an S3 key prefix without a leading '/', got {prefix!r}")
        self.bucket = bucket
        self.prefix = prefix
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region,
                # path-style works with every S3-compatible server (MinIO, moto, RGW) and with AWS
                config=Config(s3={"addressing_style": "path"},
                              retries={"max_attempts": 5, "mode": "standard"}),
            )
        self.client = client

    def object_name(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}{key[:2]}/{key[2:4]}/{key}"

    def put(self, data: bytes, *, content_type: str) -> str:
        data, key = checked_blob(data, content_type)
        if self.exists(key):
            return key
        digest = base64.b64encode(bytes.fromhex(key)).decode("ascii")
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.object_name(key),
                Body=data,
                ContentType=content_type,
                ChecksumSHA256=digest,
                Metadata={"sha256": key},
            )
        except Exception as exc:  # botocore's ClientError / connection errors
            where = f"s3://{self.bucket}/{self.prefix}"
            raise EvidenceError(f"cannot store evidence {key} in {where}: {exc}") from exc
        return key

    def get(self, key: str) -> bytes:
        name = self.object_name(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=name)
            data = response["Body"].read()
        except Exception as exc:
            if _error_code(exc) in _MISSING_CODES:
                raise EvidenceNotFound(self._missing(key, name)) from None
            raise EvidenceError(f"cannot read evidence {key} from s3://{self.bucket}/{name}: {exc}") from exc
        actual = sha256_hex(data)
        if actual != key:
            raise EvidenceTampered(
                f"evidence {key} is corrupt or tampered (s3://{self.bucket}/{name}): expected sha256 {key}, "
                f"got {actual}"
            )
        return data

    def exists(self, key: str) -> bool:
        name = self.object_name(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
        except Exception as exc:
            if _error_code(exc) in _MISSING_CODES:
                return False
            raise EvidenceError(f"cannot check evidence {key} in s3://{self.bucket}/{name}: {exc}") from exc
        return True

    def content_type(self, key: str) -> str:
        """The content type given when the blob was first stored."""
        name = self.object_name(key)
        try:
            return str(self.client.head_object(Bucket=self.bucket, Key=name)["ContentType"])
        except Exception as exc:
            if _error_code(exc) in _MISSING_CODES:
                raise EvidenceNotFound(self._missing(key, name)) from None
            raise EvidenceError(f"cannot check evidence {key} in s3://{self.bucket}/{name}: {exc}") from exc

    def _missing(self, key: str, name: str) -> str:
        return f"no evidence stored under {key} (s3://{self.bucket}/{name})"
