"""/api/streamers: the channels we clip, their preferences and reference face images."""

from __future__ import annotations

from typing import Annotated

import cv2
import numpy as np
from fastapi import APIRouter, File, Query, Response, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy import func, select

from clipforge import errors
from clipforge.api import schemas
from clipforge.api.deps import Editor, IdPath, Owner, ServicesDep, SessionDep, Viewer
from clipforge.api.views import account_view, face_view, page, streamer_view
from clipforge.media.images import MAX_PIXELS, image_size
from clipforge.services import faces as vision
from clipforge.services import workspaces
from clipforge.services.checks import check_streamer_settings
from clipforge.services.workspaces import Member
from clipforge.storage.models import AccountRow, StreamerFaceRow, StreamerRow, StreamRow

router = APIRouter(prefix="/api/streamers", tags=["streamers"])
NOT_FOUND = schemas.responses(404)
MAX_IMAGE = 10 << 20


def _unique_name(s: SessionDep, member: Member, name: str,
                 streamer_id: int | None = None) -> None:
    other = s.scalar(select(StreamerRow).where(StreamerRow.name == name,
                                               StreamerRow.workspace_id == member.workspace_id))
    if other is not None and other.id != streamer_id:
        raise errors.Conflict(f"a streamer named {name} exists already (id {other.id})")


@router.get("", response_model=schemas.Page[schemas.Streamer])
def list_streamers(s: SessionDep, member: Viewer,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50,
                   offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
                   ) -> schemas.Page[schemas.Streamer]:
    mine = select(StreamerRow).where(StreamerRow.workspace_id == member.workspace_id)
    total = s.scalar(select(func.count()).select_from(mine.subquery())) or 0
    rows = s.scalars(mine.order_by(StreamerRow.name).limit(limit).offset(offset))
    return page([streamer_view(s, r) for r in rows], total, limit, offset)


@router.post("", status_code=201, response_model=schemas.Streamer,
             responses=schemas.responses(409))
def create_streamer(body: schemas.StreamerIn, s: SessionDep,
                    member: Editor) -> schemas.Streamer:
    """Add a streamer (editors); giving it settings needs an owner."""
    if body.settings:
        workspaces.require(member, "owner", "a streamer's settings")
    _unique_name(s, member, body.name)
    settings = check_streamer_settings(body.settings, connected=())  # a new one has none
    row = StreamerRow(name=body.name, platform=body.platform, channel=body.channel,
                      settings=settings, workspace_id=member.workspace_id)
    s.add(row)
    s.flush()
    return streamer_view(s, row)


@router.get("/{streamer_id}", response_model=schemas.Streamer,
            responses=NOT_FOUND)
def get_streamer(streamer_id: IdPath, s: SessionDep, member: Viewer) -> schemas.Streamer:
    return streamer_view(s, workspaces.streamer(s, member, streamer_id))


@router.patch("/{streamer_id}", response_model=schemas.Streamer,
              responses=schemas.responses(404, 409))
def edit_streamer(streamer_id: IdPath, body: schemas.StreamerPatch, s: SessionDep,
                  member: Editor) -> schemas.Streamer:
    """Rename or describe a streamer (editors); its settings need an owner."""
    row = workspaces.streamer(s, member, streamer_id)
    changes = body.model_dump(exclude_unset=True)
    if "settings" in changes:
        workspaces.require(member, "owner", "a streamer's settings")
    if changes.get("name"):
        _unique_name(s, member, changes["name"], streamer_id)
    if changes.get("settings"):
        connected = s.scalars(select(AccountRow.platform).where(
            AccountRow.streamer_id == streamer_id, AccountRow.status == "connected"))
        changes["settings"] = check_streamer_settings(changes["settings"], set(connected))
    for field, value in changes.items():
        if value is not None or field in ("platform", "channel"):
            setattr(row, field, value)
    s.flush()
    return streamer_view(s, row)


@router.delete("/{streamer_id}", status_code=204, response_class=Response,
               responses=schemas.responses(404, 409))
def delete_streamer(streamer_id: IdPath, s: SessionDep, member: Owner) -> Response:
    row = workspaces.streamer(s, member, streamer_id)
    if s.scalar(select(func.count()).select_from(StreamRow)
                .where(StreamRow.streamer_id == streamer_id)):
        raise errors.Conflict(f"streamer {row.name} has streams; keep them or delete "
                              "them first")
    for face in s.scalars(select(StreamerFaceRow).where(
            StreamerFaceRow.streamer_id == streamer_id)):
        vision.delete_face(s, face)
    s.delete(row)
    return Response(status_code=204)


@router.get("/{streamer_id}/faces", response_model=list[schemas.Face],
            responses=NOT_FOUND)
def list_faces(streamer_id: IdPath, s: SessionDep, member: Viewer) -> list[schemas.Face]:
    workspaces.streamer(s, member, streamer_id)
    return [face_view(f) for f in s.scalars(select(StreamerFaceRow).where(
        StreamerFaceRow.streamer_id == streamer_id).order_by(StreamerFaceRow.id))]


@router.post("/{streamer_id}/faces", status_code=201, response_model=schemas.Face,
             responses=schemas.responses(404, 413, 422))
def add_face(streamer_id: IdPath, found: ServicesDep, s: SessionDep, member: Editor,
             image: Annotated[UploadFile, File(description="A JPEG or PNG of the face")],
             ) -> schemas.Face:
    """Add a reference image of the streamer's face: the camera follows whoever matches
    it. An image without a recognisable face is refused (422, `no_face`)."""
    workspaces.streamer(s, member, streamer_id)
    data = image.file.read(MAX_IMAGE + 1)
    if len(data) > MAX_IMAGE:
        raise errors.TooLarge(f"{image.filename}: images up to {MAX_IMAGE >> 20} MB")
    size = image_size(data)
    if size is None:
        raise errors.NotMedia(f"{image.filename}: not an image; send a JPEG or PNG")
    if size[0] * size[1] > MAX_PIXELS:
        raise errors.TooLarge(f"{image.filename}: {size[0]}x{size[1]} pixels; send an image of "
                              f"at most {MAX_PIXELS // 1_000_000} megapixels")
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise errors.NotMedia(f"{image.filename}: not an image; send a JPEG or PNG")
    row = vision.add_reference(s, found.settings, streamer_id, decoded,
                               image.filename or "image")
    return face_view(row)


@router.get("/{streamer_id}/faces/{face_id}/image", response_class=FileResponse,
            responses={**NOT_FOUND, 200: {"content": {"image/png": {}}}})
def face_image(streamer_id: IdPath, face_id: IdPath, s: SessionDep,
               member: Viewer) -> FileResponse:
    row = workspaces.face(s, member, streamer_id, face_id)
    return FileResponse(vision.face_file(row), media_type="image/png")


@router.delete("/{streamer_id}/faces/{face_id}", status_code=204, response_class=Response,
               responses=NOT_FOUND)
def delete_face(streamer_id: IdPath, face_id: IdPath, s: SessionDep,
                member: Editor) -> Response:
    vision.delete_face(s, workspaces.face(s, member, streamer_id, face_id))
    return Response(status_code=204)


@router.get("/{streamer_id}/accounts", response_model=list[schemas.Account],
            responses=NOT_FOUND)
def list_accounts(streamer_id: IdPath, s: SessionDep, member: Viewer
                  ) -> list[schemas.Account]:
    """The streamer's connected YouTube and X accounts (connect one on the Streamers page,
    or with `clipforge account connect youtube|x|tiktok|instagram --streamer NAME`)."""
    workspaces.streamer(s, member, streamer_id)
    return [account_view(a) for a in s.scalars(select(AccountRow).where(
        AccountRow.streamer_id == streamer_id).order_by(AccountRow.id))]


@router.delete("/{streamer_id}/accounts/{account_id}", status_code=204,
               response_class=Response, responses=NOT_FOUND)
def disconnect_account(streamer_id: IdPath, account_id: IdPath, s: SessionDep,
                       member: Owner) -> Response:
    """Forget an account and its tokens (revoke the app's access on the platform too)."""
    s.delete(workspaces.account(s, member, streamer_id, account_id))
    return Response(status_code=204)
