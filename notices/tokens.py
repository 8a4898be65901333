"""Signed, unguessable notice tokens for the QR code's verification link.

The token names the case and the notice type and carries a random nonce, signed with the app's
secret (itsdangerous): a forged or altered token fails ``verify_token``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

_SALT = "phatnguoi.notice.v1"


class BadNoticeToken(ValueError):
    pass


@dataclass(frozen=True)
class TokenClaims:
    case_number: str
    notice_type: str


def make_token(secret_key: str, *, case_number: str, notice_type: str) -> str:
    if not secret_key:
        raise ValueError("expected a secret key to sign notice tokens, got an empty one")
    return URLSafeSerializer(secret_key, salt=_SALT).dumps(
        {"c": case_number, "t": notice_type, "n": secrets.token_urlsafe(9)}
    )


def verify_token(secret_key: str, token: str) -> TokenClaims:
    try:
        data = URLSafeSerializer(secret_key, salt=_SALT).loads(token)
    except BadSignature as exc:
        raise BadNoticeToken("the notice token is not genuine (bad signature)") from exc
    if not isinstance(data, dict) or not {"c", "t"} <= data.keys():
        raise BadNoticeToken("the notice token is not genuine (unexpected content)")
    return TokenClaims(case_number=str(data["c"]), notice_type=str(data["t"]))
