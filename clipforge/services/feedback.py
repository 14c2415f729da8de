"""Approve/reject feedback: record the label, retrain the streamer's re-ranker.

`record` is what the orchestrator calls for the CLI (`clipforge feedback`) and the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from clipforge.analysis import rerank
from clipforge.storage import repository
from clipforge.storage.models import ClipRow, StreamerRow, StreamRow


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
    clip = label(s, clip_id, approved)
    streamer, labels, active = retrain(s, {clip.stream_id})
    return Feedback(clip_id=clip.id, status=clip.status, streamer=streamer,
                    labels=labels, ranker_active=active)


def label(s: Session, clip_id: str, approved: bool) -> ClipRow:
    clip, _ = repository.label_clip(s, clip_id, approved)
    return clip


def retrain(s: Session, stream_ids: set[int]) -> tuple[str, int, bool]:
    """Retrain the re-ranker of the streams' streamers on their reviewed clips; returns
    the (last) streamer's name, how many labels it has and whether its re-ranker is
    active."""
    s.flush()
    found = ("default", 0, False)
    streamer_ids = {s.get_one(StreamRow, sid).streamer_id for sid in sorted(stream_ids)}
    for streamer_id in sorted(i for i in streamer_ids if i is not None):
        streamer = s.get_one(StreamerRow, streamer_id)
        labelled = repository.labelled_clips(s, streamer.id)
        ranker = rerank.train([features for features, _ in labelled],
                              [ok for _, ok in labelled])
        streamer.ranker = ranker.to_json() if ranker else None
        found = (streamer.name, len(labelled), ranker is not None)
    return found


def reranker(raw: dict | None) -> rerank.Reranker | None:
    return rerank.Reranker.from_json(raw) if raw else None
