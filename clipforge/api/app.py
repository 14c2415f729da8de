"""The FastAPI app: `clipforge serve` runs it with the local worker pool inside."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from clipforge import __version__, errors
from clipforge.api import (
    admin,
    batch,
    clips,
    connect,
    docs,
    streamers,
    streams,
    transcript,
    web,
    ws,
)
from clipforge.api.deps import Services, credentials_ok
from clipforge.api.limits import BodyLimits
from clipforge.api.views import hide_paths
from clipforge.config import Settings, get_settings, private_folder, secret_key
from clipforge.execution.distributed import DistributedOrchestrator
from clipforge.execution.pool import LocalPool
from clipforge.execution.progress_events import EventProgress
from clipforge.services.orchestrator import Orchestrator
from clipforge.storage.repository import Repository

log = logging.getLogger("clipforge.api")
MULTIPART_SLACK = 1 << 20  # an upload's form fields and part headers, besides the file


def create_app(settings: Settings | None = None, workers: bool = True) -> FastAPI:
    """The API; with `workers`, a local pool in the same process runs the jobs."""
    settings = settings or get_settings()
    secret_key(settings)  # refuse a placeholder key before serving anything

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        private_folder(settings.data_dir)
        for name in ("uvicorn.access", "uvicorn.error"):  # configured by uvicorn by now
            logger = logging.getLogger(name)  # (.error logs WebSocket handshakes)
            if not any(isinstance(f, PathOnly) for f in logger.filters):
                logger.addFilter(PathOnly())
        if settings.redis_url:  # distributed: stage workers run the jobs
            orchestrator = DistributedOrchestrator(settings).start()
            repo = orchestrator.repo
            app.state.services = Services(settings, repo, Orchestrator(repo, settings),
                                          secret_key(settings))
            try:
                yield
            finally:
                app.state.services.followers.close()
                orchestrator.stop()
            return
        repo = Repository(settings.database_url)  # upgrades the schema to this version
        pool = LocalPool(repo, settings, EventProgress(), lease=settings.job_lease_seconds)
        app.state.services = Services(settings, repo, Orchestrator(repo, settings,
                                                                   pool.tracker),
                                      secret_key(settings))
        if workers:
            pool.start()
        # One server per database in this shape: the live streams it followed are its own.
        # In a thread: a page URL is resolved again (yt-dlp), which may take seconds.
        threading.Thread(target=app.state.services.followers.resume, daemon=True,
                         name="clipforge-live-resume").start()
        try:
            yield
        finally:
            app.state.services.followers.close()
            pool.stop()
            repo.engine.dispose()

    app = FastAPI(title="ClipForge", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # they load scripts from a CDN: api/docs.py
                  description="Turn long livestream VODs into ranked vertical clips. Every "
                  "endpoint but /api/health and /api/auth/token needs `Authorization: "
                  "Bearer TOKEN`. Errors are JSON: `{code, message}`.")
    for module in (streams, clips, batch, transcript, streamers, admin, ws, web, connect, docs):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=web.WEB / "static"), name="static")
    app.add_exception_handler(web.LoginRequired, web.login_redirect)  # type: ignore[arg-type]
    app.middleware("http")(_security_headers)
    # Added last, so it runs first: before routing, parsing or any other middleware.
    app.add_middleware(BodyLimits, small=settings.max_body_kb << 10,
                       upload=(settings.max_upload_mb << 20) + MULTIPART_SLACK,
                       image=streamers.MAX_IMAGE + MULTIPART_SLACK,
                       authenticated=credentials_ok)
    app.add_exception_handler(errors.ClipForgeError, _clipforge_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
    return app


class PathOnly(logging.Filter):
    """The access log shows paths without their query strings, which may hold secrets
    (an OAuth code, a token sent by an old client)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(a.split("?", 1)[0] if isinstance(a, str) and a.startswith("/")
                                else a for a in record.args)
        return True


# Pages load nothing from elsewhere: the tool works offline and no third party runs code.
CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
       "connect-src 'self' ws: wss:; object-src 'none'; frame-ancestors 'none'; "
       "base-uri 'self'; form-action 'self'")


async def _security_headers(request: Request,
                            call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _error(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"code": code, "message": message, **extra}, status_code=status,
                        headers=headers)


async def _clipforge_error(_request: Request, exc: errors.ClipForgeError) -> JSONResponse:
    extra = {"platforms": exc.platforms} if isinstance(exc, errors.NoAccount) else {}
    response = _error(exc.http_status, exc.code, hide_paths(exc.message), **extra)
    if isinstance(exc, errors.TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return _error(422, "bad_request", "; ".join(problems) or "the request is not valid")


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized",
             413: "too_large"}
    message = str(exc.detail)
    if exc.status_code == 404:
        message = f"{request.url.path}: no such endpoint; see /docs"
    return _error(exc.status_code, codes.get(exc.status_code, "http_error"), message)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return _error(500, "internal_error", f"{type(exc).__name__}: the server failed on this "
                  "request; its log has the details")
