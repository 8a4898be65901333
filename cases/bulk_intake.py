"""Intake of a whole poll batch in a few set-based statements: what ``ingest_violation`` does for
one event (idempotency, near-duplicate merge, camera-health hold, evidence, audit, detected ->
extracted), for many at once, so a city's year of detections is ingested in minutes.

Per batch: one query for the violation ids already seen, one for the cameras and their health,
one for the open cases that new events may merge into; then bulk inserts (``ON CONFLICT DO
NOTHING`` on the dedupe keys) of cases, merges, evidence and audit rows, and one
``transition_many``. The result is the same as ingesting the events one by one in order of
occurrence (a test compares the two). Does not commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cases.intake import (
    REQUIRED_EVIDENCE,
    SYSTEM_ACTOR,
    IntakePolicy,
    _build,
    _camera,
    case_number,
    check_event,
    ingest_violation,
    lock_plates,
)
from cases.models import AuditLog, Camera, CameraStatus, Case, Evidence, MergedDetection
from cases.states import Status, transition_many
from detection.types import ViolationEvent

_KEY = tuple[str, str, str]  # plate, rule, camera


@dataclass(frozen=True)
class BatchResult:
    created: int
    merged: int
    skipped: int  # already a case or a merge (a replay)


def _insert(session: Session, table: Any, rows: list[dict[str, Any]], *, conflict: list[str], returning: Any) -> list:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(*returning, sort_by_parameter_order=True)
    )
    return list(session.execute(stmt, rows).all()) if rows else []


def _columns(case: Case) -> dict[str, Any]:
    return {c.key: getattr(case, c.key) for c in Case.__table__.columns if c.key != "id"}


def _evidence_rows(case_id: int, event: ViolationEvent, prefix: str = "") -> list[dict[str, Any]]:
    rows, seen = [], set()
    for ref in event.evidence:
        role = f"{prefix}{ref.role}"[:20]
        if (role, ref.sha256) not in seen:
            seen.add((role, ref.sha256))
            rows.append(
                {
                    "case_id": case_id,
                    "role": role,
                    "sha256": ref.sha256,
                    "storage_key": ref.key,
                    "frame_sequence": ref.frame_sequence,
                }
            )
    return rows


def ingest_batch(
    session: Session,
    events: Sequence[ViolationEvent],
    *,
    policy: IntakePolicy | None = None,
    now: datetime | None = None,
) -> BatchResult:
    """Ingest ``events`` (already decoded); raises ``ValueError`` naming a bad event before writing."""
    policy = policy or IntakePolicy()
    now = now or datetime.now(UTC)
    for event in events:
        check_event(event)
    unique = list({e.violation_id: e for e in reversed(events)}.values())[::-1]  # first of each id
    vids = [e.violation_id for e in unique]
    seen = set(
        session.scalars(
            union_all(
                select(Case.violation_id).where(Case.violation_id.in_(vids)),
                select(MergedDetection.violation_id).where(MergedDetection.violation_id.in_(vids)),
            )
        )
    )
    todo = sorted((e for e in unique if e.violation_id not in seen), key=lambda e: (e.occurred_at, e.violation_id))
    skipped = len(events) - len(todo)
    if not todo:
        return BatchResult(0, 0, skipped)
    camera_ids = sorted({e.camera_id for e in todo})
    cameras = {c.id: c for c in session.scalars(select(Camera).where(Camera.id.in_(camera_ids)))}
    for cid in camera_ids:
        if cid not in cameras:
            cameras[cid] = _camera(session, cid)
    health = {
        s.camera_id: s for s in session.scalars(select(CameraStatus).where(CameraStatus.camera_id.in_(camera_ids)))
    }

    built = {e.violation_id: _build(e, cameras[e.camera_id], policy, now) for e in todo}
    window = timedelta(seconds=policy.merge_window_s)
    # open cases the batch may merge into: key -> [(occurred_at, case id or new violation id)]
    index: dict[_KEY, list[tuple[datetime, int | str]]] = defaultdict(list)
    plates_in = sorted({c.plate_key for c in built.values() if c.plate_key})
    if plates_in and policy.merge_window_s > 0:
        lock_plates(session, plates_in)  # a near-duplicate in another consumer's batch waits for ours
        times = [e.occurred_at for e in todo]
        for found_id, plate, rule, camera, occurred in session.execute(
            select(Case.id, Case.plate_key, Case.rule, Case.camera_id, Case.occurred_at).where(
                Case.plate_key.in_(plates_in),
                Case.camera_id.in_(camera_ids),
                Case.occurred_at.between(min(times) - window, max(times) + window),
                Case.status.not_in([Status.REJECTED, Status.CLOSED]),
            )
        ):
            index[(plate or "", rule, camera)].append((occurred, found_id))
    new: list[ViolationEvent] = []
    merges: list[tuple[ViolationEvent, int | str]] = []  # event -> existing case id or new case's violation id
    for event in todo:
        case = built[event.violation_id]
        key = (case.plate_key or "", case.rule, case.camera_id)
        target = None
        if case.plate_key and policy.merge_window_s > 0:
            near = [(t, ref) for t, ref in index[key] if abs(t - case.occurred_at) <= window]
            target = min(near, key=lambda item: (item[0], str(item[1])))[1] if near else None
        if target is None:
            new.append(event)
            index[key].append((case.occurred_at, event.violation_id))
        else:
            merges.append((event, target))

    holds: dict[str, str] = {}
    rows = []
    for event in new:
        case = built[event.violation_id]
        status = health.get(case.camera_id)
        if status is not None and status.holds_new_cases(case.occurred_at):
            detail = f": {status.detail}" if status.detail else ""
            holds[event.violation_id] = (
                f"camera {case.camera_id} was {status.effective_verdict(case.occurred_at)}{detail}"[:200]
            )
            case.held_for_review, case.hold_reason = True, holds[event.violation_id]
        rows.append(_columns(case))
    inserted = dict(
        (vid, cid)
        for cid, vid in _insert(
            session, Case.__table__, rows, conflict=["violation_id"], returning=(Case.id, Case.violation_id)
        )
    )
    if len(inserted) != len(new):  # another consumer inserted some meanwhile: they are its cases now
        new = [e for e in new if e.violation_id in inserted]
    if new:
        cases_table = cast(Table, Case.__table__)
        numbering = update(cases_table).where(cases_table.c.id == bindparam("b_id"))
        session.execute(
            numbering.values(case_number=bindparam("b_number")),
            [
                {
                    "b_id": inserted[e.violation_id],
                    "b_number": case_number(policy.case_prefix, e.occurred_at, inserted[e.violation_id]),
                }
                for e in new
            ],
        )
    evidence = [row for e in new for row in _evidence_rows(inserted[e.violation_id], e)]
    audits = [
        {
            "case_id": inserted[e.violation_id],
            "actor": SYSTEM_ACTOR,
            "at": now,
            "to_status": Status.DETECTED.value,
            "reason": f"violation {e.violation_id}"
            + (f"; held for review: {holds[e.violation_id]}" if e.violation_id in holds else ""),
        }
        for e in new
    ]
    merged_rows, orphans = [], []
    for event, target in merges:
        case_id = inserted.get(target) if isinstance(target, str) else target
        if case_id is None:  # its first detection went to another consumer's case
            orphans.append(event)
            continue
        merged_rows.append(
            {"violation_id": event.violation_id, "case_id": case_id, "occurred_at": event.occurred_at, "merged_at": now}
        )
    by_vid = {e.violation_id: e for e, _ in merges}
    done_merges = _insert(
        session,
        MergedDetection.__table__,
        merged_rows,
        conflict=["violation_id"],
        returning=(MergedDetection.id, MergedDetection.violation_id, MergedDetection.case_id),
    )
    for merge_id, vid, case_id in done_merges:
        event = by_vid[vid]
        attached = _evidence_rows(case_id, event, prefix=f"m{merge_id}:")
        evidence.extend(attached)
        audits.append(
            {
                "case_id": case_id,
                "actor": SYSTEM_ACTOR,
                "at": now,
                "to_status": None,
                "reason": f"merged near-duplicate detection {vid} ({event.occurred_at.isoformat()}, "
                f"{len(attached)} evidence items attached)",
            }
        )
    if evidence:
        session.execute(cast(Table, Evidence.__table__).insert(), evidence)
    if audits:
        session.execute(cast(Table, AuditLog.__table__).insert(), audits)
    complete = [inserted[e.violation_id] for e in new if {r.role for r in e.evidence} >= REQUIRED_EVIDENCE]
    transition_many(
        session,
        complete,
        from_status=Status.DETECTED,
        to=Status.EXTRACTED,
        actor=SYSTEM_ACTOR,
        reason="evidence package complete",
        at=now,
    )
    for event in orphans:  # rare: one by one, the way that finds the other consumer's case
        ingest_violation(session, event, policy=policy, now=now)
    created, merged = len(new), len(done_merges) + len(orphans)
    return BatchResult(created=created, merged=merged, skipped=len(events) - created - merged)
