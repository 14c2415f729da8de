"""Commands that run servers: serve (the API and its pool), worker and up (distributed
mode)."""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Annotated

import typer

from clipforge import errors
from clipforge.cli.app import app
from clipforge.config import get_settings


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[bool, typer.Option(
        help="Run jobs in this process (embedded); --no-workers serves the API only.")] = True,
) -> None:
    """Run the API (and its worker pool): upgrades the database first."""
    import uvicorn

    from clipforge.api.app import create_app

    _stops_exit_at_once()
    app_ = create_app(get_settings(), workers=workers)
    uvicorn.run(app_, host=host, port=port, log_level="info")
    _exit_now(0)  # a shutdown that did not raise the signal again


@app.command()
def worker(
    stage: Annotated[str, typer.Option(
        help="The worker kind: ingest, asr, vision, scoring, render or publisher.")],
    threads: Annotated[int, typer.Option(help="Jobs run at once in this process.")] = 1,
    host: Annotated[str, typer.Option(help="Address of its HTTP app.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(
        help="Port of its HTTP app [default: the kind's: ingest 8001, asr 8002, vision "
             "8003, scoring 8004, render 8005, publisher 8006]")] = None,
) -> None:
    """Run a stage worker (distributed mode): jobs from its Redis queue, and GET /health,
    GET /metrics, POST /jobs/{id}/run on its port."""
    import uvicorn

    from clipforge.api.worker_app import create_worker_app
    from clipforge.execution.broker import ports
    from clipforge.execution.cluster import check_distributed
    from clipforge.execution.worker import StageWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = get_settings()
    _check_worker_host(host, settings.worker_token)
    check_distributed(settings)
    stage_worker = StageWorker(settings, stage, threads)
    _stops_exit_at_once()
    uvicorn.run(create_worker_app(stage_worker, settings.worker_token), host=host,
                port=port or ports()[stage], log_level="warning")


def _check_worker_host(host: str, token: str) -> None:
    """Off this machine, a worker's endpoints (run a job, metrics) need a token."""
    if host in ("127.0.0.1", "localhost", "::1") or len(token) >= 16:
        return
    raise errors.BadOption(
        f"--host {host}: a worker listening beyond this machine needs "
        "CLIPFORGE_WORKER_TOKEN (16 characters or more), which its /metrics and "
        "/jobs/{id}/run then require; or keep --host 127.0.0.1")


def _stops_exit_at_once() -> None:
    """Our own SIGTERM and SIGINT handlers, whatever was inherited (a background shell
    ignores SIGINT). A stop before the server runs exits at once; while it runs, uvicorn
    takes both signals over, shuts down gracefully (the lifespan stops the pool or the
    worker: jobs finish or go back), then raises the signal again with these handlers
    back in place: exit 0, a stop asked for. At once, without the interpreter's teardown:
    a job handed back may still be in native code on its thread (ctranslate2, dlib,
    OpenCV), which aborts a normal exit (SIGABRT)."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: _exit_now(0))


def _exit_now(code: int) -> None:
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Address of the API and the workers.")] =
        "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the API and web UI.")] = 8000,
    threads: Annotated[int, typer.Option(help="Jobs at once per worker.")] = 1,
    per_stage: Annotated[int, typer.Option(help="Workers of each kind.")] = 1,
    worker_ports: Annotated[int | None, typer.Option(
        help="First port of the workers' apps, one per kind in pipeline order (+100 for "
             "each further worker of a kind) [default: 8001-8006 by kind]")] = None,
) -> None:
    """Run the API and one worker of each stage on this machine (distributed mode, with
    the configured PostgreSQL, Redis and storage); Ctrl-C stops them all."""
    from clipforge.execution.cluster import Cluster, check_distributed

    settings = get_settings()
    check_distributed(settings)
    code = Cluster(host, port, threads, per_stage, worker_ports).run(
        settings.worker_grace_seconds)
    raise typer.Exit(code)
