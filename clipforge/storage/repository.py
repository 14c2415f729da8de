"""The operations the pipeline needs on its state, each in its own short transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from clipforge import errors
from clipforge.domain import Candidate, Chunk
from clipforge.storage.models import (
    Base,
    ChunkRow,
    ClipRow,
    JobRow,
    StreamerRow,
    StreamRow,
    utcnow,
)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def check_schema(engine: Engine, url: str) -> None:
    """Refuse a database written by an older ClipForge rather than fail mid-run."""
    found = inspect(engine)
    for table in Base.metadata.sorted_tables:
        if not found.has_table(table.name):
            continue
        have = {col["name"] for col in found.get_columns(table.name)}
        missing = [col.name for col in table.columns if col.name not in have]
        if missing:
            raise errors.StateError(
                f"{url}: this database was made by an older ClipForge (table {table.name} "
                f"lacks {', '.join(missing)}); move it aside or delete it to start afresh"
            )


def _sqlite_pragmas(conn: object, _record: object) -> None:
    cursor = conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Repository:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        check_schema(self.engine, url)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._lock = threading.Lock()  # SQLite allows one writer; keep our threads in line

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._lock, self._sessions.begin() as session:
            yield session

    def streamer(self, name: str) -> StreamerRow:
        with self.session() as s:
            row = s.scalar(select(StreamerRow).where(StreamerRow.name == name))
            if row is None:
                row = StreamerRow(name=name)
                s.add(row)
                s.flush()
            return row

    def set_streamer_lag(self, streamer_id: int, lag: float) -> None:
        with self.session() as s:
            s.get_one(StreamerRow, streamer_id).chat_lag = lag

    def set_streamer_ranker(self, streamer_id: int, ranker: dict | None) -> None:
        with self.session() as s:
            s.get_one(StreamerRow, streamer_id).ranker = ranker

    def stream(self, key: str, source: str, duration: float,
               streamer_id: int | None = None) -> StreamRow:
        with self.session() as s:
            row = s.scalar(select(StreamRow).where(StreamRow.key == key))
            if row is None:
                row = StreamRow(key=key, source=source, duration=duration)
                s.add(row)
            row.source = source
            row.streamer_id = streamer_id if streamer_id is not None else row.streamer_id
            s.flush()
            return row

    def set_stream(self, stream_id: int, **values: object) -> None:
        with self.session() as s:
            row = s.get_one(StreamRow, stream_id)
            for name, value in values.items():
                setattr(row, name, value)

    def save_chunks(self, stream_id: int, chunks: list[Chunk]) -> None:
        with self.session() as s:
            existing = {r.index: r for r in s.scalars(
                select(ChunkRow).where(ChunkRow.stream_id == stream_id))}
            for c in chunks:
                row = existing.get(c.index) or ChunkRow(stream_id=stream_id, index=c.index)
                row.start, row.end, row.audio = c.start, c.end, c.audio
                s.add(row)

    def chunks(self, stream_id: int) -> list[Chunk]:
        with self.session() as s:
            rows = s.scalars(select(ChunkRow).where(ChunkRow.stream_id == stream_id)
                             .order_by(ChunkRow.index))
            return [Chunk(r.index, r.start, r.end, r.audio) for r in rows]

    # The job ledger ---------------------------------------------------------------
    def finished(self, key: str) -> JobRow | None:
        with self.session() as s:
            row = s.scalar(select(JobRow).where(JobRow.key == key))
            return row if row is not None and row.status == "done" else None

    def start_job(self, key: str, stream_id: int, stage: str, target: str) -> None:
        with self.session() as s:
            row = s.scalar(select(JobRow).where(JobRow.key == key))
            if row is None:
                row = JobRow(key=key, stream_id=stream_id, stage=stage, target=target,
                             attempts=0)
                s.add(row)
            row.status, row.error = "running", None
            row.attempts += 1
            row.started_at = utcnow()

    def finish_job(self, key: str, seconds: float, result: str | None) -> None:
        with self.session() as s:
            row = s.scalars(select(JobRow).where(JobRow.key == key)).one()
            row.status, row.seconds, row.result = "done", seconds, result
            row.finished_at = utcnow()

    def fail_job(self, key: str, error: str) -> None:
        with self.session() as s:
            row = s.scalar(select(JobRow).where(JobRow.key == key))
            if row is not None:
                row.status, row.error = "failed", error
                row.finished_at = utcnow()

    def jobs(self, stream_id: int) -> list[JobRow]:
        with self.session() as s:
            return list(s.scalars(select(JobRow).where(JobRow.stream_id == stream_id)
                                  .order_by(JobRow.id)))

    # Clips ------------------------------------------------------------------------
    def upsert_clip(self, clip_id: str, stream_id: int, cand: Candidate, layout: str,
                    status: str, file: str | None) -> None:
        with self.session() as s:
            row = s.get(ClipRow, clip_id) or ClipRow(id=clip_id, stream_id=stream_id)
            row.rank, row.start, row.end = cand.rank, cand.start, cand.end
            row.score, row.reasons, row.title = cand.score, cand.reasons, cand.title
            row.features = cand.features
            row.layout, row.status, row.file = layout, status, file
            s.add(row)

    def clips(self, stream_id: int) -> list[ClipRow]:
        with self.session() as s:
            return list(s.scalars(select(ClipRow).where(ClipRow.stream_id == stream_id)
                                  .order_by(ClipRow.rank)))

    def label_clip(self, clip_id: str, approved: bool) -> tuple[ClipRow, StreamerRow]:
        """Mark a clip approved or rejected; returns it and its streamer."""
        with self.session() as s:
            clip = s.get(ClipRow, clip_id)
            if clip is None:
                raise errors.ClipNotFound(
                    f"clip {clip_id}: no such clip; the ids are in report.json")
            clip.status = "approved" if approved else "rejected"
            stream = s.get_one(StreamRow, clip.stream_id)
            name = "default"
            if stream.streamer_id is not None:
                name = s.get_one(StreamerRow, stream.streamer_id).name
            streamer = s.scalar(select(StreamerRow).where(StreamerRow.name == name))
            if streamer is None:
                streamer = StreamerRow(name=name)
                s.add(streamer)
                s.flush()
                stream.streamer_id = streamer.id
            return clip, streamer

    def labelled_clips(self, streamer_id: int) -> list[tuple[dict, bool]]:
        """(features, approved) of every reviewed clip of the streamer's streams."""
        with self.session() as s:
            rows = s.execute(
                select(ClipRow.features, ClipRow.status).join(StreamRow)
                .where(StreamRow.streamer_id == streamer_id)
                .where(ClipRow.status.in_(("approved", "rejected", "published")))
            ).all()
            return [(features or {}, status != "rejected") for features, status in rows]

    def prune_clips(self, stream_id: int, keep: set[str]) -> None:
        """Forget candidates a re-run no longer picks; reviewed clips are kept."""
        with self.session() as s:
            for row in s.scalars(select(ClipRow).where(ClipRow.stream_id == stream_id)):
                if row.id not in keep and row.status in ("candidate", "rendered"):
                    s.delete(row)
