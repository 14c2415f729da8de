"""Connecting a streamer's YouTube, X, TikTok or Instagram account from the web UI: the
OAuth redirect out to the platform and the callback back in.

The flow's secrets (state and PKCE verifier) travel in a short-lived signed, HttpOnly
cookie; the callback accepts only the state it finds there, so a forged or replayed
redirect cannot attach someone else's account.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from clipforge import errors
from clipforge.api import sessions
from clipforge.api.deps import ServicesDep, secure_cookies
from clipforge.api.web import page_member, page_user
from clipforge.publish import PLATFORMS, oauth
from clipforge.services import accounts, workspaces

router = APIRouter(include_in_schema=False)
log = logging.getLogger("clipforge.api")
COOKIE = "clipforge_oauth"
MAX_AGE = 900
# What the page back may say: a code from this list (app.js has the words), never text
# from the URL, so nobody can make the page show a message of their choosing.
FLASHES = ("unknown_platform", "not_configured", "no_public_url", "stale_state",
           "not_granted", "failed")


def _back(error: str = "", connected: str = "", detail: str = "") -> RedirectResponse:
    if error:
        log.warning("connecting an account: %s (%s)", error, detail)
    query = f"error={error if error in FLASHES else 'failed'}" if error else \
        f"connected={connected if connected in PLATFORMS else ''}"
    response = RedirectResponse(f"/streamers?{query}", status_code=303)
    response.delete_cookie(COOKIE)
    return response


def _redirect_uri(found: ServicesDep, platform: str) -> str | None:
    """Where the platform sends the browser back: only CLIPFORGE_PUBLIC_URL, never the
    request's Host header (which the client chooses)."""
    base = found.settings.public_url.rstrip("/")
    return f"{base}/accounts/callback/{platform}" if base else None


@router.get("/accounts/connect/{platform}")
def connect_start(request: Request, found: ServicesDep, platform: str,
                  streamer_id: Annotated[int, Query(ge=1, le=2**31 - 1)]
                  ) -> RedirectResponse:
    member = page_member(request, found, page_user(request, found)[0])
    workspaces.require(member, "owner", "connecting an account")
    if platform not in PLATFORMS:
        return _back(error="unknown_platform", detail=platform[:20])
    with found.repo.session() as s:
        streamer = workspaces.streamer(s, member, streamer_id).name
    try:
        provider = oauth.provider(found.settings, platform)
    except errors.ClipForgeError as exc:
        return _back(error="not_configured", detail=exc.message)
    redirect_uri = _redirect_uri(found, platform)
    if redirect_uri is None:
        return _back(error="no_public_url", detail="CLIPFORGE_PUBLIC_URL is not set")
    pending = oauth.start(provider, redirect_uri)
    body = base64.urlsafe_b64encode(json.dumps({
        "platform": platform, "streamer": streamer, "workspace": member.workspace_id,
        "state": pending.state,
        "verifier": pending.verifier, "redirect_uri": redirect_uri,
        "expires": time.time() + MAX_AGE}).encode())
    response = RedirectResponse(pending.url, status_code=303)
    # Lax: the platform's redirect back is a top-level GET, which must carry it.
    response.set_cookie(COOKIE, f"{body.decode()}.{sessions.sign(found.key, body)}",
                        httponly=True, samesite="lax", max_age=MAX_AGE,
                        secure=secure_cookies(found))
    return response


@router.get("/accounts/callback/{platform}")
def connect_callback(request: Request, found: ServicesDep, platform: str,
                     code: str = "", state: str = "", error: str = "") -> RedirectResponse:
    member = page_member(request, found, page_user(request, found)[0])
    flow = _flow(found.key, request.cookies.get(COOKIE))
    if flow is None or flow["platform"] != platform or not sessions.csrf_ok(
            flow["state"], state) or flow.get("workspace") != member.workspace_id:
        return _back(error="stale_state", detail=platform[:20])
    if error or not code:
        return _back(error="not_granted", detail=error[:200])
    try:
        workspaces.require(member, "owner", "connecting an account")
        done = accounts.connect(found.repo, found.settings, platform, flow["streamer"], code,
                                flow["redirect_uri"], flow["verifier"], member.workspace_id)
    except errors.ClipForgeError as exc:
        return _back(error="failed", detail=exc.message)
    return _back(connected=done.platform)


def _flow(key: bytes, value: str | None) -> dict[str, Any] | None:
    if not value or value.count(".") != 1 or len(value) > 4000:
        return None
    body, signature = value.split(".")
    if not sessions.csrf_ok(sessions.sign(key, body.encode()), signature):
        return None
    try:
        flow = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    return flow if isinstance(flow, dict) and flow.get("expires", 0) > time.time() else None
