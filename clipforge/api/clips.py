"""/api/clips: list per stream, detail, edit (re-renders), approve, reject, download."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, PlainTextResponse, Response
from sqlalchemy import func, select

from clipforge import errors
from clipforge.api import schemas
from clipforge.api.deps import (
    ClipIdPath,
    Editor,
    IdPath,
    Services,
    ServicesDep,
    SessionDep,
    Viewer,
)
from clipforge.api.views import clip_detail, clip_view, page, publication_view
from clipforge.config import Settings
from clipforge.services import bundle, reasons, submission, timeline, workspaces
from clipforge.services import formats as output_formats
from clipforge.services.workspaces import Member
from clipforge.storage import store
from clipforge.storage.models import ClipRow, StreamRow

router = APIRouter(tags=["clips"])
NOT_FOUND = schemas.responses(404)


@router.get("/api/streams/{stream_id}/clips", response_model=schemas.Page[schemas.Clip],
            responses=NOT_FOUND)
def list_clips(stream_id: IdPath, s: SessionDep, member: Viewer,
               status: Annotated[schemas.Short | None, Query()] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50,
               offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
               ) -> schemas.Page[schemas.Clip]:
    """A stream's clips, best first."""
    stream = workspaces.stream(s, member, stream_id)
    query = select(ClipRow).where(ClipRow.stream_id == stream_id)
    if status:
        query = query.where(ClipRow.status == status)
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(s.scalars(query.order_by(ClipRow.rank, ClipRow.id).limit(limit)
                          .offset(offset)))
    why = reasons.explained(stream, rows)
    return page([clip_view(r, why[r.id]) for r in rows], total, limit, offset)


@router.get("/api/clips/{clip_id}", response_model=schemas.ClipDetail,
            responses=NOT_FOUND)
def get_clip(clip_id: ClipIdPath, s: SessionDep, member: Viewer) -> schemas.ClipDetail:
    """A clip with its words (what the captions say, and when)."""
    return clip_detail(s, workspaces.clip(s, member, clip_id))


@router.patch("/api/clips/{clip_id}", response_model=schemas.ClipDetail,
              responses=schemas.responses(404, 409, 422))
def edit_clip(clip_id: ClipIdPath, body: schemas.ClipPatch, found: ServicesDep,
              member: Editor) -> schemas.ClipDetail:
    """Change bounds, title, caption words (`words`: per heard word, or `captions`: the
    clip's text), layout, caption style or panes; the clip is rendered again and a
    `clip.rendered` event says when the new file is ready. Caption edits keep each word's
    own time through any trim; words outside the clip are not shown."""
    _own_clip(found, member, clip_id)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise errors.BadOption("nothing to change: give start, end, title, captions, words, "
                               "layout, caption_style, aspect or regions")
    found.orchestrator.edit_clip(clip_id, changes, by=member.user)
    with found.repo.session() as s:
        return clip_detail(s, workspaces.clip(s, member, clip_id))


def _own_clip(found: Services, member: Member, clip_id: str) -> None:
    """Another workspace's clip is a missing one: checked before the orchestrator acts."""
    with found.repo.session() as s:
        workspaces.clip(s, member, clip_id)


@router.post("/api/clips/{clip_id}/approve", response_model=schemas.Review,
             responses=schemas.responses(404, 409))
def approve_clip(clip_id: ClipIdPath, found: ServicesDep,
                 member: Editor) -> schemas.Review:
    return _review(found, member, clip_id, approved=True)


@router.post("/api/clips/{clip_id}/reject", response_model=schemas.Review,
             responses=schemas.responses(404, 409))
def reject_clip(clip_id: ClipIdPath, found: ServicesDep,
                member: Editor) -> schemas.Review:
    return _review(found, member, clip_id, approved=False)


def _review(found: Services, member: Member, clip_id: str, approved: bool) -> schemas.Review:
    _own_clip(found, member, clip_id)
    result = found.orchestrator.review(clip_id, approved=approved, by=member.user)
    return schemas.Review(**{**vars(result), "publishing": list(result.publishing)})


@router.post("/api/clips/{clip_id}/publish", status_code=202,
             response_model=list[schemas.Publication],
             responses=schemas.responses(404, 409, 422))
def publish_clip(clip_id: ClipIdPath, body: schemas.PublishIn, found: ServicesDep,
                 member: Editor) -> list[schemas.Publication]:
    """Publish an approved clip to YouTube Shorts, X, TikTok and/or Instagram Reels, with
    the streamer's connected accounts. Runs in the background; `clip.published` (or
    `job.failed`) tells the end. A platform the clip is already on is left as it is: never
    a second video or post."""
    _own_clip(found, member, clip_id)
    rows = found.orchestrator.publish(clip_id, list(body.platforms), body.publish_at)
    return [publication_view(r) for r in rows]


@router.get("/api/clips/{clip_id}/video", response_class=FileResponse,
            responses={**NOT_FOUND, 200: {"content": {"video/mp4": {}}}})
def download_clip(clip_id: ClipIdPath, s: SessionDep, member: Viewer) -> FileResponse:
    """The rendered MP4."""
    clip = workspaces.clip(s, member, clip_id)
    return FileResponse(_file(clip, ".mp4"), media_type="video/mp4",
                        filename=download_name(clip, ".mp4"))


def download_name(clip: ClipRow, suffix: str) -> str:
    """A file name people recognise: the clip's title (what a file system allows of it),
    else its id."""
    return f"{bundle.file_title(clip)}{suffix}"


@router.get("/api/clips/{clip_id}/captions.srt", response_class=PlainTextResponse,
            responses={**NOT_FOUND, 200: {"content": {"application/x-subrip": {}}}})
def clip_srt(clip_id: ClipIdPath, s: SessionDep, member: Viewer) -> Response:
    """The captions burned into the rendered clip (edits included), as SRT, timed from
    the clip's start."""
    return _subtitles(workspaces.clip(s, member, clip_id), ".srt", "application/x-subrip")


@router.get("/api/clips/{clip_id}/captions.vtt", response_class=PlainTextResponse,
            responses={**NOT_FOUND, 200: {"content": {"text/vtt": {}}}})
def clip_vtt(clip_id: ClipIdPath, s: SessionDep, member: Viewer) -> Response:
    """The same captions as WebVTT."""
    return _subtitles(workspaces.clip(s, member, clip_id), ".vtt", "text/vtt")


def _subtitles(clip: ClipRow, suffix: str, media_type: str) -> Response:
    path = _file(clip, suffix, "its captions file predates SRT/VTT; save it again to "
                 "re-render")
    return Response(path.read_text(), media_type=f"{media_type}; charset=utf-8", headers={
        "Content-Disposition": f"inline; filename*=utf-8''{quote(download_name(clip, suffix))}"})


@router.get("/api/clips/{clip_id}/thumbnail", response_class=FileResponse,
            responses={**NOT_FOUND, 200: {"content": {"image/jpeg": {}}}})
def clip_thumbnail(clip_id: ClipIdPath, s: SessionDep, member: Viewer) -> FileResponse:
    return FileResponse(_file(workspaces.clip(s, member, clip_id), ".jpg"),
                        media_type="image/jpeg")


def _file(clip: ClipRow, suffix: str, gone: str = "its file is gone; reprocess the "
          "stream") -> Path:
    if not clip.file:
        raise errors.NotFound(f"clip {clip.id} has not been rendered")
    path = Path(clip.file).with_suffix(suffix)
    if not store.exists(path):
        raise errors.NotFound(f"clip {clip.id}: {gone}")
    return store.local(path)


@router.get("/api/streams/{stream_id}/timeline", response_model=schemas.Timeline,
            responses=NOT_FOUND)
def stream_timeline(stream_id: IdPath, s: SessionDep, member: Viewer) -> schemas.Timeline:
    """The highlight score per second and where the clips sit: for a timeline view."""
    stream = workspaces.stream(s, member, stream_id)
    curve = timeline.score_curve(s, stream)
    clips = list(s.scalars(select(ClipRow).where(ClipRow.stream_id == stream.id)
                           .order_by(ClipRow.rank)))
    why = reasons.explained(stream, clips)
    return schemas.Timeline(duration=stream.duration, curve=curve,
                            clips=[clip_view(c, why[c.id]) for c in clips])


@router.get("/api/clips/{clip_id}/frame", response_class=Response,
            responses={**NOT_FOUND, 200: {"content": {"image/jpeg": {}}}})
def clip_frame(clip_id: ClipIdPath, s: SessionDep, found: ServicesDep, member: Viewer,
               t: Annotated[float | None, Query(ge=0.0, le=1e7, allow_inf_nan=False)] = None,
               ) -> Response:
    """A frame of the recording (JPEG, at most 1280 px wide) at `t` seconds, by default
    a third into the clip: the region picker draws the facecam and gameplay panes on it
    (in the stream's pixels: `source_width` x `source_height` of the clip)."""
    clip = workspaces.clip(s, member, clip_id)
    stream = workspaces.stream(s, member, clip.stream_id)
    path = _recording(stream, found.settings)
    at = t if t is not None else clip.start + (clip.end - clip.start) / 3
    at = max(0.0, min(at, stream.duration - 0.1))  # past the end there is no frame
    return Response(output_formats.frame(path, at), media_type="image/jpeg",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.get("/api/formats", response_model=schemas.Formats)
def formats(member: Viewer) -> schemas.Formats:
    """The aspect ratios (output sizes) and caption presets, as the editor's preview
    draws them (colours as #rrggbb; sizes in px of the 1080x1920 frame)."""
    del member  # signed in: the page that asks is
    return schemas.Formats(
        aspects=output_formats.aspects(),
        presets={name: schemas.PreviewStyle(**style)
                 for name, style in output_formats.presets().items()})


@router.get("/api/streams/{stream_id}/source", response_class=FileResponse,
            responses={**NOT_FOUND, 200: {"content": {"video/mp4": {}}}})
def stream_source(stream_id: IdPath, s: SessionDep, found: ServicesDep,
                  member: Viewer) -> FileResponse:
    """The recording itself (byte ranges supported), for previewing a trim. Only a file
    ClipForge keeps (an upload, a download) or one under CLIPFORGE_MEDIA_ROOTS: a stream
    made by `clipforge process` on any file is not a way to read that file."""
    stream = workspaces.stream(s, member, stream_id)
    return FileResponse(_recording(stream, found.settings), media_type="video/mp4")


def _recording(stream: StreamRow, settings: Settings) -> Path:
    """The stream's recording as a local file, if ClipForge keeps it."""
    info = stream.info or {}
    path = Path(info.get("path") or stream.source)
    gone = errors.NotFound(f"stream {stream.id}: its recording is not kept by ClipForge")
    if not (store.is_store_path(path) or _kept(path, settings)) or not store.exists(path):
        raise gone
    return store.local(path)


def _kept(path: Path, settings: Settings) -> bool:
    """A local file in the storage folder, or under a media root (symlinks followed)."""
    if not path.is_absolute():
        return False
    storage = Path(settings.storage_url).resolve()
    try:
        inside = path.resolve().is_relative_to(storage) and ".." not in path.parts
    except (OSError, RuntimeError):
        return False
    return inside or submission.under_roots(path, settings)
