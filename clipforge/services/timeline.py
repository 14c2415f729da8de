"""A stream's highlight score per second, for the timeline view."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge.storage import artifacts, store
from clipforge.storage.models import JobRow, StreamRow


def score_curve(s: Session, stream: StreamRow) -> list[float]:
    """The current run's score curve; empty before it is scored."""
    score = s.scalar(select(JobRow.result).where(
        JobRow.stream_id == stream.id, JobRow.run == stream.run, JobRow.stage == "score",
        JobRow.status == "done"))
    if not score or not store.exists(score):
        return []
    data = artifacts.read_json(Path(score))
    assert isinstance(data, dict)
    return list(data.get("curve", []))
