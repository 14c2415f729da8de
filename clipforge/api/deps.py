"""What routes need, as `Annotated` dependencies: the state, the orchestrator, the user."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Annotated

from fastapi import Depends, Request
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from clipforge import errors
from clipforge.api import sessions
from clipforge.api.throttle import LoginThrottle
from clipforge.config import Settings
from clipforge.services.orchestrator import Orchestrator
from clipforge.storage import users
from clipforge.storage.models import UserRow
from clipforge.storage.repository import Repository


@dataclass
class Services:
    """Made once when the app starts (see app.py)."""

    settings: Settings
    repo: Repository
    orchestrator: Orchestrator
    key: bytes  # signs the OAuth flow's cookie
    throttle: LoginThrottle = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.throttle = LoginThrottle(s.login_attempts, s.login_attempts_per_address,
                                      s.login_window_seconds)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


bearer = HTTPBearer(auto_error=False, description="An API token: `clipforge token create`")


def current_user(request: Request, found: ServicesDep,
                 credentials: Annotated[HTTPAuthorizationCredentials | None,
                                        Depends(bearer)]) -> UserRow:
    """The user of an API token, or of the web UI's login session (whose requests that
    change state must carry the session's CSRF token)."""
    if credentials is not None:
        user = authenticate(found, credentials.credentials)
        if user is None:
            raise errors.Unauthorized("the API token is not valid (revoked, or mistyped)")
        return user
    session = sessions.read(found.repo, request.cookies.get(sessions.COOKIE))
    if session is None:
        raise errors.Unauthorized("this needs an API token: send `Authorization: Bearer "
                                  "TOKEN` (make one with `clipforge token create USER`)")
    if request.method not in sessions.SAFE_METHODS and not sessions.csrf_ok(
            session.csrf, request.headers.get(sessions.CSRF_HEADER)):
        raise errors.Forbidden("the request lacks this session's CSRF token; reload the page")
    with found.repo.session() as s:
        user = s.get(UserRow, session.user_id)
    if user is None:
        raise errors.Unauthorized("the session's user no longer exists; log in again")
    return user


CurrentUser = Annotated[UserRow, Depends(current_user)]


def open_session(found: ServicesDep) -> Iterator[Session]:
    with found.repo.session() as s:
        yield s


def session(found: ServicesDep, _user: CurrentUser) -> Iterator[Session]:
    """A session for an authenticated request. The token is checked first, in its own
    short session: SQLite takes one writer at a time, so a request never holds two."""
    with found.repo.session() as s:
        yield s


SessionDep = Annotated[Session, Depends(session)]
OpenSessionDep = Annotated[Session, Depends(open_session)]  # for login only


def credentials_ok(found: Services, headers: dict[str, str]) -> bool:
    """Whether a request carries a valid token or login session: the check that runs
    before its body is read (api/limits.py). Routes check fully (CSRF, roles) later."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return authenticate(found, token.strip()) is not None
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get("cookie", ""))
    except CookieError:
        return False
    morsel = cookies.get(sessions.COOKIE)
    return morsel is not None and sessions.read(found.repo, morsel.value) is not None


def checked_login(request: Request, found: Services, name: str, password: str) -> UserRow:
    """A user name and password, under the login throttle (api/throttle.py)."""
    address = request.client.host if request.client else "unknown"
    found.throttle.check(address, name)
    try:
        with found.repo.session() as s:
            return users.login(s, name, password)
    except errors.Unauthorized:
        found.throttle.failed(address, name)
        raise


def secure_cookies(found: Services) -> bool:
    """Cookies only over HTTPS when browsers reach the server by HTTPS."""
    return found.settings.public_url.lower().startswith("https://")


def authenticate(found: Services, token: str) -> UserRow | None:
    if not token or len(token) > 200:
        return None
    with found.repo.session() as s:
        return users.user_for_token(s, token)

# Database ids are 32-bit on PostgreSQL: a larger one is a 404-worthy request, never a 500.
IdPath = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
ClipIdPath = Annotated[str, PathParam(min_length=1, max_length=32, pattern="^[0-9a-f]+$")]
