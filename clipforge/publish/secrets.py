"""OAuth tokens encrypted at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived
from CLIPFORGE_SECRET_KEY, so a copy of the database alone does not give the accounts away.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from clipforge import errors


def _fernet(secret: bytes) -> Fernet:
    # A key of its own for tokens: the session-signing use of the same secret never sees it.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"clipforge account tokens").derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: bytes, tokens: dict[str, Any]) -> str:
    return _fernet(secret).encrypt(json.dumps(tokens).encode()).decode()


def unseal(secret: bytes, sealed: str, account: str) -> dict[str, Any]:
    try:
        raw = json.loads(_fernet(secret).decrypt(sealed.encode()))
    except (InvalidToken, ValueError) as exc:
        raise errors.AccountRevoked(
            f"{account}: its stored tokens cannot be read with this CLIPFORGE_SECRET_KEY "
            "(was the key changed?); set the key they were made with, or connect the "
            "account again") from exc
    assert isinstance(raw, dict)
    return raw
