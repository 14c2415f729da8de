"""Reading a stream's finished jobs, for the stages' `follow`: rows only, never files.

    ingest → chunk → (transcribe ∥ analyze) per chunk → score → [enrol] → plan → render
    per clip → report

Which stage follows which is declared in `registry.py`; each stage's module says what
its `follow` queues.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge.domain import Candidate, clip_id
from clipforge.storage.models import ClipRow, ClipVersionRow, JobRow, StreamRow


def results(s: Session, stream: StreamRow, stage: str) -> list[JobRow]:
    """The finished jobs of a stage in the stream's current run, in target order."""
    return list(s.scalars(select(JobRow).where(
        JobRow.stream_id == stream.id, JobRow.run == stream.run, JobRow.stage == stage,
        JobRow.status == "done").order_by(JobRow.target)))


def one(s: Session, stream: StreamRow, stage: str) -> JobRow:
    found = results(s, stream, stage)
    assert len(found) == 1, f"one {stage} job per run, found {len(found)}"
    return found[0]


def picks(output: dict[str, Any]) -> list[Candidate]:
    """The candidates a score job picked, best first, from its output."""
    return [Candidate(**c) for c in output.get("clips", [])]


def picked_clips(s: Session, stream: StreamRow) -> list[ClipRow]:
    """The clip rows of the current run's picks, best first."""
    ids = [clip_id(stream.key, c) for c in picks(one(s, stream, "score").output or {})]
    rows = {c.id: c for c in s.scalars(select(ClipRow).where(ClipRow.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]


def made_clips(s: Session, stream: StreamRow) -> list[ClipRow]:
    """The clips a person made by hand (from the transcript) in the stream, by rank:
    reported with the picks, and kept when a new run picks others."""
    return list(s.scalars(select(ClipRow).join(
        ClipVersionRow, ClipVersionRow.clip_id == ClipRow.id).where(
        ClipRow.stream_id == stream.id, ClipVersionRow.number == 0,
        ClipVersionRow.action == "made").order_by(ClipRow.rank)))
