"""Citizen submissions: validated on arrival, a case only once an officer verifies them, and only
within 30 days (60 when complex); the submitter's name is encrypted at rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from builders import PII_KEY, sha
from sqlalchemy import select, text

from cases import submissions
from cases.models import AuditLog, Case, Evidence
from cases.states import Status

NOW = datetime(2026, 3, 20, 3, 0, tzinfo=UTC)
GOOD = {
    "channel": "portal",
    "submitter_name": "Phạm Thị Dung",
    "submitter_contact": "0987654321",
    "plate_text": "51A-123.45",
    "vehicle_class": "car",
    "rule": "red_light",
    "place": "Ngã tư Lê Duẩn - Pasteur",
    "occurred_at": NOW - timedelta(days=2),
    "images": [
        submissions.SubmittedImage("at", sha("a"), sha("a")),
        submissions.SubmittedImage("before", sha("b"), sha("b")),
    ],
}


def submit(session, **changes):  # type: ignore[no-untyped-def]
    return submissions.submit(session=session, pii_key=PII_KEY, now=NOW, **(GOOD | changes))


def test_verified_submission_becomes_a_case_in_review(sqlite_session):
    sub = submit(sqlite_session)
    assert sub.status == "pending" and sub.verify_by == NOW + timedelta(days=30)
    assert sqlite_session.scalar(select(Case)) is None  # nothing before verification
    case = submissions.verify(
        session=sqlite_session, submission_id=sub.id, actor="officer1", now=NOW + timedelta(days=3)
    )
    assert (case.status, case.source, case.plate_key, case.rule) == (
        Status.EXTRACTED,
        "citizen",
        "51A12345",
        "red_light",
    )
    assert case.notify_by == NOW + timedelta(days=13)  # 10 days from verification
    assert case.expires_at == GOOD["occurred_at"] + timedelta(days=365)
    assert {e.role for e in sqlite_session.scalars(select(Evidence).where(Evidence.case_id == case.id))} == {
        "at",
        "before",
    }
    assert (sub.status, sub.case_id, sub.verified_by) == ("verified", case.id, "officer1")
    reasons = sqlite_session.scalars(select(AuditLog.reason).where(AuditLog.case_id == case.id)).all()
    assert reasons[0] == f"citizen submission {sub.id} (portal) verified"
    with pytest.raises(submissions.SubmissionError, match="already verified"):
        submissions.verify(session=sqlite_session, submission_id=sub.id, actor="officer1", now=NOW)


@pytest.mark.parametrize(
    ("complex_case", "days", "ok"), [(False, 30, True), (False, 31, False), (True, 60, True), (True, 61, False)]
)
def test_verification_only_within_the_time_limit(sqlite_session, complex_case, days, ok):
    sub = submit(sqlite_session, complex_case=complex_case)
    later = NOW + timedelta(days=days)  # the last allowed moment is exactly verify_by
    if ok:
        assert submissions.verify(session=sqlite_session, submission_id=sub.id, actor="o", now=later).id
    else:
        with pytest.raises(submissions.SubmissionError, match="verification period ended"):
            submissions.verify(session=sqlite_session, submission_id=sub.id, actor="o", now=later)
        assert sub.status == "pending"
        submissions.refuse(session=sqlite_session, submission_id=sub.id, actor="o", reason="too late", now=later)
        assert sub.status == "refused"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"channel": "pigeon"}, "channel: expected one of"),
        ({"submitter_name": " "}, "submitter_name"),
        ({"plate_text": "ABC"}, "plate_text: expected a Vietnamese plate"),
        ({"vehicle_class": "tank"}, "vehicle_class"),
        ({"rule": "jaywalking"}, "rule: expected a rule"),
        ({"place": ""}, "place"),
        ({"occurred_at": NOW + timedelta(hours=1)}, "expected a past time"),
        ({"occurred_at": NOW - timedelta(days=400)}, "limitation"),
        ({"occurred_at": datetime(2026, 3, 1)}, "timezone"),
        ({"images": [submissions.SubmittedImage("before", sha("b"), sha("b"))]}, "role 'at'"),
        ({"images": [submissions.SubmittedImage("at", "not-a-sha", "k")]}, "sha256"),
    ],
)
def test_bad_submissions_are_refused_with_the_field_named(sqlite_session, changes, message):
    with pytest.raises(submissions.SubmissionError, match=message):
        submit(sqlite_session, **changes)


def test_submitter_is_encrypted_at_rest(sqlite_session):
    submit(sqlite_session)
    sqlite_session.flush()
    raw = sqlite_session.execute(
        text("SELECT submitter_name_enc, submitter_contact_enc FROM citizen_submissions")
    ).one()
    assert "Dung" not in raw[0] and "0987654321" not in raw[1]


def test_pending_lists_nearest_deadline_first(sqlite_session):
    slow = submit(sqlite_session, complex_case=True)
    fast = submit(sqlite_session)
    assert [s.id for s in submissions.pending(session=sqlite_session)] == [fast.id, slow.id]
