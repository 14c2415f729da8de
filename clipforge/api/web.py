"""The web UI's pages: server-rendered shells (Jinja2) whose plain JavaScript talks to the
same JSON API and WebSocket as any client, with the login session's cookie and CSRF token.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from clipforge import __version__, errors
from clipforge.api import sessions
from clipforge.api.deps import (
    ClipIdPath,
    IdPath,
    ServicesDep,
    checked_login,
    member_of,
    secure_cookies,
)
from clipforge.services import workspaces
from clipforge.services.workspaces import Member
from clipforge.storage.models import UserRow

WEB = Path(__file__).resolve().parent.parent / "web"
templates = Jinja2Templates(directory=WEB / "templates")
router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    """A page was asked for without a session: the handler in app.py redirects."""

    def __init__(self, path: str) -> None:
        self.path = path


def page_user(request: Request, found: ServicesDep) -> tuple[UserRow, sessions.Login]:
    session = sessions.read(found.repo, request.cookies.get(sessions.COOKIE))
    if session is not None:
        with found.repo.session() as s:
            user = s.get(UserRow, session.user_id)
        if user is not None:
            return user, session
    raise LoginRequired(request.url.path)


def page_member(request: Request, found: ServicesDep, user: UserRow) -> Member:
    """The page's user as a member of their workspace (404 for a user in none)."""
    member = member_of(found, user, request.headers.get(workspaces.HEADER))
    if member is None:
        raise errors.NotFound(f"{request.url.path}: no such page")
    return member


def login_redirect(_request: Request, exc: LoginRequired) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(exc.path)}", status_code=303)


def _page(request: Request, name: str, login: tuple[UserRow, sessions.Login],
          **context: object) -> HTMLResponse:
    user, session = login
    return templates.TemplateResponse(request, name, {
        "user": user.name, "csrf": session.csrf, "version": __version__, **context})


def _safe_next(target: str) -> str:
    """Only a path on this site: never an open redirect to another one."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/", failed: bool = False) -> HTMLResponse:
    return _login_form(request, next, failed)


def _login_form(request: Request, next: str, failed: bool, username: str = "",
                status: int = 200) -> HTMLResponse:
    """The login page with a fresh CSRF token; after a wrong password, the user name
    typed stays in its field."""
    token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(request, "login.html", {
        "csrf": token, "next": _safe_next(next), "failed": failed, "username": username,
        "version": __version__}, status_code=status)
    response.set_cookie(sessions.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        max_age=3600, secure=secure_cookies(request.app.state.services))
    return response


@router.post("/login")
def login(request: Request, found: ServicesDep, username: Annotated[str, Form()],
          password: Annotated[str, Form()], csrf: Annotated[str, Form()],
          next: Annotated[str, Form()] = "/") -> Response:
    if not sessions.csrf_ok(request.cookies.get(sessions.LOGIN_CSRF_COOKIE, ""), csrf):
        raise errors.Forbidden("the login form is stale (no CSRF token); reload the page")
    try:
        user = checked_login(request, found, username[:100], password[:200])
    except errors.Unauthorized:
        return _login_form(request, next, True, username[:100], status=401)
    value, _ = sessions.start(found.repo, user)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(sessions.COOKIE, value, httponly=True, samesite="lax",
                        max_age=sessions.MAX_AGE, secure=secure_cookies(found))
    response.delete_cookie(sessions.LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, found: ServicesDep, csrf: Annotated[str, Form()]) -> Response:
    _, session = page_user(request, found)
    if not sessions.csrf_ok(session.csrf, csrf):
        raise errors.Forbidden("logout without this session's CSRF token; reload the page")
    sessions.end(found.repo, request.cookies.get(sessions.COOKIE))  # for good, not only here
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, found: ServicesDep) -> HTMLResponse:
    return _page(request, "dashboard.html", page_user(request, found), page="dashboard")


@router.get("/streams/{stream_id}", response_class=HTMLResponse)
def stream_page(request: Request, found: ServicesDep, stream_id: IdPath) -> HTMLResponse:
    login = page_user(request, found)  # before the lookup: no 404 tells a stranger anything
    member = page_member(request, found, login[0])
    with found.repo.session() as s:
        name = workspaces.stream(s, member, stream_id).name
    return _page(request, "stream.html", login, page="stream", stream_id=stream_id,
                 stream_name=name)


@router.get("/clips/{clip_id}", response_class=HTMLResponse)
def clip_page(request: Request, found: ServicesDep, clip_id: ClipIdPath) -> HTMLResponse:
    login = page_user(request, found)
    member = page_member(request, found, login[0])
    with found.repo.session() as s:
        stream_id = workspaces.clip(s, member, clip_id).stream_id
    return _page(request, "clip.html", login, page="clip", clip_id=clip_id,
                 stream_id=stream_id)


@router.get("/streamers", response_class=HTMLResponse)
def streamers_page(request: Request, found: ServicesDep) -> HTMLResponse:
    return _page(request, "streamers.html", page_user(request, found), page="streamers")
