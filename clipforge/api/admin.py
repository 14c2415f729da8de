"""/api/jobs, /api/publications, /api/events, /api/auth and /api/health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select, text

from clipforge import __version__
from clipforge.api import schemas
from clipforge.api.deps import CurrentUser, IdPath, OpenSessionDep, ServicesDep, SessionDep
from clipforge.api.views import event_view, job_view, page, publication_view
from clipforge.storage import ledger, users
from clipforge.storage.models import JobRow, PublicationRow

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
             responses=schemas.responses(401))
def login(body: schemas.Login, s: OpenSessionDep) -> schemas.Token:
    """Trade a user name and password for a new API token (shown once)."""
    user = users.login(s, body.username, body.password)
    return schemas.Token(token=users.create_token(s, user, body.label or "login"),
                         user=user.name)


@router.get("/api/me", tags=["auth"])
def me(user: CurrentUser) -> dict[str, str]:
    return {"user": user.name}


@router.get("/api/jobs", response_model=schemas.Page[schemas.Job], tags=["jobs"])
def list_jobs(s: SessionDep, _user: CurrentUser, stream_id: OptionalId = None,
              status: Annotated[schemas.Short | None, Query()] = None,
              stage: Annotated[schemas.Short | None, Query()] = None,
              limit: Limit = 100, offset: Offset = 0) -> schemas.Page[schemas.Job]:
    query = select(JobRow)
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
def retry_job(job_id: IdPath, found: ServicesDep, _user: CurrentUser) -> schemas.Job:
    """Run a failed job again; its stream carries on from there."""
    found.orchestrator.retry(job_id)
    with found.repo.session() as s:
        return job_view(s.get_one(JobRow, job_id))


@router.get("/api/publications", response_model=schemas.Page[schemas.Publication],
            tags=["publications"])
def list_publications(s: SessionDep, _user: CurrentUser,
                      clip_id: Annotated[schemas.Short | None, Query()] = None,
                      limit: Limit = 100, offset: Offset = 0,
                      ) -> schemas.Page[schemas.Publication]:
    query = select(PublicationRow)
    if clip_id:
        query = query.where(PublicationRow.clip_id == clip_id)
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = s.scalars(query.order_by(PublicationRow.id).limit(limit).offset(offset))
    return page([publication_view(r) for r in rows], total, limit, offset)


@router.get("/api/events", response_model=list[schemas.Event], tags=["events"])
def list_events(s: SessionDep, _user: CurrentUser,
                since: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                stream_id: OptionalId = None, limit: Limit = 200) -> list[schemas.Event]:
    """Events after event `since` (the last id you saw), in the order /ws streams them,
    for clients that poll. The order is commit order, not id order: continue from the
    last id received, not from the largest."""
    return [event_view(e) for e in ledger.events_after(s, since, stream_id, limit)]


