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
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from clipforge import domain, errors
from clipforge.analysis import transcribe
from clipforge.config import Settings
from clipforge.domain import MediaInfo, Options
from clipforge.execution.progress_events import EventProgress
from clipforge.jobs import flow as pipeline
from clipforge.jobs.context import ModelCache, Run
from clipforge.progress import NullProgress, Progress
from clipforge.services import feedback
from clipforge.storage import ledger, store
from clipforge.storage.ledger import JobSpec
from clipforge.storage.models import JobRow, StreamerRow, StreamRow
from clipforge.storage.repository import Repository

log = logging.getLogger("clipforge.pool")
FINISHED = ("done", "failed", "cancelled")


def load_run(s: Session, settings: Settings, stream: StreamRow, progress: Progress,
             transcriber: Callable[[], object] | None) -> Run:
    """Everything a job of this stream needs, from its row."""
    streamer = s.get(StreamerRow, stream.streamer_id) if stream.streamer_id else None
    work = store.work_root(settings.storage_url) / stream.key
    work.mkdir(parents=True, exist_ok=True)
    return Run(
        stream_id=stream.id, stream_key=stream.key, info=MediaInfo(**stream.info),
        options=Options.from_json(stream.options), settings=settings, work=work,
        source=stream.source,
        streamer_lag=streamer.chat_lag if streamer else None,
        ranker=feedback.reranker(streamer.ranker if streamer else None),
        progress=progress, transcriber=transcriber,
    )


class Tracker:
    """Tells each stream's Progress which stages began, advanced and ended, as the ledger
    sees them. `progress_for` gives the Progress of a stream."""

    def __init__(self, progress_for: Callable[[int], Progress]) -> None:
        self.progress_for = progress_for
        self.ran: set[tuple[int, str]] = set()  # (stream, stage) that did work here
        self.lock = threading.Lock()

    def queued(self, stream_id: int, specs: list[tuple[JobSpec, bool]]) -> None:
        progress = self.progress_for(stream_id)
        totals: dict[str, float] = {}
        for spec, _ in specs:
            totals[spec.stage] = totals.get(spec.stage, 0.0) + pipeline.units(spec)
        with self.lock:
            for stage, total in totals.items():
                progress.begin(stage, total)
            for spec, reused in specs:
                if reused:
                    progress.advance(spec.stage, pipeline.units(spec))

    def finished(self, stream_id: int, stage: str, pending: int) -> None:
        if pending == 0:
            self.progress_for(stream_id).end(stage, skipped=(stream_id, stage) not in self.ran)


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
        self.model = ModelCache(lambda: transcribe.load_model(
            settings.whisper_model, settings.whisper_compute_type, 1, max(1, settings.workers)))
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

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

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
            job = ledger.claim(s, self.worker, self.lease, stream_id, job_ids) \
                if job_id is None else ledger.claim_job(s, job_id, self.worker, self.lease)
            if job is None:
                return None
            stream = s.get_one(StreamRow, job.stream_id)
            run = load_run(s, self.settings, stream, self.tracker.progress_for(stream.id),
                           self.model)
            run.repo = self.repo
            self.holding[threading.get_ident()] = job.id
            return job, run

    def _run(self, claimed: tuple[JobRow, Run]) -> str:
        job, run = claimed
        began = time.perf_counter()
        self.tracker.ran.add((job.stream_id, job.stage))
        outcome = "error"  # the database failed us: the job's lease runs out, it runs again
        try:
            try:
                self.hooks.before(run, job)
                result = pipeline.STEPS[job.stage](run, job)
                self.hooks.after(run, job, result)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
                self._failed(job, exc)
                outcome = "failed"
            else:
                ours = self._done(job, run, result, time.perf_counter() - began)
                outcome = "done" if ours else "lost"
        finally:
            self.holding.pop(threading.get_ident(), None)
            self.hooks.committed(job, outcome)
        return outcome

    def _done(self, job: JobRow, run: Run, result: Path, seconds: float) -> bool:
        with self.repo.session() as s:
            stream = ledger.lock_stream(s, job.stream_id)
            row = s.get_one(JobRow, job.id)
            if row.status != "running" or row.worker != self.worker:
                return False  # our lease ran out and another worker took the job over
            ledger.finish(s, row, seconds, str(result))
            event = pipeline.EVENTS.get(row.stage)
            if event:
                ledger.emit(s, event, stream.id, **event_payload(row))
            if row.stage in ledger.DETACHED:
                return True  # nothing follows it, and it is no part of the stream's progress
            if stream.status == "processing" and row.run == stream.run:
                advance(s, run, stream, row, self.tracker)
            self.tracker.finished(stream.id, row.stage,
                                  ledger.pending(s, stream, (row.stage,)))
        return True

    def _failed(self, job: JobRow, exc: Exception) -> None:
        if isinstance(exc, errors.ClipForgeError):
            message = exc.message
        else:
            message = f"{type(exc).__name__}: {exc}"
            log.error("job %s failed:\n%s", job.key, traceback.format_exc())
        detached = job.stage in ledger.DETACHED  # its failure is not the stream's
        if job.stream_id == self._only and not detached:
            self.failures[job.stream_id] = exc
        with self.repo.session() as s:
            stream = ledger.lock_stream(s, job.stream_id)
            row = s.get_one(JobRow, job.id)
            if row.status != "running" or row.worker != self.worker:
                return  # handed back or taken over: its new worker decides
            ledger.fail(s, row, message)
            if stream.status == "processing" and not detached:
                stream.status, stream.error = "failed", f"{row.stage}: {message}"
            ledger.emit(s, domain.JOB_FAILED, stream.id, **event_payload(row), error=message,
                        code=errors.code_of(exc))

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


def event_payload(job: JobRow) -> dict[str, object]:
    payload: dict[str, object] = {"job": job.id, "stage": job.stage, "target": job.target}
    if "chunk" in job.payload:
        payload["chunk"] = job.payload["chunk"]["index"]
    if job.stage == "render":
        payload["clip_id"] = job.target
    if job.stage == "publish":
        payload["clip_id"], payload["platform"] = job.payload["clip_id"], \
            job.payload["platform"]
    return payload


def advance(s: Session, run: Run, stream: StreamRow, job: JobRow, tracker: Tracker) -> None:
    """Queue what follows `job`; a follower finished by an earlier run is passed through
    at once, so a re-run walks over done work to the first job that needs doing."""
    specs = pipeline.after(s, run, stream, job)
    queued = [(spec, *ledger.enqueue(s, stream, spec)) for spec in specs]
    tracker.queued(stream.id, [(spec, reused) for spec, _, reused in queued])
    for spec, row, reused in queued:
        if reused:
            advance(s, run, stream, row, tracker)
            tracker.finished(stream.id, spec.stage,
                             ledger.pending(s, stream, (spec.stage,)))
