"""Rows as the API shows them."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clipforge import domain
from clipforge.api import schemas
from clipforge.services import captions, reasons
from clipforge.services.reasons import Explanation
from clipforge.storage.models import (
    AccountRow,
    ClipRow,
    ClipVersionRow,
    EventRow,
    JobRow,
    PublicationRow,
    StreamerFaceRow,
    StreamerRow,
    StreamRow,
)

STAGES = ("ingest", "language", "chunk", "transcribe", "analyze", "score", "render", "report")
ONLY_WHEN_RUN = ("language",)  # a stage most streams skip (only `auto` detects a language)
Item = TypeVar("Item")


# An absolute path in text meant for API clients: a server path they must not learn. It
# is cut down to its file name (the name of an upload, of a clip). Relative store paths
# (`store/K/...`) and URLs are left alone.
_ABSOLUTE = re.compile(r"(?<![\w:/.~-])/(?:[^\s/'\"()]+/)+")


def hide_paths(text: str) -> str:
    return _ABSOLUTE.sub("", text)


def _hidden(value: Any) -> Any:
    if isinstance(value, str):
        return hide_paths(value)
    if isinstance(value, dict):
        return {k: _hidden(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hidden(v) for v in value]
    return value


def _maybe(text: str | None) -> str | None:
    return hide_paths(text) if text else text


def page(items: list[Item], total: int, limit: int, offset: int) -> schemas.Page[Item]:
    return schemas.Page(items=items, total=total, limit=limit, offset=offset)


def stream_view(row: StreamRow) -> schemas.Stream:
    return schemas.Stream(id=row.id, name=row.name, source=hide_paths(row.source),
                          duration=row.duration, language=row.language,
                          status=row.status, error=_maybe(row.error),
                          streamer_id=row.streamer_id,
                          live=bool((row.options or {}).get("live")),
                          created_at=row.created_at, updated_at=row.updated_at)


def stream_detail(s: Session, row: StreamRow) -> schemas.StreamDetail:
    counts: dict[str, dict[str, int]] = {}
    for stage, status, n in s.execute(
            select(JobRow.stage, JobRow.status, func.count()).where(
                JobRow.stream_id == row.id, JobRow.run == row.run)
            .group_by(JobRow.stage, JobRow.status)):
        counts.setdefault(stage, {})[status] = n
    ready = [ClipRow.status != "candidate"] if (row.options or {}).get("render", True) else []
    clips = s.scalar(select(func.count()).select_from(ClipRow)
                     .where(ClipRow.stream_id == row.id, *ready)) or 0
    notices = s.scalars(select(EventRow.payload).where(
        EventRow.stream_id == row.id, EventRow.name == domain.STREAM_NOTICE,
        EventRow.created_at >= row.submitted_at).order_by(EventRow.id))
    return schemas.StreamDetail(
        **stream_view(row).model_dump(), options=_hidden(row.options), chat_lag=row.chat_lag,
        stages=[_stage(stage, counts.get(stage, {})) for stage in STAGES
                if stage in counts or stage not in ONLY_WHEN_RUN], clips=clips,
        notices=[hide_paths(str(p.get("message", ""))) for p in notices])


def _stage(stage: str, counts: dict[str, int]) -> schemas.StageProgress:
    jobs = sum(counts.values())
    status = "waiting"
    for state in ("failed", "running", "queued", "cancelled", "done"):
        if counts.get(state):
            status = state
            break
    return schemas.StageProgress(stage=stage, status=status,  # type: ignore[arg-type]
                                 jobs=jobs, done=counts.get("done", 0),
                                 failed=counts.get("failed", 0))


def clip_view(row: ClipRow, why: Explanation | None = None) -> schemas.Clip:
    """A clip; WHY: its score out of 100 and reason (services/reasons.py), when made
    with its stream's chat."""
    files = bool(row.file)
    why = why or reasons.explain(row.reasons or {}, row.score)
    return schemas.Clip(
        id=row.id, stream_id=row.stream_id, rank=row.rank, start=row.start, end=row.end,
        score=row.score, reasons=row.reasons, title=row.title, layout=row.layout,
        rendered_layout=row.rendered_layout, regions=row.regions,
        caption_style=row.caption_style, aspect=row.aspect, status=row.status,
        captions=row.captions,
        revision=row.revision,
        video_url=f"/api/clips/{row.id}/video" if files else None,
        thumbnail_url=f"/api/clips/{row.id}/thumbnail" if files else None,
        updated_at=row.updated_at, score_100=why.score, why=why.reason)


def clip_detail(s: Session, row: ClipRow) -> schemas.ClipDetail:
    stream = s.get_one(StreamRow, row.stream_id)
    heard = captions.stream_words(s, stream)
    reach = captions.shown(heard, row, row.start - captions.REACH, row.end + captions.REACH)
    nearby = [schemas.Word(**vars(w)) for w in reach]
    words = [w for w in nearby if w.end > row.start and w.start < row.end]
    view = clip_view(row, reasons.explained(stream, [row])[row.id]).model_dump()
    if row.caption_edits or row.captions:  # the text the edits make, not a stored string
        view["captions"] = " ".join(w.word for w in words if w.word)
    info = stream.info or {}
    return schemas.ClipDetail(**view, words=words, nearby=nearby,
                              stream_duration=stream.duration,
                              stream_aspect=(stream.options or {}).get("aspect") or "9:16",
                              source_width=int(info.get("width") or 0),
                              source_height=int(info.get("height") or 0),
                              streamer_id=stream.streamer_id)


def streamer_view(s: Session, row: StreamerRow) -> schemas.Streamer:
    faces = s.scalar(select(func.count()).select_from(StreamerFaceRow)
                     .where(StreamerFaceRow.streamer_id == row.id)) or 0
    return schemas.Streamer(id=row.id, name=row.name, platform=row.platform,
                            channel=row.channel, settings=row.settings or {},
                            chat_lag=row.chat_lag, faces=faces, created_at=row.created_at)


def face_view(row: StreamerFaceRow) -> schemas.Face:
    return schemas.Face(id=row.id, streamer_id=row.streamer_id,
                        image_url=f"/api/streamers/{row.streamer_id}/faces/{row.id}/image",
                        created_at=row.created_at)


def job_view(row: JobRow) -> schemas.Job:
    return schemas.Job(id=row.id, stream_id=row.stream_id, run=row.run, stage=row.stage,
                       target=row.target, status=row.status, attempts=row.attempts,
                       worker=row.worker, error=_maybe(row.error), seconds=row.seconds,
                       created_at=row.created_at, started_at=row.started_at,
                       finished_at=row.finished_at)


def publication_view(row: PublicationRow) -> schemas.Publication:
    request = row.request or {}
    return schemas.Publication(id=row.id, clip_id=row.clip_id, platform=row.platform,
                               status=row.status, external_id=row.external_id, url=row.url,
                               error=_maybe(row.error), attempts=row.attempts or 0,
                               title=request.get("title") or request.get("text"),
                               published_at=row.published_at, created_at=row.created_at,
                               updated_at=row.updated_at)


def account_view(row: AccountRow) -> schemas.Account:
    """Never the tokens."""
    return schemas.Account(id=row.id, platform=row.platform, name=row.name,
                           streamer_id=row.streamer_id, status=row.status,
                           error=_maybe(row.error),
                           created_at=row.created_at)


def event_view(row: EventRow) -> schemas.Event:
    return schemas.Event(id=row.id, name=row.name, stream_id=row.stream_id,
                         payload=_hidden(row.payload), created_at=row.created_at)


def version_view(row: ClipVersionRow) -> schemas.Version:
    state = row.state or {}
    return schemas.Version(number=row.number, action=row.action, changes=row.changes or [],
                           by=row.by, undone=row.undone, title=state.get("title", ""),
                           start=state.get("start", 0.0), end=state.get("end", 0.0),
                           status=state.get("status", ""), created_at=row.created_at)
