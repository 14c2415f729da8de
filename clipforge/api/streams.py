"""/api/streams: submit (a path, a URL or an upload), list, detail, cancel, reprocess."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from sqlalchemy import func, select

from clipforge import errors
from clipforge.api import schemas
from clipforge.api.deps import Editor, IdPath, ServicesDep, SessionDep, Viewer
from clipforge.api.views import page, stream_detail, stream_view
from clipforge.domain import Options
from clipforge.services import live, submission, workspaces
from clipforge.services.live import live_key
from clipforge.services.workspaces import Member
from clipforge.sources import ingest
from clipforge.storage import artifacts, store
from clipforge.storage.models import StreamRow

router = APIRouter(prefix="/api/streams", tags=["streams"])
UPLOAD_BLOCK = 1 << 20
CHAT_SUFFIXES = (".json", ".jsonl")


def _options(found: ServicesDep, body: schemas.StreamOptions, key: str) -> Options:
    s = found.settings
    return Options(
        out_dir=store.work_root(s.storage_url) / key / "out",
        chat=Path(body.chat) if body.chat else None, top=body.top or s.top,
        layout=body.layout or "",  # empty: the streamer's default, else the setting
        caption_style=body.caption_style or "",
        aspect=body.aspect or "", language=body.language or "",
        min_len=body.min_len if body.min_len is not None else s.min_len,
        max_len=body.max_len if body.max_len is not None else s.max_len,
        captions=body.captions, streamer=body.streamer or "default",
        full_transcript=body.full_transcript,
    )


def _submit(found: ServicesDep, member: Member, source: Path | str,
            body: schemas.StreamOptions, name: str | None) -> schemas.StreamDetail:
    """Check the source (a file, or a URL resolved by yt-dlp) before anything is stored:
    its key names the stream's output folder."""
    probe = Options(out_dir=Path("."), chat=Path(body.chat) if body.chat else None)
    checked = submission.validate(source, probe, found.settings)
    if store.active() is not None:  # workers elsewhere read it from the store
        checked, body = _into_store(checked, body)
    with found.repo.session() as s:  # the output folder is the workspace's stream's
        key = workspaces.stream_key(s, member.workspace_id, checked.key)
    options = _options(found, body, key)
    stream_id = found.orchestrator.submit(checked, options, name, member.workspace_id)
    with found.repo.session() as s:
        return stream_detail(s, s.get_one(StreamRow, stream_id))


@router.post("", status_code=201, response_model=schemas.StreamDetail,
             responses=schemas.responses(403, 404, 409, 413, 422, 451))
def create_stream(body: schemas.StreamCreate, found: ServicesDep,
                  member: Editor) -> schemas.StreamDetail:
    """Submit a stream by URL (a Twitch or YouTube VOD, or any media URL yt-dlp reads), or
    by a path on the server under a folder of CLIPFORGE_MEDIA_ROOTS. The same file or
    video again is the same stream: it is processed again with these options, reusing
    finished work."""
    if bool(body.path) == bool(body.url):
        raise errors.BadOption("give exactly one of `path` (a file on the server) or `url`")
    if body.live or body.until is not None:
        return _follow(found, member, body)
    if body.chat:
        body = body.model_copy(update={"chat": str(submission.server_file(
            body.chat, found.settings, "chat"))})
    if body.url:
        return _submit(found, member, body.url, body, body.name)
    assert body.path is not None
    return _submit(found, member, submission.server_file(body.path, found.settings, "path"),
                   body, body.name)


def _follow(found: ServicesDep, member: Editor,
            body: schemas.StreamCreate) -> schemas.StreamDetail:
    """A live stream, followed by this server until it ends (or is stopped)."""
    if not body.live or not body.url:
        raise errors.BadOption("a live stream needs `url` and `live`: true (`until` is for "
                               "live streams only)")
    chat = body.chat
    if chat and not live.is_live_chat(chat):
        chat = str(submission.server_file(chat, found.settings, "chat"))
    with found.repo.session() as s:
        if member.workspace_id != workspaces.default_id(s):
            raise errors.BadOption("live streams are followed in the default workspace only")
    options = _options(found, body.model_copy(update={"chat": None}), live_key(body.url))
    stream_id = found.followers.start(body.url, options, chat, body.until, body.name)
    with found.repo.session() as s:
        return stream_detail(s, s.get_one(StreamRow, stream_id))


@router.post("/{stream_id}/stop", response_model=schemas.StreamDetail,
             responses=schemas.responses(404, 409))
def stop_stream(stream_id: IdPath, found: ServicesDep,
                member: Editor) -> schemas.StreamDetail:
    """Stop following a live stream: its last clips are made and its report written,
    as when the stream ends."""
    with found.repo.session() as s:
        workspaces.stream(s, member, stream_id)
    live.stop_stream(found.repo, stream_id)
    with found.repo.session() as s:
        return stream_detail(s, workspaces.stream(s, member, stream_id))


@router.post("/upload", status_code=201, response_model=schemas.StreamDetail,
             responses=schemas.responses(413, 422))
def upload_stream(found: ServicesDep, member: Editor,
                  file: Annotated[UploadFile, File(description="The recording: mp4, mkv, "
                                                   "webm, mov, flv, ts, wav, mp3, m4a, aac, "
                                                   "ogg or opus")],
                  chat: Annotated[UploadFile | None, File(
                      description="Its chat replay (JSON or JSON Lines)")] = None,
                  top: Annotated[int | None, Form(ge=1, le=50)] = None,
                  layout: Annotated[schemas.Layout | None, Form()] = None,
                  caption_style: Annotated[schemas.CaptionStyle | None, Form()] = None,
                  streamer: Annotated[schemas.Name, Form()] = "default",
                  name: Annotated[schemas.Name | None, Form()] = None,
                  ) -> schemas.StreamDetail:
    """Upload a recording (multipart), with its chat if you have it, and process it."""
    saved = [_save_upload(found, file)]
    try:
        if chat is not None and chat.filename:
            saved.append(_save_upload(found, chat, CHAT_SUFFIXES))
        body = schemas.StreamOptions(top=top, layout=layout, caption_style=caption_style,
                                     streamer=streamer,
                                     chat=str(saved[1]) if len(saved) > 1 else None)
        return _submit(found, member, saved[0], body,
                       name or Path(file.filename or "upload").stem)
    except errors.ClipForgeError as exc:
        for path in saved:
            path.unlink(missing_ok=True)  # nothing to keep from a refused upload
        for path, upload in zip(saved, (file, chat), strict=False):
            exc.message = exc.message.replace(str(path), _shown(upload))
        raise


def _shown(upload: UploadFile | None) -> str:
    """How an upload is named back to its sender: its own file name."""
    return Path((upload.filename if upload else None) or "upload").name


def _into_store(checked: submission.Source, body: schemas.StreamOptions
                ) -> tuple[submission.Source, schemas.StreamOptions]:
    """A file on this server (an upload or a path) and its chat file, copied to the
    store under names that identify their content."""
    if store.is_store_path(checked.where):  # an upload: saved in the cache already
        store.publish([Path(checked.where)])
    elif not ingest.is_url(checked.where):
        path = store.import_file(Path(checked.where),
                                 f"{checked.key}{Path(checked.where).suffix.lower()}")
        checked = replace(checked, where=str(path), info=replace(checked.info, path=str(path)))
    if body.chat and not store.is_store_path(body.chat):
        chat = Path(body.chat)
        name = f"chat-{artifacts.file_digest(chat)}{chat.suffix.lower()}"
        body = body.model_copy(update={"chat": str(store.import_file(chat, name))})
    return checked, body


def _save_upload(found: ServicesDep, upload: UploadFile,
                 suffixes: tuple[str, ...] = ()) -> Path:
    """Keep an upload under a name of ours: the client's name only lends its suffix."""
    limit = found.settings.max_upload_mb * (1 << 20)
    folder = store.work_root(found.settings.storage_url) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(upload.filename or "").suffix.lower()
    suffix = suffix if suffix.isascii() and suffix[1:].isalnum() and len(suffix) <= 6 else ""
    if suffixes and suffix not in suffixes:
        raise errors.BadOption(f"{_shown(upload)}: give a {' or '.join(suffixes)} file")
    target = folder / f"{uuid.uuid4().hex}{suffix}"
    size = 0
    with target.open("wb") as out:
        while block := upload.file.read(UPLOAD_BLOCK):
            size += len(block)
            if size > limit:
                out.close()
                target.unlink()
                raise errors.TooLarge(f"{_shown(upload)}: larger than the upload limit of "
                                      f"{found.settings.max_upload_mb} MB "
                                      "(CLIPFORGE_MAX_UPLOAD_MB)")
            out.write(block)
    if size == 0:
        target.unlink()
        raise errors.EmptyMedia(f"{_shown(upload)}: the upload is empty")
    return target


@router.get("", response_model=schemas.Page[schemas.Stream])
def list_streams(s: SessionDep, member: Viewer,
                 status: Annotated[schemas.Short | None, Query()] = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
                 ) -> schemas.Page[schemas.Stream]:
    query = select(StreamRow).where(StreamRow.workspace_id == member.workspace_id)
    if status:
        query = query.where(StreamRow.status == status)
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = s.scalars(query.order_by(StreamRow.id.desc()).limit(limit).offset(offset))
    return page([stream_view(r) for r in rows], total, limit, offset)


@router.get("/{stream_id}", response_model=schemas.StreamDetail,
            responses=schemas.responses(404))
def get_stream(stream_id: IdPath, s: SessionDep, member: Viewer) -> schemas.StreamDetail:
    return stream_detail(s, workspaces.stream(s, member, stream_id))


@router.post("/{stream_id}/cancel", response_model=schemas.StreamDetail,
             responses=schemas.responses(404, 409))
def cancel_stream(stream_id: IdPath, found: ServicesDep,
                  member: Editor) -> schemas.StreamDetail:
    with found.repo.session() as s:
        workspaces.stream(s, member, stream_id)
    found.orchestrator.cancel(stream_id)
    with found.repo.session() as s:
        return stream_detail(s, workspaces.stream(s, member, stream_id))


@router.post("/{stream_id}/reprocess", response_model=schemas.StreamDetail,
             responses=schemas.responses(404, 409))
def reprocess_stream(stream_id: IdPath, found: ServicesDep,
                     member: Editor) -> schemas.StreamDetail:
    """Process the stream again (after a failure, a cancel, or new preferences)."""
    with found.repo.session() as s:
        workspaces.stream(s, member, stream_id)
    found.orchestrator.reprocess(stream_id)
    with found.repo.session() as s:
        return stream_detail(s, workspaces.stream(s, member, stream_id))


