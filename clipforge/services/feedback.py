"""Approve/reject feedback: record the label, retrain the streamer's re-ranker.

`record` is what the orchestrator calls for the CLI (`clipforge feedback`) and the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from clipforge.analysis import rerank
from clipforge.storage import repository


@dataclass(frozen=True)
class Feedback:
    clip_id: str
    status: str
    streamer: str
    labels: int  # reviewed clips the streamer now has
    ranker_active: bool  # enough labels: their re-ranker orders new candidates
    publishing: tuple[str, ...] = ()  # platforms the streamer's auto-publish queued


def record(s: Session, clip_id: str, approved: bool) -> Feedback:
    """Label the clip and retrain its streamer's re-ranker, in the caller's transaction."""
    clip, streamer = repository.label_clip(s, clip_id, approved)
    s.flush()
    labelled = repository.labelled_clips(s, streamer.id)
    ranker = rerank.train([features for features, _ in labelled],
                          [ok for _, ok in labelled])
    streamer.ranker = ranker.to_json() if ranker else None
    return Feedback(clip_id=clip.id, status=clip.status, streamer=streamer.name,
                    labels=len(labelled), ranker_active=ranker is not None)


def reranker(raw: dict | None) -> rerank.Reranker | None:
    return rerank.Reranker.from_json(raw) if raw else None
