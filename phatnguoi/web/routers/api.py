"""The JSON API: health, and the review queue for signed-in officers (the public lookup lives in
routers/public.py, behind its abuse protection)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from cases import review
from cases.models import Case
from phatnguoi.web.deps import CurrentOfficer, CurrentOperator, SessionDep
from phatnguoi.web.routers.operator import health, snapshot_of
from phatnguoi.web.wall import tiles

router = APIRouter(prefix="/api", tags=["api"])


def case_json(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "case_number": case.case_number,
        "violation_id": case.violation_id,
        "status": case.status,
        "rule": case.rule,
        "camera_id": case.camera_id,
        "occurred_at": case.occurred_at.isoformat(),
        "place": case.place,
        "vehicle_class": case.vehicle_class,
        "plate_read": case.plate_read,
        "plate_confirmed": case.plate_confirmed,
        "needs_manual_plate": case.needs_manual_plate,
        "held_for_review": case.held_for_review,
        "plate_candidates": case.plate_candidates,
        "measurement": case.measurement,
        "fine_min_vnd": case.fine_min_vnd,
        "fine_max_vnd": case.fine_max_vnd,
        "points": case.points,
        "legal_reference": case.legal_reference,
        "notify_by": case.notify_by.isoformat(),
        "evidence": [{"role": e.role, "sha256": e.sha256} for e in case.evidence],
        "notices": [{"id": n.id, "type": n.type, "status": n.status} for n in case.notices],
    }


@router.get("/health")
def api_health(session: SessionDep) -> dict[str, Any]:
    return asdict(health(session))


@router.get("/operator/cameras")
def api_cameras(request: Request, session: SessionDep, user: CurrentOperator) -> list[dict[str, Any]]:
    """The camera wall as JSON (what the operator page shows, without the images)."""
    snapshot, _ = snapshot_of(request)
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(t).items()}
        for t in tiles(session, snapshot, names=request.app.state.camera_names)
    ]


@router.get("/cases/queue")
def api_queue(session: SessionDep, user: CurrentOfficer, limit: int = 50) -> list[dict[str, Any]]:
    cases, _ = review.find(session=session, where=review.CaseFilter(status="extracted"), limit=min(max(limit, 1), 500),
                           with_notices=True)  # evidence and notices in two queries, not one per case
    return [case_json(c) for c in cases]


@router.get("/cases/{case_id}")
def api_case(case_id: int, session: SessionDep, user: CurrentOfficer) -> dict[str, Any]:
    try:
        return case_json(review.get(session=session, case_id=case_id))
    except review.CaseNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
