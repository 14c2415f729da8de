"""Request bodies are bounded before anything parses them, and a request without valid
credentials is answered before its body is read: an anonymous client can make the server
neither spool a large upload to disk nor parse a large JSON document.

A pure ASGI middleware, so it sees the request before FastAPI reads the body. The route's
own authentication (CSRF, roles) still runs after; this is only the first gate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# Routes that take a file; every other body is a small JSON document or form.
UPLOADS = re.compile(r"^/api/streams/upload$|^/api/streamers/[0-9]+/faces$")
# Routes whose body is the credentials themselves.
OPEN = ("/api/auth/token", "/login")


class BodyLimits:
    def __init__(self, app: App, small: int, upload: int, image: int,
                 authenticated: Callable[[Any, dict[str, str]], bool]) -> None:
        self.app, self.small, self.upload, self.image = app, small, upload, image
        self.authenticated = authenticated  # (app state services, headers) -> bool

    def limit(self, path: str) -> int:
        if not UPLOADS.match(path):
            return self.small
        return self.image if path.endswith("/faces") else self.upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}
        declared = _declared(headers)
        if declared == 0:  # no body: nothing to guard
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        if scope["path"] not in OPEN:
            services = scope["app"].state.services
            if not await run_in_threadpool(self.authenticated, services, headers):
                await _answer(send, 401, "unauthorized", "this needs an API token: send "
                              "`Authorization: Bearer TOKEN`, or log in")
                return
        if declared is not None and declared > limit:
            await _answer(send, 413, "too_large", _too_large(limit))
            return
        await _Counted(self.app, limit)(scope, receive, send)


def _declared(headers: dict[str, str]) -> int | None:
    """The body's declared length; None when it is streamed (chunked) or unstated."""
    if "content-length" in headers:
        try:
            return max(0, int(headers["content-length"]))
        except ValueError:
            return None
    return None if "transfer-encoding" in headers else 0


class _Counted:
    """Runs the app on a `receive` that refuses more than `limit` bytes, whatever
    Content-Length said. However the app handles that refusal (FastAPI turns a failed
    body read into a 400), its answer becomes a 413."""

    def __init__(self, app: App, limit: int) -> None:
        self.app, self.limit = app, limit
        self.received = 0
        self.exceeded = False
        self.answered = False  # a response has started: no other can be sent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.exceeded = True
                    raise HTTPException(413, _too_large(self.limit))
            return message

        async def guarded(message: Message) -> None:
            if not self.exceeded:
                self.answered = self.answered or message["type"] == "http.response.start"
                await send(message)
            elif not self.answered:  # the app's own answer to the refusal is replaced
                self.answered = True
                await _answer(send, 413, "too_large", _too_large(self.limit))

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not self.exceeded:
                raise
            if not self.answered:
                await guarded({"type": "http.response.start"})


def _too_large(limit: int) -> str:
    size = f"{limit >> 20} MB" if limit >= 1 << 20 else f"{limit >> 10} KB"
    return (f"the request body is larger than this endpoint takes ({size}); uploads are "
            "bounded by CLIPFORGE_MAX_UPLOAD_MB")


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"code": code, "message": message}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
