"""Rotation of the key that encrypts personal data at rest.

Put the new key in ``security.pii_key`` and the old one(s) in ``cases.pii_old_keys``: from then on
new values are encrypted with the new key and old ones still decrypt. ``reencrypt`` (the command
``phatnguoi cases rotate-pii``) then rewrites every stored token under the new key, in batches,
after which the old keys can be removed from the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import Base, CitizenSubmission, Decision, Owner, Statement
from cases.pii import PiiCipher, PiiKeyError

# every model with encrypted columns -> those columns
ENCRYPTED: dict[type[Base], tuple[str, ...]] = {
    Owner: ("name_enc", "id_number_enc", "address_enc", "phone_enc", "email_enc"),
    Statement: ("driver_name_enc", "driver_id_number_enc", "driver_address_enc"),
    Decision: ("fined_name_enc", "fined_id_number_enc"),
    CitizenSubmission: ("submitter_name_enc", "submitter_contact_enc"),
}


@dataclass(frozen=True)
class RekeyResult:
    rows: int
    values: int


def reencrypt(session: Session, cipher: PiiCipher, *, batch: int = 1000) -> RekeyResult:
    """Re-encrypt every stored token under ``cipher``'s first key, committing per batch (a crash
    half-way leaves every value readable with the same key list: rerun it). A token that no key
    decrypts stops the run with ``PiiKeyError`` naming the table and row."""
    rows = values = 0
    for model, columns in ENCRYPTED.items():
        last_id = 0
        while True:
            chunk = session.scalars(
                select(model).where(model.id > last_id).order_by(model.id).limit(batch)  # type: ignore[attr-defined]
            ).all()
            if not chunk:
                break
            for obj in chunk:
                for column in columns:
                    token = getattr(obj, column)
                    if token:
                        try:
                            setattr(obj, column, cipher.rotate(token))
                        except (InvalidToken, PiiKeyError) as exc:
                            raise PiiKeyError(
                                f"{model.__tablename__} row {obj.id}: {column} cannot be decrypted with the "  # type: ignore[attr-defined]
                                f"configured keys: {exc}"
                            ) from exc
                        values += 1
                rows += 1
                last_id = obj.id  # type: ignore[attr-defined]
            session.commit()
    return RekeyResult(rows=rows, values=values)
