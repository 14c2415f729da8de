"""What happens when a job ends, wherever it ran (a local pool's thread, a stage worker):
its outcome, the event that announces it and the jobs that follow it are committed in one
transaction, with the stream's row locked so two last jobs cannot both miss a fan-in."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from clipforge import domain
from clipforge.analysis.rerank import Reranker
from clipforge.config import Settings
from clipforge.domain import MediaInfo, Options
from clipforge.jobs import registry
from clipforge.jobs.base import Finished, Result
from clipforge.jobs.context import Run
from clipforge.progress import Progress
from clipforge.storage import ledger, store
from clipforge.storage.ledger import JobSpec
from clipforge.storage.models import JobRow, StreamerRow, StreamRow
from clipforge.storage.repository import Repository


def load_run(s: Session, settings: Settings, stream: StreamRow, progress: Progress,
             transcriber: Callable[[str], object] | None) -> Run:
    """Everything a job of this stream needs, from its row."""
    streamer = s.get(StreamerRow, stream.streamer_id) if stream.streamer_id else None
    work = store.work_root(settings.storage_url) / stream.key
    work.mkdir(parents=True, exist_ok=True)
    return Run(
        stream_id=stream.id, stream_key=stream.key, info=MediaInfo(**stream.info),
        options=Options.from_json(stream.options), settings=settings, work=work,
        source=stream.source, language=stream.language or settings.language,
        streamer_lag=streamer.chat_lag if streamer else None,
        ranker=Reranker.from_json(streamer.ranker) if streamer and streamer.ranker else None,
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
            totals[spec.stage] = totals.get(spec.stage, 0.0) + units(spec)
        with self.lock:
            for stage, total in totals.items():
                progress.begin(stage, total)
            for spec, reused in specs:
                if reused:
                    progress.advance(spec.stage, units(spec))

    def finished(self, stream_id: int, stage: str, pending: int) -> None:
        if pending == 0:
            self.progress_for(stream_id).end(stage, skipped=(stream_id, stage) not in self.ran)


def units(spec: JobSpec) -> float:
    """How much of its stage's progress bar a job is."""
    stage = registry.stage(spec.stage)
    return stage.units(stage.decode(spec.payload))


def event_payload(job: JobRow) -> dict[str, object]:
    stage = registry.stage(job.stage)
    return {"job": job.id, "stage": job.stage, "target": job.target,
            **stage.announce(stage.decode(job.payload))}


def advance(s: Session, run: Run, stream: StreamRow, job: JobRow, tracker: Tracker) -> None:
    """Queue what follows `job`; a follower finished by an earlier run is passed through
    at once, so a re-run walks over done work to the first job that needs doing."""
    stage = registry.stage(job.stage)
    specs = stage.follow(Finished(s, run, stream, job), stage.decode(job.payload))
    queued = [(spec, *registry.enqueue(s, stream, spec)) for spec in specs]
    tracker.queued(stream.id, [(spec, reused) for spec, _, reused in queued])
    for spec, row, reused in queued:
        if reused:
            advance(s, run, stream, row, tracker)
            tracker.finished(stream.id, spec.stage,
                             ledger.pending(s, stream, (spec.stage,)))


def record_done(repo: Repository, worker: str, job: JobRow, run: Run, result: Result,
                seconds: float, tracker: Tracker) -> bool:
    """The job is done: its result, its event, what follows it. False when the job is no
    longer ours (our lease ran out and another worker took it over)."""
    with repo.session() as s:
        stream = ledger.lock_stream(s, job.stream_id)
        row = s.get_one(JobRow, job.id)
        if row.status != "running" or row.worker != worker:
            return False
        ledger.finish(s, row, seconds, str(result.path), result.output)
        event = registry.stage(row.stage).event
        if event:
            ledger.emit(s, event, stream.id, **event_payload(row))
        if row.detached:
            return True  # nothing follows it, and it is no part of the stream's progress
        if stream.status == "processing" and row.run == stream.run:
            advance(s, run, stream, row, tracker)
        tracker.finished(stream.id, row.stage, ledger.pending(s, stream, (row.stage,)))
    return True


def record_failed(repo: Repository, worker: str, job: JobRow, message: str,
                  code: str) -> bool:
    """The job failed (and with it its stream, unless the job is detached). False when
    the job is no longer ours."""
    with repo.session() as s:
        stream = ledger.lock_stream(s, job.stream_id)
        row = s.get_one(JobRow, job.id)
        if row.status != "running" or row.worker != worker:
            return False  # handed back or taken over: its new worker decides
        ledger.fail(s, row, message)
        if stream.status == "processing" and not row.detached:
            stream.status, stream.error = "failed", f"{row.stage}: {message}"
        # The error's code: `clipforge process` exits with its exit code, whichever process
        # ran the job.
        ledger.emit(s, domain.JOB_FAILED, stream.id, **event_payload(row), error=message,
                    code=code)
    return True
