"""A stream's clips together (review several at once, download all, export for editors)
and a clip's history (its versions, undo)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from clipforge.api import schemas
from clipforge.api.clips import _own_clip
from clipforge.api.deps import ClipIdPath, Editor, IdPath, ServicesDep, SessionDep, Viewer
from clipforge.api.views import clip_detail, version_view
from clipforge.services import bundle, export, versions, workspaces

router = APIRouter(tags=["clips"])


@router.post("/api/streams/{stream_id}/clips/review", response_model=list[schemas.Review],
             responses=schemas.responses(404, 409, 422))
def review_clips(stream_id: IdPath, body: schemas.BulkReview, found: ServicesDep,
                 member: Editor) -> list[schemas.Review]:
    """Approve or reject several of the stream's clips at once: all of them, or (a clip
    of another stream, one published already) none."""
    with found.repo.session() as s:
        workspaces.stream(s, member, stream_id)
    results = found.orchestrator.review_many(body.ids, body.decision == "approve",
                                             by=member.user, stream_id=stream_id)
    return [schemas.Review(**{**vars(r), "publishing": list(r.publishing)}) for r in results]


@router.get("/api/streams/{stream_id}/download.zip", response_class=StreamingResponse,
            responses={**schemas.responses(404), 200: {"content": {"application/zip": {}}}})
def download_all(stream_id: IdPath, s: SessionDep, member: Viewer) -> StreamingResponse:
    """Every rendered clip of the stream that is not rejected, in one zip: the MP4s named
    by their titles, their captions as SRT and WebVTT (as burned in), and report.json."""
    stream = workspaces.stream(s, member, stream_id)
    found = bundle.entries(s, stream)
    name = quote(f"{bundle.safe_name(stream.name) or f'stream {stream.id}'}.zip")
    return StreamingResponse(bundle.stream_zip(found), media_type="application/zip",
                             headers={"Content-Disposition":
                                      f"attachment; filename*=utf-8''{name}"})


@router.get("/api/clips/{clip_id}/versions", response_model=list[schemas.Version],
            responses=schemas.responses(404))
def clip_versions(clip_id: ClipIdPath, s: SessionDep,
                  member: Viewer) -> list[schemas.Version]:
    """The clip's versions, newest first: one per edit, approval or rejection, and number
    0, the clip before the first of them."""
    workspaces.clip(s, member, clip_id)
    return [version_view(v) for v in versions.listed(s, clip_id)]


@router.post("/api/clips/{clip_id}/undo", response_model=schemas.ClipDetail,
             responses=schemas.responses(404, 409))
def undo_clip(clip_id: ClipIdPath, found: ServicesDep, member: Editor) -> schemas.ClipDetail:
    """Take back the clip's last edit, approval or rejection (a `clip.edited` event; an
    edit taken back is rendered again, then `clip.rendered`)."""
    _own_clip(found, member, clip_id)
    found.orchestrator.undo(clip_id)
    with found.repo.session() as s:
        return clip_detail(s, workspaces.clip(s, member, clip_id))


@router.get("/api/streams/{stream_id}/export", response_class=StreamingResponse,
            responses={**schemas.responses(404, 409, 422), 200: {"content": {
                media_type: {} for media_type in sorted({m for _, m in
                                                         export.FORMATS.values()})}}})
def export_stream(stream_id: IdPath, s: SessionDep, member: Viewer,
                  format: Annotated[export.Format, Query()] = "otio") -> StreamingResponse:
    """The stream's clips (not rejected) for an editor, as an attachment: `otio`
    (OpenTimelineIO), `fcpxml` (Final Cut Pro, DaVinci Resolve), `edl` (CMX 3600,
    Premiere), `srt` or `vtt` (the burned-in captions on that timeline), or `zip` (as
    download.zip). Timelines reference the recording by its file name: relink it."""
    stream = workspaces.stream(s, member, stream_id)
    found = export.build(s, stream, format, absolute=False)
    media_type = found.media_type + ("" if format in ("zip", "otio") else "; charset=utf-8")
    return StreamingResponse(found.chunks(), media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename*=utf-8''{quote(found.file_name)}"})
