"""Choose the evidence store from the settings' ``evidence`` section.

``make_evidence_store(settings.evidence)`` looks the backend up in :data:`BACKENDS` (an explicit
table: ``"file"`` -> :class:`~detection.evidence_store.FileEvidenceStore` under ``root``, ``"s3"``
-> :class:`~detection.evidence_s3.S3EvidenceStore` in ``s3_bucket`` with ``root`` as key prefix).
The section may be the pydantic ``EvidenceSettings`` or a plain mapping with the same fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from detection.evidence_store import EvidenceStore, FileEvidenceStore


def _fields(section: Any) -> dict[str, Any]:
    if isinstance(section, Mapping):
        return dict(section)
    if hasattr(section, "model_dump"):
        return dict(section.model_dump())
    raise TypeError(f"expected the evidence settings section (or a mapping), got {type(section).__name__}")


def _file(cfg: dict[str, Any]) -> EvidenceStore:
    root = cfg.get("root")
    if not root:
        raise ValueError("evidence.backend is 'file' but evidence.root is missing")
    return FileEvidenceStore(Path(root))


def _s3(cfg: dict[str, Any]) -> EvidenceStore:
    from detection.evidence_s3 import S3EvidenceStore

    bucket = cfg.get("s3_bucket")
    if not bucket:
        raise ValueError("evidence.backend is 's3' but evidence.s3_bucket is missing")
    root = cfg.get("root")
    # the file default "var/evidence" becomes the key prefix "var/evidence/"; "" or "." means none
    prefix = "" if root in (None, "", ".", Path(".")) else str(root).strip("/") + "/"
    return S3EvidenceStore(str(bucket), endpoint_url=cfg.get("s3_endpoint_url") or None,
                           region=cfg.get("s3_region") or None, prefix=prefix)


BACKENDS: dict[str, Callable[[dict[str, Any]], EvidenceStore]] = {
    "file": _file,
    "s3": _s3,
}


def make_evidence_store(section: Any) -> EvidenceStore:
    """The evidence store the section names; ``ValueError`` for an unknown backend or a missing field."""
    cfg = _fields(section)
    backend = cfg.get("backend", "file")
    try:
        factory = BACKENDS[backend]
    except (KeyError, TypeError):
        raise ValueError(
            f"evidence.backend: expected one of {', '.join(sorted(BACKENDS))}, got {backend!r}"
        ) from None
    return factory(cfg)
