"""The database handle, and the operations on state that more than one part needs.

Functions take the caller's session, so one request or one job changes rows (and writes
its events) in one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from clipforge import errors
from clipforge.domain import Chunk
from clipforge.storage import database
from clipforge.storage.models import (
    Base,
    ChunkRow,
    ClipRow,
    PublicationRow,
    StreamerFaceRow,
    StreamerRow,
    StreamRow,
)


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


Row = TypeVar("Row", bound=Base)


def fetch(s: Session, model: type[Row], key: object, what: str, hint: str = "") -> Row:
    """The row, or the API's 404 (the CLI's exit 2) naming what is missing."""
    row = s.get(model, key)
    if row is None:
        error = errors.ClipNotFound if model is ClipRow else errors.NotFound
        raise error(f"{what} {key}: no such {what}{'; ' + hint if hint else ''}")
    return row


def one_or_add(s: Session, model: type[Row], defaults: dict[str, Any] | None = None,
               **key: Any) -> Row:
    """The row with these column values, added (with them and `defaults`) if there is
    none. Safe when
    two transactions add the same row at once: the loser's insert fails on the unique
    index after the winner commits, and it reads the winner's row instead."""
    where = [getattr(model, column) == value for column, value in key.items()]
    row = s.scalar(select(model).where(*where))
    if row is not None:
        return row
    try:
        with s.begin_nested():
            row = model(**(defaults or {}), **key)
            s.add(row)
    except IntegrityError:
        row = s.scalar(select(model).where(*where))
        if row is None:
            raise
    return row


def label_clip(s: Session, clip_id: str, approved: bool) -> tuple[ClipRow, StreamerRow]:
    """Mark a clip approved or rejected; returns it and its streamer."""
    clip = fetch(s, ClipRow, clip_id, "clip", "the ids are in report.json")
    clip.status = "approved" if approved else "rejected"
    stream = s.get_one(StreamRow, clip.stream_id)
    if stream.streamer_id is not None:
        return clip, s.get_one(StreamerRow, stream.streamer_id)
    streamer = one_or_add(s, StreamerRow, {"settings": {}}, name="default",  # the workspace's
                          workspace_id=stream.workspace_id)
    stream.streamer_id = streamer.id
    return clip, streamer


def labelled_clips(s: Session, streamer_id: int) -> list[tuple[dict, bool]]:
    """(features, approved) of every reviewed clip of the streamer's streams."""
    rows = s.execute(
        select(ClipRow.features, ClipRow.status).join(StreamRow)
        .where(StreamRow.streamer_id == streamer_id)
        .where(ClipRow.status.in_(("approved", "rejected", "published")))
    ).all()
    return [(features or {}, status != "rejected") for features, status in rows]


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


AUTO_FACE = "auto-"  # file name prefix of an automatically enrolled reference face


def streamer_faces(s: Session, streamer_id: int) -> list[StreamerFaceRow]:
    return list(s.scalars(select(StreamerFaceRow).where(
        StreamerFaceRow.streamer_id == streamer_id).order_by(StreamerFaceRow.id)))


def is_auto_face(row: StreamerFaceRow) -> bool:
    return Path(row.file).name.startswith(AUTO_FACE)


def reference_embeddings(s: Session, streamer_id: int | None) -> list[list[float]]:
    """The streamer's reference faces, which the camera follows."""
    if streamer_id is None:
        return []
    return [list(r.embedding) for r in streamer_faces(s, streamer_id) if r.embedding]


def publication(s: Session, clip_id: str, platform: str) -> PublicationRow:
    """The clip's publication on the platform (made, queued, if new)."""
    return one_or_add(s, PublicationRow, clip_id=clip_id, platform=platform)
