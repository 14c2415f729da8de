"""Workspaces, their members and roles, and the lookups every request goes through.

A workspace is one streamer, or a team or agency managing several. Its members see its
streams (and their clips, jobs, publications and events), streamers and accounts, and
nothing else: another workspace's id answers 404, as a missing one does. Roles:

- `owner`: manages members, connected accounts and streamers' settings; and all below;
- `editor`: submits, edits, approves, rejects and publishes; and all below;
- `viewer`: watches and downloads.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from clipforge import errors
from clipforge.storage.models import (
    DEFAULT_WORKSPACE,
    AccountRow,
    ClipRow,
    JobRow,
    MemberRow,
    StreamerFaceRow,
    StreamerRow,
    StreamRow,
    UserRow,
    WorkspaceRow,
)

ROLES = ("viewer", "editor", "owner")  # each can do what the ones before it can
HEADER = "X-Clipforge-Workspace"  # a request's workspace, by name, for users of several


@dataclass(frozen=True)
class Member:
    """Who asks, in which workspace, with which role."""

    user_id: int
    user: str
    workspace_id: int
    workspace: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def require(member: Member, role: str, what: str) -> None:
    if not member.can(role):
        raise errors.Forbidden(f"{what} needs the {role} role in workspace "
                               f"{member.workspace}; {member.user} is {member.role}")


# Workspaces and members ----------------------------------------------------------------

def check_name(name: str, what: str = "workspace name") -> str:
    if not name or len(name) > 100 or not name.replace("-", "").replace("_", "").isalnum():
        raise errors.BadOption(f"{what} {name!r}: give 1 to 100 letters, digits, - or _")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise errors.BadOption(f"role {role!r}: use one of {', '.join(ROLES)}")
    return role


def create_workspace(s: Session, name: str) -> WorkspaceRow:
    check_name(name)
    if s.scalar(select(WorkspaceRow).where(WorkspaceRow.name == name)) is not None:
        raise errors.Conflict(f"workspace {name} exists already")
    row = WorkspaceRow(name=name)
    s.add(row)
    s.flush()
    return row


def find_workspace(s: Session, name: str) -> WorkspaceRow:
    row = s.scalar(select(WorkspaceRow).where(WorkspaceRow.name == name))
    if row is None:
        raise errors.NotFound(f"workspace {name}: no such workspace; make one with "
                              "`clipforge workspace create NAME`")
    return row


def default_id(s: Session) -> int:
    return find_workspace(s, DEFAULT_WORKSPACE).id


def add_member(s: Session, workspace: WorkspaceRow, user: UserRow,
               role: str | None = None) -> MemberRow:
    """Make the user a member (or change their role). Without a role, the first member of
    a workspace owns it and later ones edit."""
    row = s.scalar(select(MemberRow).where(MemberRow.workspace_id == workspace.id,
                                           MemberRow.user_id == user.id))
    if role is None:
        has_owner = s.scalar(select(MemberRow.id).where(
            MemberRow.workspace_id == workspace.id, MemberRow.role == "owner").limit(1))
        role = row.role if row is not None else "editor" if has_owner else "owner"
    check_role(role)
    if row is None:
        row = MemberRow(workspace_id=workspace.id, user_id=user.id, role=role)
        s.add(row)
    row.role = role
    s.flush()
    return row


def remove_member(s: Session, member: Member, user_id: int) -> None:
    row = s.scalar(select(MemberRow).where(MemberRow.workspace_id == member.workspace_id,
                                           MemberRow.user_id == user_id))
    if row is None:
        raise errors.NotFound(f"user {user_id}: not a member of workspace "
                              f"{member.workspace}")
    if row.role == "owner" and len(owners(s, member.workspace_id)) == 1:
        raise errors.Conflict(f"user {user_id} is the last owner of workspace "
                              f"{member.workspace}; make another owner first")
    s.delete(row)


def owners(s: Session, workspace_id: int) -> list[int]:
    return list(s.scalars(select(MemberRow.user_id).where(
        MemberRow.workspace_id == workspace_id, MemberRow.role == "owner")))


def members(s: Session, workspace_id: int) -> list[tuple[MemberRow, str]]:
    rows = s.execute(select(MemberRow, UserRow.name).join(
        UserRow, UserRow.id == MemberRow.user_id).where(
        MemberRow.workspace_id == workspace_id).order_by(MemberRow.id))
    return [(row, name) for row, name in rows]


def membership(s: Session, user: UserRow, workspace: str | None = None) -> Member:
    """The user's membership in the named workspace, else in their first one."""
    query = select(MemberRow, WorkspaceRow.name).join(
        WorkspaceRow, WorkspaceRow.id == MemberRow.workspace_id).where(
        MemberRow.user_id == user.id).order_by(MemberRow.id).limit(1)
    if workspace:
        query = query.where(WorkspaceRow.name == workspace[:100])
    found = s.execute(query).first()
    if found is None:
        if workspace:
            raise errors.NotFound(f"workspace {workspace[:100]}: no such workspace of "
                                  f"{user.name}")
        raise errors.Forbidden(f"user {user.name} is in no workspace; an owner adds them "
                               "(`clipforge user create ... --workspace W`)")
    row, name = found
    return Member(user.id, user.name, row.workspace_id, name, row.role)


# The scoped lookups: another workspace's id is a missing one --------------------------

def stream_key(s: Session, workspace_id: int, content_key: str) -> str:
    """The stream's key: its content's in `default` (as `clipforge process` has always
    made it), prefixed by the workspace elsewhere, so that job keys (which start with it),
    clip ids and output folders never meet another workspace's."""
    if workspace_id == default_id(s):
        return content_key
    return f"w{workspace_id}-{content_key}"


def stream(s: Session, member: Member, stream_id: int) -> StreamRow:
    row = s.get(StreamRow, stream_id)
    if row is None or row.workspace_id != member.workspace_id:
        raise errors.NotFound(f"stream {stream_id}: no such stream")
    return row


def clip(s: Session, member: Member, clip_id: str) -> ClipRow:
    row = s.get(ClipRow, clip_id)
    if row is None or s.get_one(StreamRow, row.stream_id).workspace_id != member.workspace_id:
        raise errors.ClipNotFound(f"clip {clip_id}: no such clip")
    return row


def job(s: Session, member: Member, job_id: int) -> JobRow:
    row = s.get(JobRow, job_id)
    if row is None or s.get_one(StreamRow, row.stream_id).workspace_id != member.workspace_id:
        raise errors.NotFound(f"job {job_id}: no such job")
    return row


def streamer(s: Session, member: Member, streamer_id: int) -> StreamerRow:
    row = s.get(StreamerRow, streamer_id)
    if row is None or row.workspace_id != member.workspace_id:
        raise errors.NotFound(f"streamer {streamer_id}: no such streamer")
    return row


def face(s: Session, member: Member, streamer_id: int, face_id: int) -> StreamerFaceRow:
    streamer(s, member, streamer_id)
    row = s.get(StreamerFaceRow, face_id)
    if row is None or row.streamer_id != streamer_id:
        raise errors.NotFound(f"face {face_id} of streamer {streamer_id}: not found")
    return row


def account(s: Session, member: Member, streamer_id: int, account_id: int) -> AccountRow:
    streamer(s, member, streamer_id)
    row = s.get(AccountRow, account_id)
    if row is None or row.streamer_id != streamer_id or \
            row.workspace_id != member.workspace_id:
        raise errors.NotFound(f"account {account_id} of streamer {streamer_id}: not found")
    return row


def streams_of(workspace_id: int) -> Select[int]:
    """The ids of the workspace's streams: what clips, jobs, publications and events are
    filtered by."""
    return select(StreamRow.id).where(StreamRow.workspace_id == workspace_id)
