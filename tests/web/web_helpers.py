"""Helpers shared by the web tests: CSRF scraping, signing in, seeding a case with real images."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
from builders import PII_KEY, registry_csv, violation_event

from cases.intake import ingest_violation
from cases.registry import import_registry_csv


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def login(client, username: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/police/login").text)
    return client.post(
        "/police/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def jpeg() -> bytes:
    img = np.full((72, 128, 3), 120, np.uint8)
    return cv2.imencode(".jpg", img)[1].tobytes()


def seed_case(web_db, store, tmp_path: Path) -> int:  # type: ignore[no-untyped-def]
    sha = store.put(jpeg(), content_type="image/jpeg")
    with web_db() as session:
        import_registry_csv(session, registry_csv(tmp_path / "registry.csv"), pii_key=PII_KEY)
        case = ingest_violation(session, violation_event(evidence={"before": sha, "at": sha, "after": sha}))
        session.commit()
        return case.id


def preview_jpeg() -> bytes:
    """A small annotated-preview stand-in: a real JPEG."""
    img = np.full((90, 160, 3), 60, np.uint8)
    cv2.rectangle(img, (40, 30), (100, 70), (80, 200, 60), 2)
    return cv2.imencode(".jpg", img)[1].tobytes()

