"""Login sessions for the web UI, kept on the server: the cookie holds a random secret
naming a row (storage/users.py), so logout and a password change end a session for good.
Pages send the session's CSRF token back in a form field or an X-CSRF-Token header; a
request that changes state without it is refused."""

from __future__ import annotations

import hashlib
import hmac

from clipforge.storage import users
from clipforge.storage.models import UserRow
from clipforge.storage.repository import Repository
from clipforge.storage.users import Login

COOKIE = "clipforge_session"
LOGIN_CSRF_COOKIE = "clipforge_login_csrf"  # the login form's token, before any session
CSRF_HEADER = "x-csrf-token"
MAX_AGE = 14 * 24 * 3600
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

__all__ = ["COOKIE", "CSRF_HEADER", "Login", "csrf_ok", "end", "read", "sign", "start"]


def sign(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def start(repo: Repository, user: UserRow) -> tuple[str, Login]:
    """A new session for the user, as the cookie value to set."""
    with repo.session() as s:
        return users.start_session(s, user, MAX_AGE)


def read(repo: Repository, value: str | None) -> Login | None:
    """The live session a cookie names, if any."""
    if not value:
        return None
    with repo.session() as s:
        return users.session_for(s, value)


def end(repo: Repository, value: str | None) -> None:
    if value:
        with repo.session() as s:
            users.end_session(s, value)


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected, given or "")
