"""The operations the pipeline needs on its state, each in its own short transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clipforge import errors
from clipforge.domain import Candidate, Chunk
from clipforge.storage import database
from clipforge.storage.models import ChunkRow, ClipRow, JobRow, StreamerRow, StreamRow


class Repository:
    def __init__(self, url: str, upgrade: bool = True) -> None:
        self.engine = database.make_engine(url)
        if upgrade:  # embedded use needs no setup step: the schema follows the code
            database.upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite allows one writer: keep our threads in line rather than retry on "locked".
        self._lock: threading.Lock | nullcontext[None] = (
            threading.Lock() if self.engine.dialect.name == "sqlite" else nullcontext())

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

    def chunks(self, stream_id: int) -> list[Chunk]:
        with self.session() as s:
            rows = s.scalars(select(ChunkRow).where(ChunkRow.stream_id == stream_id)
                             .order_by(ChunkRow.index))
            return [Chunk(r.index, r.start, r.end, r.audio) for r in rows]

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


def save_chunks(s: Session, stream_id: int, chunks: list[Chunk]) -> None:
    """The stream's chunks are the ones of its latest plan."""
    existing = {r.index: r for r in s.scalars(
        select(ChunkRow).where(ChunkRow.stream_id == stream_id))}
    for c in chunks:
        row = existing.pop(c.index, None) or ChunkRow(stream_id=stream_id, index=c.index)
        row.start, row.end, row.audio = c.start, c.end, c.audio
        s.add(row)
    for stale in existing.values():
        s.delete(stale)
