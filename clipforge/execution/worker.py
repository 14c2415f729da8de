"""A stage worker of distributed mode (`clipforge worker --stage asr`): Dramatiq threads
that run delivered jobs with the local pool's claim/run/finish code, around which the
store's inputs are fetched and the outputs uploaded; a sweeper; a heartbeat.

Stopping (SIGTERM, Ctrl-C): no new job is taken; the running ones get
`worker_grace_seconds` to finish, and any still running then are handed back to the
ledger (queued again, for another worker) before the process exits.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from clipforge import domain, errors
from clipforge.config import Settings
from clipforge.execution.broker import Broker, Sweeper
from clipforge.execution.distributed import enter_store
from clipforge.execution.pool import JobHooks, LocalPool
from clipforge.jobs import registry
from clipforge.jobs.context import Run
from clipforge.jobs.registry import stages_of
from clipforge.storage import ledger, store
from clipforge.storage.models import JobRow, StreamRow
from clipforge.storage.repository import Repository

log = logging.getLogger("clipforge.worker")

class Metrics:
    """Prometheus metrics of one worker process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.done = Counter("clipforge_jobs_done", "Jobs finished by this worker",
                            ["stage"], registry=self.registry)
        self.failed = Counter("clipforge_jobs_failed", "Jobs failed in this worker",
                              ["stage"], registry=self.registry)
        self.in_flight = Gauge("clipforge_jobs_in_flight", "Jobs running in this worker",
                               ["stage"], registry=self.registry)
        self.seconds = Histogram("clipforge_stage_seconds", "Seconds a job took",
                                 ["stage"], registry=self.registry,
                                 buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600))
        self.wait = Histogram("clipforge_queue_wait_seconds",
                              "Seconds from a job's queueing to its start", ["stage"],
                              registry=self.registry,
                              buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900))


def job_inputs(run: Run, job: JobRow) -> list[Path]:
    """Store files a job hands to ffmpeg, faster-whisper or OpenCV (its stage declares
    them), and the chat file: fetched before it runs. JSON and NumPy artifacts are not
    listed: reading them fetches them (store.local)."""
    stage = registry.stage(job.stage)
    found = [Path(p) for p in stage.reads(run, stage.decode(job.payload))]
    if run.options.chat is not None:
        found.append(run.options.chat)
    return [p for p in found if store.is_store_path(p)]


@dataclass
class StoreHooks(JobHooks):
    """Fetch a job's inputs into the cache; upload what it wrote; count it; send what
    follows it as soon as its completion is committed."""

    broker: Broker
    repo: Repository
    metrics: Metrics
    _before: dict[int, tuple[float, dict[Path, tuple[int, int]]]] = field(default_factory=dict)

    def before(self, run: Run, job: JobRow) -> None:
        self.metrics.in_flight.labels(job.stage).inc()
        began = time.perf_counter()
        if job.started_at is not None:
            self.metrics.wait.labels(job.stage).observe(
                max(0.0, (job.started_at - job.created_at).total_seconds()))
        for path in job_inputs(run, job):
            store.local(path)
        self._before[job.id] = (began, store.snapshot(run.work))  # what the step finds

    def after(self, run: Run, job: JobRow, result: Path) -> None:
        _, snap = self._before.get(job.id, (0.0, {}))
        written = store.written_since(run.work, snap)
        store.publish([p for p in written if p != result] + [result])  # the result last

    def committed(self, job: JobRow, outcome: str) -> None:
        began, _ = self._before.pop(job.id, (time.perf_counter(), {}))
        self.metrics.in_flight.labels(job.stage).dec()
        if outcome == "done":
            self.metrics.done.labels(job.stage).inc()
            self.metrics.seconds.labels(job.stage).observe(time.perf_counter() - began)
            try:
                self._progress(job)
                self.broker.dispatch(self.repo, job.stream_id)
            except Exception as exc:  # Redis away: the sweeper sends them later
                log.warning("could not send the jobs after %s: %s", job.key, exc)
        elif outcome == "failed":
            self.metrics.failed.labels(job.stage).inc()

    def _progress(self, job: JobRow) -> None:
        """`job.progress` from the ledger's counts: a stage's jobs run in many processes,
        so no one process can tell how far the stage got from its own work."""
        with self.repo.session() as s:
            stream = s.get_one(StreamRow, job.stream_id)
            total, done = ledger.stage_counts(s, stream, job.stage)
            ledger.emit(s, domain.JOB_PROGRESS, stream.id, stage=job.stage, done=done,
                       total=total, fraction=round(done / total, 3) if total else 1.0)


class StageWorker:
    """One worker process of one kind (ingest, asr, vision, scoring, render, ...)."""

    def __init__(self, settings: Settings, kind: str, threads: int = 1) -> None:
        import dramatiq

        self.settings, self.kind, self.threads = settings, kind, max(1, threads)
        self.stages = stages_of(kind)
        if not settings.redis_url:
            raise errors.BadOption("a stage worker needs CLIPFORGE_REDIS_URL (the queues)")
        enter_store(settings)
        self.repo = Repository(settings.database_url, upgrade=False)  # the API migrates
        self.metrics = Metrics()
        self.broker = Broker(settings.redis_url, settings.redispatch_seconds, kind,
                             self._deliver)
        self.hooks = StoreHooks(self.broker, self.repo, self.metrics)
        self.pool = LocalPool(self.repo, settings, None, settings.job_lease_seconds,
                              self.hooks)
        self.sweeper = Sweeper(self.repo, self.broker, settings.sweep_seconds)
        self.dramatiq = dramatiq.Worker(self.broker.broker, queues={kind},
                                        worker_threads=self.threads, worker_timeout=500)
        # Take one message per free thread: what waits stays in Redis for other workers.
        self.dramatiq.queue_prefetch = self.threads
        self.stopping = threading.Event()

    @property
    def name(self) -> str:
        return self.pool.worker

    def start(self) -> None:
        with self.repo.session() as s:
            recovered = ledger.recover(s)  # jobs of killed workers on this machine
        if recovered:
            log.warning("requeued %d jobs whose worker on this machine had died", recovered)
        self.pool.start_heartbeat()
        self.sweeper.start()
        self.dramatiq.start()
        log.info("worker %s (%s: %s) started", self.name, self.kind, ", ".join(self.stages))

    def _deliver(self, job_id: int, attempts: int) -> None:
        """The actor: run the delivered job; a duplicate delivery is dropped."""
        if self.stopping.is_set():
            self.broker.forget(job_id, attempts)  # someone else will run it
            return
        try:
            outcome = self.pool.run_job(job_id)
        except Exception:
            self.broker.forget(job_id, attempts)  # never claimed: send it again later
            raise
        log.info("job %d: %s", job_id, outcome)

    def run_now(self, job_id: int) -> str:
        """The direct endpoint: run this job of this worker's stages here and now."""
        with self.repo.session() as s:
            job = s.get(JobRow, job_id)
            if job is None:
                raise errors.NotFound(f"job {job_id}: no such job")
            if job.stage not in self.stages:
                raise errors.BadOption(f"job {job_id} is a {job.stage} job; this worker "
                                       f"runs {', '.join(self.stages)}")
        return self.pool.run_job(job_id)

    def in_flight(self) -> int:
        return len(self.pool.holding)

    def stop(self) -> None:
        """Finish the running jobs within the grace time, hand back the rest."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        grace = self.settings.worker_grace_seconds
        log.info("stopping: %d jobs running, %.0f s to finish them", self.in_flight(), grace)
        self.dramatiq.stop(timeout=int(grace * 1000))
        self.sweeper.stop()
        self.pool.stop()  # hands back the jobs still running, as the embedded pool does
        try:
            self.broker.dispatch(self.repo)
        except Exception as exc:
            log.warning("could not send the released jobs: %s", exc)
        self.broker.close()
        self.repo.engine.dispose()
