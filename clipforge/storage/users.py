"""Users and API tokens. Passwords are kept as scrypt hashes, tokens as SHA-256 digests:
the database never holds a secret that works as it is."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from clipforge import errors
from clipforge.storage.models import ApiTokenRow, MemberRow, UserRow, WebSessionRow, utcnow

TOKEN_PREFIX = "cf_"
# Checked against when the user name is unknown, so that a wrong name costs the same
# scrypt as a wrong password and timing tells nobody which names exist.
_DECOY = f"scrypt${'00' * 16}${'00' * 64}"


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
    stored = user.password_hash if user is not None else None
    matches = check_password(stored or _DECOY, password)  # the same cost either way
    if user is None or not stored or not matches:
        raise errors.Unauthorized("wrong user name or password")
    return user


def set_password(s: Session, user: UserRow, password: str) -> None:
    """A new password ends every web session of the user (a thief's too)."""
    user.password_hash = hash_password(password)
    s.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user.id))


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite


def create_token(s: Session, user: UserRow, label: str = "", days: float = 90.0) -> str:
    """A new token for the user, valid `days`; it is returned once and only its digest
    is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    s.add(ApiTokenRow(user_id=user.id, name=label[:100], token_hash=token_hash(token),
                      expires_at=utcnow() + timedelta(days=days)))
    return token


def user_for_token(s: Session, token: str) -> UserRow | None:
    row = s.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and _aware(row.expires_at) <= utcnow():
        return None
    row.last_used_at = utcnow()
    return s.get(UserRow, row.user_id)


def _members(workspace_id: int) -> Select[int]:
    return select(MemberRow.user_id).where(MemberRow.workspace_id == workspace_id)


def tokens(s: Session, workspace_id: int | None = None) -> list[tuple[ApiTokenRow, str]]:
    """Every token (of the workspace's members) with its user's name, newest first (never
    the token itself)."""
    query = select(ApiTokenRow, UserRow.name).join(
        UserRow, UserRow.id == ApiTokenRow.user_id).order_by(ApiTokenRow.id.desc())
    if workspace_id is not None:
        query = query.where(ApiTokenRow.user_id.in_(_members(workspace_id)))
    return [(row, name) for row, name in s.execute(query)]


def revoke_token(s: Session, token_id: int, workspace_id: int | None = None) -> ApiTokenRow:
    """Revoke a token (only one of the workspace's members, given a workspace)."""
    row = s.get(ApiTokenRow, token_id)
    if row is not None and workspace_id is not None and row.user_id not in set(
            s.scalars(_members(workspace_id))):
        row = None
    if row is None:
        raise errors.NotFound(f"token {token_id}: no such token; see `clipforge token list`")
    row.revoked_at = row.revoked_at or utcnow()
    return row


@dataclass(frozen=True)
class Login:
    """A web UI session as a request sees it."""

    user_id: int
    csrf: str


def start_session(s: Session, user: UserRow, seconds: float) -> tuple[str, Login]:
    """A new web session; returns the cookie value (shown to the browser only)."""
    secret = secrets.token_urlsafe(32)
    login = Login(user.id, secrets.token_urlsafe(24))
    s.add(WebSessionRow(id=token_hash(secret), user_id=user.id, csrf=login.csrf,
                        expires_at=utcnow() + timedelta(seconds=seconds)))
    return secret, login


def session_for(s: Session, secret: str) -> Login | None:
    if not secret or len(secret) > 200:
        return None
    row = s.get(WebSessionRow, token_hash(secret))
    if row is None or _aware(row.expires_at) <= utcnow():
        return None
    return Login(row.user_id, row.csrf)


def end_session(s: Session, secret: str) -> None:
    s.execute(delete(WebSessionRow).where(WebSessionRow.id == token_hash(secret)))
