"""The small HTTP app of a stage worker, on its kind's port (asr 8002, ...):
`GET /health`, `GET /metrics` (Prometheus) and `POST /jobs/{id}/run` (run one job of this
worker's stages here and now, bypassing the queue)."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from clipforge import __version__, errors
from clipforge.api.deps import IdPath
from clipforge.execution.worker import StageWorker


class Health(BaseModel):
    status: str  # ok, stopping, degraded (Redis or the database unreachable)
    kind: str
    stages: list[str]
    worker: str
    in_flight: int
    redis: bool
    database: bool


class JobRun(BaseModel):
    job: int
    outcome: str  # done, failed, skipped (finished already, or leased elsewhere)


def create_worker_app(worker: StageWorker, token: str = "") -> FastAPI:
    """With `token`, every endpoint but /health needs `Authorization: Bearer TOKEN`."""
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker.start()
        try:
            yield
        finally:  # uvicorn got SIGTERM or Ctrl-C: finish or hand back the jobs
            await run_in_threadpool(worker.stop)

    app = FastAPI(title=f"ClipForge {worker.kind} worker", version=__version__,
                  lifespan=lifespan)

    @app.middleware("http")
    async def _token(request: Request,
                     call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if token and request.url.path != "/health" and not hmac.compare_digest(
                given.encode(), token.encode()):
            return JSONResponse({"code": "unauthorized", "message": "this worker needs "
                                 "`Authorization: Bearer CLIPFORGE_WORKER_TOKEN`"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    @app.get("/health", response_model=Health)
    def health() -> JSONResponse:
        database = _database_ok(worker)
        redis = worker.broker.ping()
        status = "stopping" if worker.stopping.is_set() else \
            "ok" if redis and database else "degraded"
        body = Health(status=status, kind=worker.kind, stages=worker.stages,
                      worker=worker.name, in_flight=worker.in_flight(), redis=redis,
                      database=database)
        return JSONResponse(body.model_dump(), status_code=200 if status == "ok" else 503)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(worker.metrics.registry),
                        media_type=CONTENT_TYPE_LATEST)

    @app.post("/jobs/{job_id}/run", response_model=JobRun)
    def run_job(job_id: IdPath) -> JobRun:
        return JobRun(job=job_id, outcome=worker.run_now(job_id))

    @app.exception_handler(errors.ClipForgeError)
    async def _error(_request: Request, exc: errors.ClipForgeError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message},
                            status_code=exc.http_status)

    return app


def _database_ok(worker: StageWorker) -> bool:
    try:
        with worker.repo.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return True
    except Exception:
        return False
