"""Login sessions for the web UI: a signed cookie holding the user, an expiry and the
session's CSRF token. Pages send the token back in a form field or an X-CSRF-Token header;
a request that changes state without it is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "clipforge_session"
LOGIN_CSRF_COOKIE = "clipforge_login_csrf"  # the login form's token, before any session
CSRF_HEADER = "x-csrf-token"
MAX_AGE = 14 * 24 * 3600
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class WebSession:
    user_id: int
    csrf: str
    expires: float


def sign(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def issue(key: bytes, user_id: int) -> tuple[str, WebSession]:
    """A new session for the user, as the cookie value to set."""
    session = WebSession(user_id, secrets.token_urlsafe(24), time.time() + MAX_AGE)
    body = base64.urlsafe_b64encode(json.dumps(
        {"u": session.user_id, "c": session.csrf, "e": session.expires}).encode())
    return f"{body.decode()}.{sign(key, body)}", session


def read(key: bytes, value: str | None) -> WebSession | None:
    """The session in a cookie, if it is ours (signature) and not expired."""
    if not value or value.count(".") != 1 or len(value) > 1000:
        return None
    body, signature = value.split(".")
    if not hmac.compare_digest(sign(key, body.encode()), signature):
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(body.encode()))
        session = WebSession(int(raw["u"]), str(raw["c"]), float(raw["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires > time.time() else None


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected, given or "")
