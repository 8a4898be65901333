"""Owners' personal data: encrypted at rest with Fernet, masked for display.

The key comes from the settings, never from code. ``PiiCipher`` takes one key or several
separated by commas: the first encrypts, all decrypt, so a key can be rotated by prepending a new
one and re-encrypting at leisure (``rotate``). A key is either a Fernet key or any other secret of
at least 32 characters, from which a Fernet key is derived (HKDF-SHA256), so the settings' random
``pii_key`` works as it is.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_SECRET = 32


class PiiKeyError(ValueError):
    pass


def generate_key() -> str:
    """A fresh Fernet key (url-safe base64 of 32 random bytes)."""
    return Fernet.generate_key().decode("ascii")


def _fernet(key: str, index: int) -> Fernet:
    try:
        if len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32:
            return Fernet(key.encode("ascii"))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        pass
    if len(key) < MIN_SECRET:
        raise PiiKeyError(
            f"expected PII key #{index + 1} to be a Fernet key or a secret of at least {MIN_SECRET} "
            f"characters, got {len(key)} characters"
        )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"phatnguoi.pii.v1", info=b"fernet").derive(
        key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


class PiiCipher:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise PiiKeyError("expected at least one Fernet key for personal data, got none")
        self._cipher = MultiFernet([_fernet(key, i) for i, key in enumerate(parts)])

    def encrypt(self, value: str) -> str:
        return "" if value == "" else self._cipher.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        if token == "":
            return ""
        try:
            return self._cipher.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise PiiKeyError("cannot decrypt personal data: wrong key or altered value") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` under the first (newest) key."""
        return "" if token == "" else self._cipher.rotate(token.encode("ascii")).decode("ascii")


def mask_name(name: str) -> str:
    """``"Nguyễn Văn An"`` -> ``"N***** V** A*"``: initials stay, the rest is hidden."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def mask_digits(value: str, keep: int = 3) -> str:
    """Phone or ID number: all but the last ``keep`` characters hidden."""
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


def mask_address(address: str) -> str:
    """Only the last part (province or city) of a comma-separated address stays."""
    parts = [p.strip() for p in address.split(",") if p.strip()]
    return "***, " + parts[-1] if len(parts) > 1 else "***"
