"""Users and API tokens. Passwords are kept as scrypt hashes, tokens as SHA-256 digests:
the database never holds a secret that works as it is."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge import errors
from clipforge.storage.models import ApiTokenRow, UserRow, utcnow

TOKEN_PREFIX = "cf_"


def _scrypt(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    return f"scrypt${salt.hex()}${_scrypt(password, salt).hex()}"


def check_password(stored: str | None, password: str) -> bool:
    if not stored or stored.count("$") != 2:
        return False
    _, salt, digest = stored.split("$")
    return hmac.compare_digest(_scrypt(password, bytes.fromhex(salt)).hex(), digest)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(s: Session, name: str, password: str | None = None) -> UserRow:
    if not name or len(name) > 100:
        raise errors.BadOption(f"user name {name!r}: give 1 to 100 characters")
    if s.scalar(select(UserRow).where(UserRow.name == name)) is not None:
        raise errors.Conflict(f"user {name} exists already")
    user = UserRow(name=name, password_hash=hash_password(password) if password else None)
    s.add(user)
    s.flush()
    return user


def find_user(s: Session, name: str) -> UserRow:
    user = s.scalar(select(UserRow).where(UserRow.name == name))
    if user is None:
        raise errors.NotFound(f"user {name}: no such user; make one with "
                              "`clipforge user create NAME`")
    return user


def login(s: Session, name: str, password: str) -> UserRow:
    user = s.scalar(select(UserRow).where(UserRow.name == name))
    if user is None or not check_password(user.password_hash, password):
        raise errors.Unauthorized("wrong user name or password")
    return user


def create_token(s: Session, user: UserRow, label: str = "") -> str:
    """A new token for the user; it is returned once and only its digest is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    s.add(ApiTokenRow(user_id=user.id, name=label[:100], token_hash=token_hash(token)))
    return token


def user_for_token(s: Session, token: str) -> UserRow | None:
    row = s.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash(token)))
    if row is None:
        return None
    row.last_used_at = utcnow()
    return s.get(UserRow, row.user_id)
