"""/api/jobs, /api/publications, /api/events, /api/auth and /api/health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select, text

from clipforge import __version__, errors
from clipforge.api import schemas
from clipforge.api.deps import (
    Editor,
    IdPath,
    Owner,
    ServicesDep,
    SessionDep,
    Viewer,
    checked_login,
)
from clipforge.api.views import event_view, job_view, page, publication_view
from clipforge.services import workspaces
from clipforge.storage import ledger, users
from clipforge.storage.models import ClipRow, JobRow, PublicationRow

router = APIRouter()
MAX_ID = 2**31 - 1
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("/api/health", response_model=schemas.Health, tags=["health"])
def health(found: ServicesDep) -> schemas.Health:
    """Liveness and database reachability; needs no token."""
    try:
        with found.repo.session() as s:
            s.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        database = f"unreachable: {type(exc).__name__}"
    return schemas.Health(status="ok", version=__version__, database=database)


@router.post("/api/auth/token", response_model=schemas.Token, tags=["auth"],
             responses=schemas.responses(401, 429))
def login(body: schemas.Login, request: Request, found: ServicesDep) -> schemas.Token:
    """Trade a user name and password for a new API token (shown once; it expires after
    CLIPFORGE_TOKEN_DAYS). Failed logins are limited per user and per address (429)."""
    user = checked_login(request, found, body.username, body.password)
    with found.repo.session() as s:
        token = users.create_token(s, user, body.label or "login",
                                   found.settings.token_days)
    return schemas.Token(token=token, user=user.name)


@router.get("/api/me", tags=["auth"])
def me(member: Viewer) -> dict[str, str]:
    return {"user": member.user, "workspace": member.workspace, "role": member.role}


@router.get("/api/jobs", response_model=schemas.Page[schemas.Job], tags=["jobs"])
def list_jobs(s: SessionDep, member: Viewer, stream_id: OptionalId = None,
              status: Annotated[schemas.Short | None, Query()] = None,
              stage: Annotated[schemas.Short | None, Query()] = None,
              limit: Limit = 100, offset: Offset = 0) -> schemas.Page[schemas.Job]:
    query = select(JobRow).where(JobRow.stream_id.in_(workspaces.streams_of(
        member.workspace_id)))
    if stream_id is not None:
        query = query.where(JobRow.stream_id == stream_id)
    if status:
        query = query.where(JobRow.status == status)
    if stage:
        query = query.where(JobRow.stage == stage)
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = s.scalars(query.order_by(JobRow.id).limit(limit).offset(offset))
    return page([job_view(r) for r in rows], total, limit, offset)


@router.post("/api/jobs/{job_id}/retry", response_model=schemas.Job, tags=["jobs"],
             responses=schemas.responses(404, 409))
def retry_job(job_id: IdPath, found: ServicesDep, member: Editor) -> schemas.Job:
    """Run a failed job again; its stream carries on from there."""
    with found.repo.session() as s:
        workspaces.job(s, member, job_id)
    found.orchestrator.retry(job_id)
    with found.repo.session() as s:
        return job_view(s.get_one(JobRow, job_id))


@router.get("/api/publications", response_model=schemas.Page[schemas.Publication],
            tags=["publications"])
def list_publications(s: SessionDep, member: Viewer,
                      clip_id: Annotated[schemas.Short | None, Query()] = None,
                      limit: Limit = 100, offset: Offset = 0,
                      ) -> schemas.Page[schemas.Publication]:
    query = select(PublicationRow).join(ClipRow, ClipRow.id == PublicationRow.clip_id).where(
        ClipRow.stream_id.in_(workspaces.streams_of(member.workspace_id)))
    if clip_id:
        query = query.where(PublicationRow.clip_id == clip_id)
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = s.scalars(query.order_by(PublicationRow.id).limit(limit).offset(offset))
    return page([publication_view(r) for r in rows], total, limit, offset)


@router.get("/api/events", response_model=list[schemas.Event], tags=["events"])
def list_events(s: SessionDep, member: Viewer,
                since: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                stream_id: OptionalId = None, limit: Limit = 200) -> list[schemas.Event]:
    """Events after event `since` (the last id you saw), in the order /ws streams them,
    for clients that poll. The order is commit order, not id order: continue from the
    last id received, not from the largest."""
    return [event_view(e) for e in ledger.events_after(
        s, since, stream_id, limit, workspaces.streams_of(member.workspace_id))]




@router.get("/api/workspace", response_model=schemas.Workspace, tags=["workspace"])
def get_workspace(s: SessionDep, member: Viewer) -> schemas.Workspace:
    """The request's workspace (X-Clipforge-Workspace names one of several) and its
    members."""
    return _workspace(s, member)


@router.put("/api/workspace/members", response_model=schemas.Workspace, tags=["workspace"],
            responses=schemas.responses(403, 404, 422))
def put_member(body: schemas.MemberIn, s: SessionDep, member: Owner) -> schemas.Workspace:
    """Add a user (by name) to the workspace with a role, or change their role (owners)."""
    user = users.find_user(s, body.user)
    workspace = workspaces.find_workspace(s, member.workspace)
    if body.role != "owner" and user.id in workspaces.owners(s, member.workspace_id) and \
            len(workspaces.owners(s, member.workspace_id)) == 1:
        raise errors.Conflict(f"{user.name} is the last owner of {member.workspace}")
    workspaces.add_member(s, workspace, user, body.role)
    return _workspace(s, member)


@router.delete("/api/workspace/members/{user_id}", response_model=schemas.Workspace,
               tags=["workspace"], responses=schemas.responses(403, 404, 409))
def delete_member(user_id: IdPath, s: SessionDep, member: Owner) -> schemas.Workspace:
    """Take a user out of the workspace (owners; never its last owner)."""
    workspaces.remove_member(s, member, user_id)
    s.flush()
    return _workspace(s, member)


def _workspace(s: SessionDep, member: workspaces.Member) -> schemas.Workspace:
    return schemas.Workspace(name=member.workspace, role=member.role, members=[
        schemas.MemberOut(user_id=row.user_id, user=name, role=row.role)
        for row, name in workspaces.members(s, member.workspace_id)])
