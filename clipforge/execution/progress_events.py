"""Progress as `job.progress` events, for `clipforge serve`: steps report progress in
memory, and the pool writes what changed at most once a second, so a long stage tells the
web UI how far it got without a database write per frame."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session

from clipforge import domain
from clipforge.storage import ledger


@dataclass
class _Stage:
    total: float = 0.0
    done: float = 0.0
    dirty: bool = False


@dataclass
class _Item:
    fraction: float
    seconds_left: float | None


class EventProgress:
    def __init__(self) -> None:
        self._stages: dict[tuple[int, str], _Stage] = {}
        self._items: dict[tuple[int, str, str], _Item] = {}  # (stream, stage, clip id)
        self._lock = threading.Lock()

    def update_item(self, stream_id: int, stage: str, name: str, fraction: float,
                    seconds_left: float | None) -> None:
        with self._lock:
            self._items[(stream_id, stage, name)] = _Item(fraction, seconds_left)

    def for_stream(self, stream_id: int) -> StreamProgress:
        return StreamProgress(self, stream_id)

    def update(self, stream_id: int, stage: str, total: float = 0.0,
               done: float = 0.0, finished: bool = False) -> None:
        with self._lock:
            entry = self._stages.setdefault((stream_id, stage), _Stage())
            entry.total += total
            entry.done = entry.total if finished else min(entry.total, entry.done + done)
            entry.dirty = True

    def flush(self, s: Session) -> None:
        """Write a `job.progress` event for every stage that moved since the last flush."""
        with self._lock:
            moved = [(key, entry) for key, entry in self._stages.items() if entry.dirty]
            for (stream_id, stage), entry in moved:
                entry.dirty = False
                share = entry.done / entry.total if entry.total else 1.0
                ledger.emit(s, domain.JOB_PROGRESS, stream_id, stage=stage,
                           done=round(entry.done, 2), total=round(entry.total, 2),
                           fraction=round(share, 3))
            for key, entry in moved:
                if entry.total and entry.done >= entry.total:
                    del self._stages[key]  # finished: a new run starts from zero
            for (stream_id, stage, name), item in self._items.items():
                left = None if item.seconds_left is None else round(item.seconds_left, 1)
                ledger.emit(s, domain.JOB_PROGRESS, stream_id, stage=stage, clip_id=name,
                            fraction=round(item.fraction, 3), seconds=left)
            self._items.clear()  # the latest of each, once


@dataclass
class StreamProgress:
    """The Progress protocol for one stream."""

    events: EventProgress
    stream_id: int

    def begin(self, stage: str, total: float) -> None:
        self.events.update(self.stream_id, stage, total=total)

    def advance(self, stage: str, amount: float) -> None:
        if amount > 0:
            self.events.update(self.stream_id, stage, done=amount)

    def end(self, stage: str, skipped: bool = False) -> None:
        self.events.update(self.stream_id, stage, finished=True)

    def item(self, stage: str, name: str, fraction: float, seconds_left: float | None
             ) -> None:
        self.events.update_item(self.stream_id, stage, name, fraction, seconds_left)
