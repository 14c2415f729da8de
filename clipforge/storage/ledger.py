"""The job ledger, which is also the local queue, and the events outbox.

Every function takes the caller's session, so a job's completion, the events it announces
and the jobs it starts commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnClause,
    ColumnElement,
    Select,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from clipforge.domain import JOB_FAILED
from clipforge.storage import store
from clipforge.storage.models import EventRow, JobRow, StreamRow, utcnow


@dataclass(frozen=True)
class JobSpec:
    """A job to be run: `params` are what its result depends on (part of its key);
    `payload` is what the stage needs to run it."""

    stage: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)


def params_hash(params: object) -> str:
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def job_key(stream_key: str, spec: JobSpec) -> str:
    return f"{stream_key}:{spec.stage}:{spec.target}:{params_hash(spec.params)}"


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def emit(s: Session, event: str, stream_id: int | None, **payload: Any) -> None:
    row = EventRow(name=event, stream_id=stream_id, payload=payload)
    if _postgres(s):  # see events_after
        row.txid = literal_column("pg_current_xact_id()::text::bigint", BigInteger())
    s.add(row)


# --- Reading events ----------------------------------------------------------------------
# An event's id is drawn when it is written, not when its transaction commits, so a reader
# that follows "id > last seen" skips an event whose transaction commits after one with a
# larger id. On PostgreSQL every event carries its transaction's id (txid), and readers
# see events in (txid, id) order, holding back every transaction from the oldest one
# still in flight on (pg_snapshot_xmin): all of those below it have committed or rolled
# back, and every later transaction gets a larger txid. On SQLite writers take turns, so
# txid is 0 and id order is commit order. A reader's position is still an event id (the
# last it saw), as clients know it.

Cursor = tuple[int, int]  # (txid, id) of the last event seen; (0, 0): before the first
_SETTLED: ColumnClause[int] = literal_column(
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint", BigInteger())


def _postgres(s: Session) -> bool:
    return s.bind is not None and s.bind.dialect.name == "postgresql"


def event_cursor(s: Session, event_id: int) -> Cursor:
    """The position just after event EVENT_ID (0: the start)."""
    if event_id <= 0:
        return (0, 0)
    txid = s.scalar(select(EventRow.txid).where(EventRow.id == event_id))
    return (int(txid or 0), event_id)


def events_after_cursor(s: Session, cursor: Cursor, stream_id: int | None = None,
                        limit: int = 200, streams: Select[Any] | None = None
                        ) -> list[EventRow]:
    """Committed events after CURSOR, in the one order every reader sees (of the stream,
    or of the STREAMS a query selects the ids of: a workspace's)."""
    txid, last = cursor
    # A row comparison, which the (txid, id) index serves directly.
    query = select(EventRow).where(tuple_(EventRow.txid, EventRow.id) > tuple_(txid, last))
    if _postgres(s):
        query = query.where(EventRow.txid < _SETTLED)
    if stream_id is not None:
        query = query.where(EventRow.stream_id == stream_id)
    if streams is not None:
        query = query.where(EventRow.stream_id.in_(streams))
    return list(s.scalars(query.order_by(EventRow.txid, EventRow.id).limit(limit)))


def events_after(s: Session, since: int, stream_id: int | None = None,
                 limit: int = 200, streams: Select[Any] | None = None) -> list[EventRow]:
    """Committed events after event SINCE (an id a reader saw; 0: from the start)."""
    return events_after_cursor(s, event_cursor(s, since), stream_id, limit, streams)


def latest_cursor(s: Session) -> Cursor:
    """The position after the last event a reader may see now: start here for news only."""
    query = select(EventRow.txid, EventRow.id)
    if _postgres(s):
        query = query.where(EventRow.txid < _SETTLED)
    row = s.execute(query.order_by(EventRow.txid.desc(), EventRow.id.desc()).limit(1)).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _job(s: Session, stream: StreamRow, spec: JobSpec, detached: bool = False
         ) -> tuple[JobRow, bool]:
    """The job row of SPEC, and whether it was made just now (queued)."""
    key = job_key(stream.key, spec)
    row = s.scalar(select(JobRow).where(JobRow.key == key))
    if row is not None:
        return row, False
    row = JobRow(key=key, stream_id=stream.id, run=stream.run, stage=spec.stage,
                 target=spec.target, payload=spec.payload, status="queued", attempts=0,
                 detached=detached)
    s.add(row)
    s.flush()
    return row, True


def enqueue(s: Session, stream: StreamRow, spec: JobSpec) -> tuple[JobRow, bool]:
    """Add the job to the stream's current run; True when it was done by an earlier run
    (its result still on disk), so the caller moves straight on to what follows it."""
    row, new = _job(s, stream, spec)
    if new or row.run == stream.run:
        return row, False
    row.run = stream.run
    if row.status == "done" and (row.result is None or store.exists(row.result)):
        return row, True
    if row.status != "running":
        row.status, row.error, row.payload = "queued", None, spec.payload
    return row, False


def enqueue_detached(s: Session, stream: StreamRow, spec: JobSpec) -> JobRow:
    """Queue a detached job once: it belongs to no run of its stream (it runs whatever the
    stream is doing, and fails alone). A done one stays done, a failed one is queued
    again, a queued or running one is left to its worker."""
    row, new = _job(s, stream, spec, detached=True)
    if not new and row.status in ("failed", "cancelled"):
        row.status, row.error, row.payload = "queued", None, spec.payload
    return row


def _live_run() -> ColumnElement[bool]:
    """A job of its stream's current run, while the stream is processed (or, a live
    stream, being stopped: its follower, wherever it runs, makes the last clips)."""
    return StreamRow.status.in_(("processing", "stopping")) & (JobRow.run == StreamRow.run)


def _runnable(now: datetime) -> Select[JobRow]:
    """Jobs a worker may take: queued (and past the wait a requeued job has before its
    next attempt, kept in `lease_until`), or running on a worker whose lease ran out, in
    a stream being processed, in its current run."""
    return (
        select(JobRow).join(StreamRow, StreamRow.id == JobRow.stream_id)
        .where(or_(_live_run(), JobRow.detached.is_(True)))
        .where(or_(JobRow.lease_until.is_(None), JobRow.lease_until < now))
        .where(JobRow.status.in_(("queued", "running")))
    )


def _shared() -> ColumnElement[bool]:
    """Jobs any pool may take: not those of a stream a `clipforge process` runs itself
    (StreamRow.runner), which a server on the same data leaves alone. Detached jobs
    (publishing) are anyone's."""
    return or_(StreamRow.runner.is_(None), JobRow.detached.is_(True))


def _requeue(row: JobRow) -> None:
    """Queue a job whose worker died: at once after its first attempt, then after a wait
    that doubles with each attempt (a job that kills its worker every time)."""
    row.status = "queued"
    wait = 0.0 if row.attempts <= 1 else min(60.0, 2.0 ** (row.attempts - 1))
    row.lease_until = utcnow() + timedelta(seconds=wait) if wait else None


def _give_up(s: Session, row: JobRow) -> None:
    """A job whose worker died on every attempt fails, with its stream."""
    message = (f"gave up after {row.attempts} attempts: its worker stopped each time "
               "(killed, crashed or out of memory) before the job finished")
    fail(s, row, message)
    stream = s.get_one(StreamRow, row.stream_id)
    if stream.status == "processing" and row.run == stream.run and not row.detached:
        stream.status, stream.error = "failed", f"{row.stage}: {message}"
    emit(s, JOB_FAILED, stream.id, job=row.id, stage=row.stage, target=row.target,
         error=message)


def _locked(s: Session, query: Select[JobRow]) -> Select[JobRow]:
    if s.bind is not None and s.bind.dialect.name == "postgresql":
        return query.with_for_update(of=JobRow, skip_locked=True)
    return query


def _take(row: JobRow, worker: str, lease: float, now: datetime) -> JobRow:
    row.status, row.worker, row.error = "running", worker, None
    row.attempts += 1
    row.started_at = row.heartbeat_at = now
    row.lease_until = now + timedelta(seconds=lease)
    return row


def claim(s: Session, worker: str, lease: float, stream_id: int | None = None,
          job_ids: list[int] | None = None, attempts: int = 3) -> JobRow | None:
    """Take the oldest runnable job: queued, or running on a worker whose lease ran out.
    One already tried ATTEMPTS times fails instead."""
    while True:
        now = utcnow()
        query = _runnable(now).order_by(JobRow.id).limit(1)
        if stream_id is not None:
            query = query.where(JobRow.stream_id == stream_id)
        else:
            query = query.where(_shared())
        if job_ids is not None:
            query = query.where(JobRow.id.in_(job_ids))
        row = s.scalar(_locked(s, query))
        if row is None or row.attempts < attempts:
            return None if row is None else _take(row, worker, lease, now)
        _give_up(s, row)


def claim_job(s: Session, job_id: int, worker: str, lease: float,
              attempts: int = 3) -> JobRow | None:
    """Take this job if it is runnable (a broker delivered it); None when it is done,
    cancelled, or running on a worker whose lease is alive: a duplicate delivery."""
    now = utcnow()
    row = s.scalar(_locked(s, _runnable(now).where(JobRow.id == job_id)))
    if row is not None and row.attempts >= attempts:
        _give_up(s, row)
        return None
    return None if row is None else _take(row, worker, lease, now)


def requeue_expired(s: Session) -> list[int]:
    """Running jobs whose lease ran out (their worker died or hangs) are queued again."""
    rows = list(s.scalars(_locked(s, select(JobRow).where(
        JobRow.status == "running", JobRow.lease_until < utcnow()))))
    for row in rows:
        _requeue(row)
    return [row.id for row in rows]


def release(s: Session, worker: str) -> list[int]:
    """Give back the jobs a stopping worker still holds, for another worker to run."""
    rows = list(s.scalars(select(JobRow).where(JobRow.status == "running",
                                               JobRow.worker == worker)))
    for row in rows:
        row.status, row.lease_until = "queued", None
    return [row.id for row in rows]


def runnable_queued(s: Session, stream_id: int | None = None) -> list[tuple[int, str, int]]:
    """(id, stage, attempts) of queued jobs that a worker could take now."""
    query = (select(JobRow.id, JobRow.stage, JobRow.attempts)
             .join(StreamRow, StreamRow.id == JobRow.stream_id)
             .where(or_(_live_run(), JobRow.detached.is_(True)),
                    JobRow.status == "queued",
                    or_(JobRow.lease_until.is_(None), JobRow.lease_until < utcnow()))
             .order_by(JobRow.id))
    query = query.where(JobRow.stream_id == stream_id) if stream_id is not None else \
        query.where(_shared())
    rows = s.execute(query).all()
    return [(int(i), str(stage), int(n)) for i, stage, n in rows]


def holds(s: Session, key: str, worker: str) -> bool:
    """Whether WORKER still runs the job KEY (not handed back, nor taken over)."""
    row = s.scalar(select(JobRow).where(JobRow.key == key))
    return row is not None and row.status == "running" and row.worker == worker


def heartbeat(s: Session, job_ids: list[int], worker: str, lease: float) -> None:
    now = utcnow()
    s.execute(update(JobRow).where(JobRow.id.in_(job_ids), JobRow.worker == worker,
                                   JobRow.status == "running")
              .values(heartbeat_at=now, lease_until=now + timedelta(seconds=lease)))


def finish(s: Session, job: JobRow, seconds: float, result: str | None,
           output: dict[str, Any] | None = None) -> None:
    job.status, job.seconds, job.result, job.output = "done", seconds, result, output
    job.finished_at, job.lease_until, job.error = utcnow(), None, None


def fail(s: Session, job: JobRow, error: str) -> None:
    job.status, job.error, job.finished_at, job.lease_until = "failed", error, utcnow(), None


def pending(s: Session, stream: StreamRow, stages: tuple[str, ...]) -> int:
    """Jobs of these stages in the stream's current run that are not done: fan-in counts
    rows, never an in-memory counter, so any worker can tell when the last one finished."""
    return s.scalar(select(func.count()).select_from(JobRow).where(
        JobRow.stream_id == stream.id, JobRow.run == stream.run,
        JobRow.stage.in_(stages), JobRow.status != "done")) or 0


def stage_counts(s: Session, stream: StreamRow, stage: str) -> tuple[int, int]:
    """(jobs, done) of a stage in the stream's current run."""
    rows = s.execute(select(JobRow.status, func.count()).where(
        JobRow.stream_id == stream.id, JobRow.run == stream.run, JobRow.stage == stage)
        .group_by(JobRow.status)).all()
    counts = {status: int(n) for status, n in rows}
    return sum(counts.values()), counts.get("done", 0)


def lock_stream(s: Session, stream_id: int) -> StreamRow:
    """The stream row, locked on PostgreSQL so two last jobs cannot both miss the fan-in."""
    query = select(StreamRow).where(StreamRow.id == stream_id)
    if s.bind is not None and s.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    return s.scalars(query).one()


def recover(s: Session, alive: set[str] | None = None) -> int:
    """Requeue running jobs whose worker on this host is gone (killed, crashed), without
    waiting for their leases to run out. Returns how many."""
    host = socket.gethostname()
    count = 0
    for row in s.scalars(select(JobRow).where(JobRow.status == "running")):
        name, _, pid = (row.worker or "").rpartition(":")
        if name == host and not _pid_alive(int(pid or 0)) and row.worker not in (alive or ()):
            _requeue(row)
            count += 1
    return count


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stage_seconds(s: Session, stream: StreamRow) -> dict[str, float]:
    """Seconds of work per stage in the stream's current run (including reused work)."""
    rows = s.execute(select(JobRow.stage, func.sum(JobRow.seconds)).where(
        JobRow.stream_id == stream.id, JobRow.run == stream.run, JobRow.status == "done")
        .group_by(JobRow.stage)).all()
    return {stage: round(float(total or 0.0), 3) for stage, total in rows}

