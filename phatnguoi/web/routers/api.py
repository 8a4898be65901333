"""The JSON API: public lookup (no personal data), health, and the review queue for signed-in
officers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, HTTPException

from cases import review
from cases.models import Case
from cases.publication import lookup
from phatnguoi.web.deps import CurrentOfficer, SessionDep
from phatnguoi.web.routers.operator import health
from phatnguoi.web.routers.public import check_lookup

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


@router.get("/public/lookup")
def public_lookup(session: SessionDep, plate: str, vehicle_type: str) -> dict[str, Any]:
    try:
        key, vtype = check_lookup(plate, vehicle_type)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return {
        "plate": key,
        "vehicle_type": vtype,
        "cases": [asdict(c) for c in lookup(session=session, plate=key, vehicle_type=vtype)],
    }


@router.get("/health")
def api_health(session: SessionDep) -> dict[str, Any]:
    return asdict(health(session))


@router.get("/cases/queue")
def api_queue(session: SessionDep, user: CurrentOfficer, limit: int = 50) -> list[dict[str, Any]]:
    return [case_json(c) for c in review.queue(session=session, limit=min(limit, 500))]


@router.get("/cases/{case_id}")
def api_case(case_id: int, session: SessionDep, user: CurrentOfficer) -> dict[str, Any]:
    try:
        return case_json(review.get(session=session, case_id=case_id))
    except review.CaseNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
