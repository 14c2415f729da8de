"""The local pool: worker threads that claim jobs from the ledger, run their step, and
record the result, the events and the jobs that follow in one transaction.

Embedded mode runs one pool inside `clipforge process` or `clipforge serve`. A heartbeat
keeps the leases of running jobs fresh; a job whose worker died is claimed again.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from pathlib import Path

from clipforge import errors
from clipforge.analysis import transcribe
from clipforge.config import Settings
from clipforge.execution.completion import Tracker, load_run, record_done, record_failed
from clipforge.execution.progress_events import EventProgress
from clipforge.jobs import registry
from clipforge.jobs.base import Result
from clipforge.jobs.context import ModelCache, Run
from clipforge.progress import NullProgress, Progress
from clipforge.storage import ledger
from clipforge.storage.models import JobRow, StreamRow
from clipforge.storage.repository import Repository

log = logging.getLogger("clipforge.pool")
FINISHED = ("done", "failed", "cancelled")


class JobHooks:
    """What a distributed worker adds around each job (fetch its inputs from the store,
    upload what it wrote, dispatch the jobs that follow); nothing in embedded mode."""

    def before(self, run: Run, job: JobRow) -> None:
        """Before the step runs."""

    def after(self, run: Run, job: JobRow, result: Path) -> None:
        """After the step succeeded, before its completion is committed."""

    def committed(self, job: JobRow, outcome: str) -> None:
        """After the job's outcome (done, failed) is committed."""


class LocalPool:
    def __init__(self, repo: Repository, settings: Settings,
                 progress: Progress | EventProgress | None = None, lease: float = 60.0,
                 hooks: JobHooks | None = None) -> None:
        self.repo, self.settings, self.lease = repo, settings, lease
        self.hooks = hooks or JobHooks()
        self.events = progress if isinstance(progress, EventProgress) else None
        if isinstance(progress, EventProgress):
            self.tracker = Tracker(progress.for_stream)
        else:
            shared = progress or NullProgress()
            self.tracker = Tracker(lambda _stream_id: shared)
        self.worker = ledger.this_worker()
        self.holding: dict[int, int] = {}  # thread ident -> job id, for the heartbeat
        # What stopped the one stream a `clipforge process` pool works on (a server's pool
        # serves many streams for a long time: their errors are on the jobs, not here).
        self.failures: dict[int, BaseException] = {}
        self._only: int | None = None
        self.model = ModelCache(lambda name: transcribe.load_model(
            name, settings.whisper_compute_type, 1, max(1, settings.workers),
            settings.models_dir))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # Starting and stopping -----------------------------------------------------------
    def start(self, stream_id: int | None = None, job_ids: list[int] | None = None) -> None:
        """Run jobs (of one stream, or only the given ones) until stopped."""
        self._only = stream_id
        with self.repo.session() as s:
            recovered = ledger.recover(s)
        if recovered:
            log.info("requeued %d jobs whose worker had died", recovered)
        for n in range(max(1, self.settings.workers)):
            thread = threading.Thread(target=self._work, args=(stream_id, job_ids), daemon=True,
                                      name=f"clipforge-worker-{n}")
            thread.start()
            self._threads.append(thread)
        beat = threading.Thread(target=self._heartbeat, daemon=True, name="clipforge-beat")
        beat.start()
        self._threads.append(beat)

    def stop(self) -> list[int]:
        """Claim no more; give running jobs `worker_grace_seconds` in all to finish, then
        hand the rest back to the queue (their threads, stuck in native code, end with
        the process). Returns the ids handed back."""
        self._stop.set()
        deadline = time.monotonic() + self.settings.worker_grace_seconds
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if not self.holding:
            return []
        with self.repo.session() as s:
            released = ledger.release(s, self.worker)
        if released:
            log.warning("handed back jobs %s, still running after %.0f s", released,
                        self.settings.worker_grace_seconds)
        return released

    def wait(self, stream_id: int, poll: float = 0.2) -> StreamRow:
        """Block until the stream is done, failed or cancelled."""
        while True:
            with self.repo.session() as s:
                stream = s.get_one(StreamRow, stream_id)
                if stream.status in FINISHED:
                    return stream
            time.sleep(poll)

    # The work --------------------------------------------------------------------------
    def _work(self, stream_id: int | None, job_ids: list[int] | None) -> None:
        while not self._stop.is_set():
            try:
                job = self._claim(stream_id, job_ids)
            except Exception:  # the database went away for a moment: try again
                log.exception("claiming a job failed")
                job = None
            if job is None:
                self._stop.wait(0.2)
                continue
            self._run(job)

    def run_job(self, job_id: int) -> str:
        """Claim this job and run it (a broker delivered it): `done`, `failed`, or
        `skipped` when it is not runnable (finished, or leased by a live worker)."""
        claimed = self._claim(None, None, job_id)
        if claimed is None:
            return "skipped"
        return self._run(claimed)

    def start_heartbeat(self) -> None:
        """The heartbeat alone, for a worker whose jobs come from a broker."""
        beat = threading.Thread(target=self._heartbeat, daemon=True, name="clipforge-beat")
        beat.start()
        self._threads.append(beat)

    def _claim(self, stream_id: int | None, job_ids: list[int] | None,
               job_id: int | None = None) -> tuple[JobRow, Run] | None:
        with self.repo.session() as s:
            job = ledger.claim(s, self.worker, self.lease, stream_id, job_ids,
                               self.settings.job_attempts) if job_id is None else \
                ledger.claim_job(s, job_id, self.worker, self.lease, self.settings.job_attempts)
        if job is None:
            return None
        self.holding[threading.get_ident()] = job.id
        try:
            with self.repo.session() as s:
                stream = s.get_one(StreamRow, job.stream_id)
                run = load_run(s, self.settings, stream,
                               self.tracker.progress_for(stream.id), self.model)
        except Exception as exc:  # noqa: BLE001 - say a stored option no longer loads
            self._failed(job, exc)
            self.holding.pop(threading.get_ident(), None)
            return None
        run.repo = self.repo
        return job, run

    def _run(self, claimed: tuple[JobRow, Run]) -> str:
        """Run the job's step and record its outcome. Whatever fails (the step, its
        completion, a hook) fails this job only: the thread goes on to the next one."""
        job, run = claimed
        began = time.perf_counter()
        self.tracker.ran.add((job.stream_id, job.stage))
        outcome = "error"  # the database failed us: the job's lease runs out, it runs again
        try:
            stage = registry.stage(job.stage)
            run = run.for_job(job.stage, job.target, job.key)
            try:
                self.hooks.before(run, job)
                result = stage.step(run, stage.decode(job.payload))
                self.hooks.after(run, job, result.path)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
                outcome = self._failed(job, exc)
            else:
                outcome = self._done(job, run, result, time.perf_counter() - began)
        except Exception:  # noqa: BLE001 - the database is away: the lease runs out
            log.exception("job %s: its outcome could not be recorded", job.key)
        finally:
            self.holding.pop(threading.get_ident(), None)
            try:
                self.hooks.committed(job, outcome)
            except Exception:  # noqa: BLE001 - a hook never stops the pool
                log.exception("job %s: after-commit hook failed", job.key)
        return outcome

    def _done(self, job: JobRow, run: Run, result: Result, seconds: float) -> str:
        try:
            ours = record_done(self.repo, self.worker, job, run, result, seconds,
                               self.tracker)
        except errors.ClipForgeError as exc:  # what follows it could not be queued
            return self._failed(job, exc)
        except Exception as exc:  # noqa: BLE001 - a bug in a stage's follow: fail the job
            log.error("job %s: completing it failed:\n%s", job.key, traceback.format_exc())
            return self._failed(job, exc)
        return "done" if ours else "lost"

    def _failed(self, job: JobRow, exc: Exception) -> str:
        if isinstance(exc, errors.ClipForgeError):
            message = exc.message
        else:
            message = f"{type(exc).__name__}: {exc}"
            log.error("job %s failed:\n%s", job.key, traceback.format_exc())
        if job.stream_id == self._only and not job.detached:
            self.failures[job.stream_id] = exc
        return "failed" if record_failed(self.repo, self.worker, job, message,
                                         errors.code_of(exc)) else "lost"

    def _heartbeat(self) -> None:
        """Extend the leases of running jobs; write progress events (once a second)."""
        beats = 0
        while not self._stop.wait(1.0):
            beats += 1
            held = list(self.holding.values())
            try:
                with self.repo.session() as s:
                    if held and beats % max(1, int(self.lease / 4)) == 0:
                        ledger.heartbeat(s, held, self.worker, self.lease)
                    if self.events is not None:
                        self.events.flush(s)
            except Exception:
                log.exception("heartbeat failed")

