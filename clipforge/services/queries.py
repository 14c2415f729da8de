"""What the CLI asks of the database besides the pipeline: look-ups and small changes
(users, tokens, streamers, accounts, queued publications). The CLI runs no SQL itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from clipforge import domain
from clipforge.config import Settings
from clipforge.services import faces, workspaces
from clipforge.services.streamers import update_streamer
from clipforge.storage import users
from clipforge.storage.models import AccountRow, EventRow, PublicationRow, StreamerRow
from clipforge.storage.repository import Repository


@dataclass(frozen=True)
class AccountLine:
    id: int
    platform: str
    name: str
    streamer: str | None
    status: str
    error: str | None


@dataclass(frozen=True)
class SavedStreamer:
    name: str
    faces: int
    settings: dict[str, object]


def failure_code(repo: Repository, stream_id: int) -> str | None:
    """The error code stored with the stream's latest job failure (see errors.code_of)."""
    with repo.session() as s:
        payload = s.scalar(select(EventRow.payload).where(
            EventRow.stream_id == stream_id, EventRow.name == domain.JOB_FAILED)
            .order_by(EventRow.id.desc()).limit(1))
    return str(payload.get("code") or "") or None if payload else None


def queued_publications(settings: Settings, clip_ids: list[str]) -> list[str]:
    """The clips among `clip_ids` with a publication waiting to run (auto-publish)."""
    with Repository(settings.database_url).session() as s:
        return sorted(set(s.scalars(select(PublicationRow.clip_id).where(
            PublicationRow.clip_id.in_(clip_ids), PublicationRow.status == "queued"))))


def list_accounts(settings: Settings) -> list[AccountLine]:
    """The connected platform accounts (never their tokens)."""
    with Repository(settings.database_url).session() as s:
        rows = s.execute(select(AccountRow, StreamerRow.name).outerjoin(
            StreamerRow, StreamerRow.id == AccountRow.streamer_id).order_by(AccountRow.id))
        return [AccountLine(row.id, row.platform, row.name, streamer, row.status, row.error)
                for row, streamer in rows]


def save_streamer(settings: Settings, name: str, prefs: Mapping[str, object | None],
                  face_files: list[Path], workspace: str) -> SavedStreamer:
    """Add or update a workspace's streamer: settings (None: kept) and reference face
    images."""
    images = [(str(p), faces.read_image(p)) for p in face_files]  # all read before any write
    with Repository(settings.database_url).session() as s:
        place = workspaces.find_workspace(s, workspace).id
        row = update_streamer(s, name, prefs, place)
        for label, image in images:
            faces.add_reference(s, settings, row.id, image, label)
        return SavedStreamer(name, len(faces.references(s, row.id)), dict(row.settings or {}))


def create_user(settings: Settings, name: str, password: str | None, token: bool,
                workspace: str, role: str | None) -> tuple[str, str | None]:
    """Create a user as a member of a workspace (ROLE None: owner if it is the first,
    else editor); returns the role given and, when asked, an API token (shown only this
    once)."""
    with Repository(settings.database_url).session() as s:
        if role is not None:
            workspaces.check_role(role)
        place = workspaces.find_workspace(s, workspace)
        user = users.create_user(s, name, password)
        given = workspaces.add_member(s, place, user, role).role
        secret = users.create_token(s, user, "cli", settings.token_days) if token else None
        return given, secret


def create_token(settings: Settings, name: str, label: str) -> str:
    with Repository(settings.database_url).session() as s:
        return users.create_token(s, users.find_user(s, name), label, settings.token_days)


def workspace_id(settings: Settings, name: str) -> int:
    with Repository(settings.database_url).session() as s:
        return workspaces.find_workspace(s, name).id


def migrate(settings: Settings, revision: str, down: bool = False) -> str:
    """Move the database schema to `revision`; returns where it is now."""
    from clipforge.storage import database

    engine = database.make_engine(settings.database_url)
    (database.downgrade if down else database.upgrade)(engine, revision)
    return database.current(engine)


@dataclass(frozen=True)
class TokenLine:
    id: int
    user: str
    label: str
    revoked: bool
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


def list_tokens(settings: Settings, workspace: str | None) -> list[TokenLine]:
    """Every API token (of a workspace's members): never the token, only what it is."""
    with Repository(settings.database_url).session() as s:
        place = workspaces.find_workspace(s, workspace).id if workspace else None
        return [TokenLine(row.id, name, row.name, row.revoked_at is not None, row.created_at,
                          row.last_used_at, row.expires_at)
                for row, name in users.tokens(s, place)]


def revoke_token(settings: Settings, token_id: int, workspace: str | None) -> None:
    with Repository(settings.database_url).session() as s:
        place = workspaces.find_workspace(s, workspace).id if workspace else None
        users.revoke_token(s, token_id, place)


def create_workspace(settings: Settings, name: str) -> None:
    with Repository(settings.database_url).session() as s:
        workspaces.create_workspace(s, name)


def set_password(settings: Settings, name: str, password: str) -> None:
    """A user's new password; it ends every web session of theirs."""
    with Repository(settings.database_url).session() as s:
        users.set_password(s, users.find_user(s, name), password)
