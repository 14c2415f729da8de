"""Approve/reject feedback: record the label, retrain the streamer's re-ranker.

`record` is what the CLI (`clipforge feedback`) and the API call.
"""

from __future__ import annotations

from dataclasses import dataclass

from clipforge.stages import rerank
from clipforge.storage.repository import Repository


@dataclass(frozen=True)
class Feedback:
    clip_id: str
    status: str
    streamer: str
    labels: int  # reviewed clips the streamer now has
    ranker_active: bool  # enough labels: their re-ranker orders new candidates


def record(repo: Repository, clip_id: str, approved: bool) -> Feedback:
    clip, streamer = repo.label_clip(clip_id, approved)
    labelled = repo.labelled_clips(streamer.id)
    ranker = rerank.train([features for features, _ in labelled],
                          [ok for _, ok in labelled])
    repo.set_streamer_ranker(streamer.id, ranker.to_json() if ranker else None)
    return Feedback(clip_id=clip.id, status=clip.status, streamer=streamer.name,
                    labels=len(labelled), ranker_active=ranker is not None)


def reranker(raw: dict | None) -> rerank.Reranker | None:
    return rerank.Reranker.from_json(raw) if raw else None
