"""What routes need, as `Annotated` dependencies: the state, the orchestrator, the user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
from clipforge.services import workspaces
from clipforge.services.live import Followers
from clipforge.services.orchestrator import Orchestrator
from clipforge.services.workspaces import Member
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
    followers: Followers = field(init=False)  # the live streams this server follows

    def __post_init__(self) -> None:
        s = self.settings
        self.followers = Followers(self.repo, s)
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


def current_member(request: Request, found: ServicesDep, user: CurrentUser) -> Member:
    """The user's membership in the workspace the request names (the
    X-Clipforge-Workspace header), else in their first workspace."""
    with found.repo.session() as s:
        return workspaces.membership(s, user, request.headers.get(workspaces.HEADER))


def _needs(role: str, what: str) -> Callable[[Member], Member]:
    def check(member: Annotated[Member, Depends(current_member)]) -> Member:
        workspaces.require(member, role, what)
        return member
    return check


# What a route needs: any member sees and downloads; editors change streams and clips;
# owners manage members, accounts and streamers' settings.
Viewer = Annotated[Member, Depends(current_member)]
Editor = Annotated[Member, Depends(_needs("editor", "this"))]
Owner = Annotated[Member, Depends(_needs("owner", "this"))]


def open_session(found: ServicesDep) -> Iterator[Session]:
    with found.repo.session() as s:
        yield s


def session(found: ServicesDep,
            _member: Annotated[Member, Depends(current_member)]) -> Iterator[Session]:
    """A session for an authenticated member's request. The token and the membership are
    checked first, in their own short session: SQLite takes one writer at a time, so a
    request never holds two."""
    with found.repo.session() as s:
        yield s


# scope="function": the session commits when the route returns, before the response is
# sent. (By default FastAPI ends a dependency after the response has gone out: a client
# told "saved" could read the old row, and a failed commit would still have answered 200.)
SessionDep = Annotated[Session, Depends(session, scope="function")]
OpenSessionDep = Annotated[Session, Depends(open_session, scope="function")]  # login only


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


def member_of(found: Services, user: UserRow | int | None,
              workspace: str | None = None) -> Member | None:
    """A user's (or user id's) membership, None when they have none (or no user)."""
    if user is None:
        return None
    try:
        with found.repo.session() as s:
            row = user if isinstance(user, UserRow) else s.get(UserRow, user)
            return workspaces.membership(s, row, workspace) if row is not None else None
    except errors.ClipForgeError:
        return None


def authenticate(found: Services, token: str) -> UserRow | None:
    if not token or len(token) > 200:
        return None
    with found.repo.session() as s:
        return users.user_for_token(s, token)

# Database ids are 32-bit on PostgreSQL: a larger one is a 404-worthy request, never a 500.
IdPath = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
ClipIdPath = Annotated[str, PathParam(min_length=1, max_length=32, pattern="^[0-9a-f]+$")]
