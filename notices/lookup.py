"""The public lookup's query: a vehicle's published cases as ``PublicCase`` values that carry no
personal data, and only the blurred public copies of the evidence (roles ``*_public``, produced by
the evidence stage with bystander plates and faces blurred), never an original.

One SQL statement per lookup, selecting only the columns the listing shows (no ORM objects); on
PostgreSQL it runs on the driver connection in autocommit (no BEGIN/ROLLBACK): under load the round
trips and the Python layers cost far more than the query itself (an index range scan on
``(plate_key, occurred_at)``, 0.1 ms on 1,000,000 cases). docs/notices.md has the figures."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session, aliased

from cases.models import Case, Evidence, Unit, Vehicle
from cases.publication import NOT_PENALISED, PENALISED, is_public
from cases.states import PUBLIC, Outcome, Status
from cases.tariff import TariffError, behaviour
from cases.types import (
    LOOKUP_CLASSES,
    PLATE_COLOUR_VI,
    VEHICLE_CLASS_VI,
    VN_TZ,
    LookupVehicleType,
    PublicCase,
    format_vn_time,
)

PUBLIC_SUFFIX = "_public"
MAX_CASES = 50
HIDDEN_OUTCOMES = (Outcome.DISMISSED.value, Outcome.EXPIRED.value)  # cases.publication.is_public


def is_public_role(role: str) -> bool:
    return role.endswith(PUBLIC_SUFFIX)


def penalty_of(status: str, outcome: str | None) -> str:
    """``cases.publication.penalty_status`` on the two columns (a test keeps them equal)."""
    penalised = status == Status.DECIDED or (status == Status.CLOSED and outcome == Outcome.PAID)
    return PENALISED if penalised else NOT_PENALISED


def _behaviour(rule: str, moment: Any) -> str:
    try:
        return behaviour(rule, on=moment.astimezone(VN_TZ).date())[0]
    except TariffError:
        return rule


@functools.cache
def _statement() -> Any:
    """Built once (building a statement costs more than running it); bound per lookup."""
    detecting, resolving = aliased(Unit), aliased(Unit)
    cases = (
        select(
            Case.id,
            Case.case_number,
            Case.plate_key,
            Case.plate_colour,
            Case.vehicle_class,
            Case.occurred_at,
            Case.place,
            Case.rule,
            Case.status,
            Case.outcome,
            Vehicle.plate_printed,
            detecting.name.label("detecting_name"),
            resolving.name.label("resolving_name"),
            resolving.address.label("resolving_address"),
            resolving.phone.label("resolving_phone"),
        )
        .outerjoin(Vehicle, Vehicle.id == Case.vehicle_id)
        .outerjoin(detecting, detecting.id == Case.detecting_unit_id)
        .outerjoin(resolving, resolving.id == Case.resolving_unit_id)
        .where(
            Case.plate_key == bindparam("plate_key"),
            Case.vehicle_class.in_(bindparam("classes", expanding=True)),
            Case.status.in_([str(s) for s in PUBLIC]),
            or_(Case.outcome.is_(None), Case.outcome.not_in(HIDDEN_OUTCOMES)),
        )
        .order_by(Case.occurred_at.desc())
        .limit(MAX_CASES)
        .subquery()
    )
    public_image = and_(Evidence.case_id == cases.c.id, Evidence.role.like(f"%\\{PUBLIC_SUFFIX}", escape="\\"))
    return (
        select(cases, Evidence.sha256)
        .outerjoin(Evidence, public_image)
        .order_by(cases.c.occurred_at.desc(), cases.c.id, Evidence.id)
    )


# The same statement in PostgreSQL's own SQL, run on the driver connection: the SQLAlchemy
# execution layer costs more CPU than the query (the public lookup's hot path; equality with
# ``_statement`` is tested on PostgreSQL).
PG_SQL = """
SELECT c.id, c.case_number, c.plate_key, c.plate_colour, c.vehicle_class, c.occurred_at, c.place,
       c.rule, c.status, c.outcome, v.plate_printed, d.name AS detecting_name,
       r.name AS resolving_name, r.address AS resolving_address, r.phone AS resolving_phone, e.sha256
FROM (SELECT * FROM cases
      WHERE plate_key = %(plate_key)s AND vehicle_class = ANY(%(classes)s) AND status = ANY(%(statuses)s)
        AND (outcome IS NULL OR NOT (outcome = ANY(%(hidden)s)))
      ORDER BY occurred_at DESC LIMIT %(limit)s) c
LEFT JOIN vehicles v ON v.id = c.vehicle_id
LEFT JOIN units d ON d.id = c.detecting_unit_id
LEFT JOIN units r ON r.id = c.resolving_unit_id
LEFT JOIN evidence e ON e.case_id = c.id AND e.role LIKE '%%\\_public' ESCAPE '\\'
ORDER BY c.occurred_at DESC, c.id, e.id
"""


def _pg_rows(session: Session, params: dict[str, Any]) -> list[Any]:
    """``PG_SQL`` on a pooled driver connection in autocommit (no BEGIN/ROLLBACK round trips),
    put back exactly as it was taken."""
    from psycopg.rows import namedtuple_row

    raw = session.get_bind().raw_connection()  # type: ignore[union-attr]
    try:
        driver = raw.driver_connection
        assert driver is not None, "expected a live psycopg connection from the pool"
        driver.autocommit = True  # client-side in psycopg 3: no round trip
        try:
            with driver.cursor(row_factory=namedtuple_row) as cursor:
                cursor.execute(
                    PG_SQL,
                    {
                        **params,
                        "statuses": [str(s) for s in PUBLIC],
                        "hidden": list(HIDDEN_OUTCOMES),
                        "limit": MAX_CASES,
                    },
                    prepare=True,
                )
                return cursor.fetchall()
        finally:
            driver.autocommit = False
    finally:
        raw.close()  # back to the pool


def public_cases(
    *, session: Session, plate_key: str, vehicle_type: LookupVehicleType, portable: bool = False
) -> list[PublicCase]:
    """Published cases of one (normalised) plate and lookup type, newest first, each with the
    hashes of its blurred public images. On PostgreSQL (outside a transaction) the statement runs
    as ``PG_SQL`` on the driver; ``portable`` forces the SQLAlchemy statement (tests compare)."""
    params = {"plate_key": plate_key, "classes": list(LOOKUP_CLASSES[LookupVehicleType(vehicle_type)])}
    fast = not portable and session.get_bind().dialect.name == "postgresql" and not session.in_transaction()
    rows = _pg_rows(session, params) if fast else session.execute(_statement(), params)
    found: dict[int, tuple[Any, list[str]]] = {}
    for row in rows:
        entry = found.setdefault(row.id, (row, []))
        if row.sha256 is not None:
            entry[1].append(row.sha256)
    return [
        PublicCase(
            case_number=row.case_number,
            plate=row.plate_printed or row.plate_key or "",
            plate_colour=PLATE_COLOUR_VI.get(row.plate_colour or "", row.plate_colour or ""),
            vehicle_type=VEHICLE_CLASS_VI.get(row.vehicle_class, row.vehicle_class),
            time=format_vn_time(row.occurred_at),
            place=row.place,
            behaviour=_behaviour(row.rule, row.occurred_at),
            status=penalty_of(row.status, row.outcome),
            detecting_unit=row.detecting_name or "",
            resolving_unit=row.resolving_name or "",
            resolving_address=row.resolving_address or "",
            resolving_phone=row.resolving_phone or "",
            evidence_sha256=tuple(shas),
        )
        for row, shas in found.values()
    ]


def evidence_is_public(*, session: Session, sha256: str) -> bool:
    """True only for a blurred public copy belonging to a published case."""
    cases = session.scalars(
        select(Case).where(
            exists().where(
                Evidence.case_id == Case.id,
                Evidence.sha256 == sha256,
                Evidence.role.like(f"%\\{PUBLIC_SUFFIX}", escape="\\"),
            )
        )
    ).all()
    return any(is_public(c) for c in cases)
