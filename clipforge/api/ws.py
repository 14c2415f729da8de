"""WebSocket /ws: the events, live.

Authenticate with an Authorization header, the web UI's session cookie (from a page of
this site: the Origin must match, so another site cannot ride the cookie), or, where a
client cannot set headers (a browser), a first message `{"token": "API_TOKEN"}`. Never a
token in the URL: URLs end up in logs. Filter with `?stream_id=`; resume after a
reconnect with `?since=<last event id>`; choose one of several workspaces with
`?workspace=NAME`. Only the events of the workspace's streams are sent."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from clipforge.api import sessions
from clipforge.api.admin import MAX_ID
from clipforge.api.deps import Services, authenticate, member_of
from clipforge.api.views import event_view
from clipforge.execution.relay import CHANNEL
from clipforge.services import workspaces
from clipforge.services.workspaces import Member
from clipforge.storage import ledger
from clipforge.storage.models import EventRow

if TYPE_CHECKING:
    from redis.asyncio.client import PubSub

router = APIRouter()
POLL_SECONDS = 0.25
WAKE_SECONDS = 1.0  # with Redis: look at the database at least this often anyway
FIRST_MESSAGE_SECONDS = 10.0  # a client without credentials has this long to send them
UNAUTHORIZED = 4401  # a 4xxx close code: the application's own, like HTTP 401
BAD_REQUEST = 4422  # like HTTP 422: a parameter out of range


def _bad_params(**ids: int | None) -> str:
    """What is wrong with the id parameters (an id the database could never hold would
    overflow its integer column), or ''."""
    for name, value in ids.items():
        if value is not None and not 0 <= value <= MAX_ID:
            return f"{name}={value}: give an id from 0 to {MAX_ID}"
    return ""


@router.websocket("/ws")
async def events_socket(ws: WebSocket, stream_id: int | None = None,
                        since: int | None = None, workspace: str | None = None) -> None:
    found: Services = ws.app.state.services
    await ws.accept()
    member = await _authenticated(ws, found, workspace)
    if member is None:
        await ws.send_json({"error": "unauthorized", "message": "send an Authorization "
                            "header, or {\"token\": \"API_TOKEN\"} as the first message"})
        await ws.close(code=UNAUTHORIZED)
        return
    bad = _bad_params(since=since, stream_id=stream_id)
    if bad:
        await ws.send_json({"error": "bad_request", "message": bad})
        await ws.close(code=BAD_REQUEST)
        return
    last = since if since is not None else await run_in_threadpool(_latest, found)
    closed = asyncio.ensure_future(_until_closed(ws))
    wake = await _subscribe(found.settings.redis_url)
    try:
        while not closed.done():
            batch = await run_in_threadpool(_fetch, found, last, stream_id,
                                            member.workspace_id)
            for event in batch:
                await ws.send_json(event_view(event).model_dump(mode="json"))
                last = event.id
            if not batch:
                wake = await _idle(closed, wake)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away mid-send
    finally:
        closed.cancel()
        if wake is not None:
            with contextlib.suppress(Exception):
                await wake.aclose()
        with contextlib.suppress(Exception):
            await closed


async def _authenticated(ws: WebSocket, found: Services,
                         workspace: str | None) -> Member | None:
    """Who is on the other end, as a member of the workspace whose events they get."""
    header = ws.headers.get("authorization", "")
    if header:
        token = header.removeprefix("Bearer ").strip()
        user = await run_in_threadpool(authenticate, found, token)
        return await run_in_threadpool(member_of, found, user, workspace)
    cookie = ws.cookies.get(sessions.COOKIE)
    if cookie:
        same_site = ws.headers.get("origin", "").split("://")[-1] == ws.headers.get("host")
        session = await run_in_threadpool(sessions.read, found.repo, cookie)
        if not same_site or session is None:
            return None
        return await run_in_threadpool(member_of, found, session.user_id, workspace)
    try:
        first = await asyncio.wait_for(ws.receive_json(), FIRST_MESSAGE_SECONDS)
    except (TimeoutError, ValueError, KeyError, WebSocketDisconnect, RuntimeError):
        return None
    given = first.get("token") if isinstance(first, dict) else None
    if not isinstance(given, str):
        return None
    user = await run_in_threadpool(authenticate, found, given)
    return await run_in_threadpool(member_of, found, user, workspace)


async def _subscribe(redis_url: str) -> PubSub | None:
    """Distributed mode: the relay's pub/sub channel wakes us when events commit."""
    if not redis_url:
        return None
    try:
        import redis.asyncio as aioredis

        wake = aioredis.from_url(redis_url, socket_connect_timeout=3).pubsub(
            ignore_subscribe_messages=True)
        await wake.subscribe(CHANNEL)
        return wake
    except Exception:
        return None  # Redis away: poll the database instead


async def _idle(closed: asyncio.Future[None], wake: PubSub | None) -> PubSub | None:
    """Wait for news: a wake-up from Redis (or a second without one), else a poll
    interval. Returns the subscription, None once it broke (then we poll)."""
    if wake is not None:
        try:
            await wake.get_message(timeout=WAKE_SECONDS)
            return wake
        except Exception:
            with contextlib.suppress(Exception):
                await wake.aclose()
    await asyncio.wait([closed], timeout=POLL_SECONDS)
    return None


async def _until_closed(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await ws.receive_text()


def _fetch(found: Services, since: int, stream_id: int | None,
           workspace_id: int) -> list[EventRow]:
    with found.repo.session() as s:
        return ledger.events_after(s, since, stream_id, 200,
                                   workspaces.streams_of(workspace_id))


def _latest(found: Services) -> int:
    with found.repo.session() as s:
        return ledger.latest_cursor(s)[1]
