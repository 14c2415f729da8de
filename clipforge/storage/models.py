"""Tables. The database is the source of truth for what has been done.

Alembic migrations in `storage/migrations` create and change these; a change here needs a
new migration (`alembic revision --autogenerate`, see README).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.selectable import ScalarSelect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A time zone aware time, in UTC, on every database: SQLite hands back naive
    datetimes, which this marks as the UTC they were stored in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class WorkspaceRow(Base):
    """One streamer, or a team or agency managing several: what its members see is its
    streams, streamers and accounts, and nothing else. `default` holds the single-user
    flow (`clipforge process`, the first user)."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


DEFAULT_WORKSPACE = "default"


# Rows made without a workspace (the CLI, older code) belong to `default`: the INSERT
# looks its id up.
_default_workspace: ScalarSelect[int] = select(WorkspaceRow.id).where(
    WorkspaceRow.name == DEFAULT_WORKSPACE).scalar_subquery()


class MemberRow(Base):
    """A user's role in a workspace: owner, editor or viewer (services/workspaces.py)."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"),
                                              index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StreamerRow(Base):
    """A channel whose streams we clip: its chat lag, preferences and review history."""

    __tablename__ = "streamers"
    __table_args__ = (UniqueConstraint("workspace_id", "name",
                                       name="uq_streamers_workspace_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True,
                                              default=_default_workspace)
    name: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str | None] = mapped_column(String(20), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(200), nullable=True)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # layout, caption style
    chat_lag: Mapped[float | None] = mapped_column(Float, nullable=True)
    ranker: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # learned re-ranker
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StreamerFaceRow(Base):
    """A reference image of the streamer's face and its embedding (analysis/recognize.py);
    `file` named auto-* when enrolled automatically from their streams."""

    __tablename__ = "streamer_faces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    streamer_id: Mapped[int] = mapped_column(ForeignKey("streamers.id", ondelete="CASCADE"))
    file: Mapped[str] = mapped_column(Text)
    embedding: Mapped[list | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StreamRow(Base):
    __tablename__ = "streams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The content fingerprint; in a workspace other than `default`, prefixed with it
    # (services/workspaces.stream_key), so job keys and clip ids never meet another's.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True,
                                              default=_default_workspace)
    # Who runs its jobs: None, any server's pool or workers; "process", only the
    # `clipforge process` that submitted it (a server on the same data leaves them).
    runner: Mapped[str | None] = mapped_column(String(20), nullable=True)
    streamer_id: Mapped[int | None] = mapped_column(ForeignKey("streamers.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    source: Mapped[str] = mapped_column(Text)
    duration: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), default="new")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    info: Mapped[dict] = mapped_column(JSON, default=dict)  # the probed MediaInfo
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # how it is processed
    run: Mapped[int] = mapped_column(Integer, default=0)  # bumped by every (re)submit
    chat_lag: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The spoken language's whisper code: as asked for, or detected (`auto`); None
    # until ingest is done.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)


class ChunkRow(Base):
    __tablename__ = "chunks"
    __table_args__ = (UniqueConstraint("stream_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    audio: Mapped[str] = mapped_column(Text)


class ClipRow(Base):
    """A picked moment: candidate → rendered → approved/rejected → published."""

    __tablename__ = "clips"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    peak: Mapped[float] = mapped_column(Float, default=0.0)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[dict] = mapped_column(JSON)
    features: Mapped[dict] = mapped_column(JSON, default=dict)  # what the re-ranker learns from
    title: Mapped[str] = mapped_column(Text)
    layout: Mapped[str] = mapped_column(String(20))  # asked: auto, crop, blur, stacked
    rendered_layout: Mapped[str] = mapped_column(String(20), default="")  # what auto chose
    # The stacked layout's panes (source pixels): {"facecam": [x, y, w, h], "gameplay":
    # [...], "top_height": px, "edited": bool}; edited ones are kept by re-renders. Every
    # layout: "why" (what auto went by); crop and blur: "face" (its top and bottom).
    regions: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    caption_style: Mapped[str | None] = mapped_column(String(20), nullable=True)  # preset
    aspect: Mapped[str | None] = mapped_column(String(5), nullable=True)  # null: the stream's
    captions: Mapped[str | None] = mapped_column(Text, nullable=True)  # edited text (before 0007)
    # A person's caption edits, per heard word: [{"start": s in the stream, "word": text}].
    caption_edits: Mapped[list | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="candidate")
    file: Mapped[str | None] = mapped_column(Text, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)  # bumped by every edit
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)


class ClipVersionRow(Base):
    """One state of a clip, kept after each edit, approval or rejection (number 0: as it
    was before the first of them). Undo goes back to the version before the last one not
    undone (services/versions.py)."""

    __tablename__ = "clip_versions"
    __table_args__ = (UniqueConstraint("clip_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"),
                                         index=True)
    number: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))  # picked, edit, approve, reject
    changes: Mapped[list] = mapped_column(JSON, default=list)  # the fields an edit changed
    state: Mapped[dict] = mapped_column(JSON)  # the clip's fields after the action
    by: Mapped[str | None] = mapped_column(String(100), nullable=True)  # the user's name
    undone: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JobRow(Base):
    """One stage run on one target: the queue and the ledger in one row.

    `key` (stream, stage, target, parameters) is the idempotency key: a finished job is
    never run again. A running job holds a lease that its worker's heartbeat extends; a
    job whose lease ran out (its worker died) is claimed again.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    run: Mapped[int] = mapped_column(Integer, default=0)  # the stream run that last used it
    stage: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)  # what the stage needs
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(),
                                                         nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(),
                                                          nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)  # artifact path
    # What the jobs that follow it need, small enough for a row: they read it here, never
    # the job's files, while the stream's row is locked.
    output: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # Outside its stream's runs (publish): runs whatever the stream does, fails alone.
    detached: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(),
                                                         nullable=True)


class PublicationRow(Base):
    """A clip on one platform, and how far its publishing got.

    What a crash must not lose is written here before the step it enables: the YouTube
    upload session before any byte is sent, the X media id before APPEND, `posting`
    before the post is created. A restarted job resumes from these, never from zero.
    """

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("clip_id", "platform"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(20))
    # queued → publishing (→ retrying) → published | failed
    status: Mapped[str] = mapped_column(String(20), default="queued")
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    upload_uri: Mapped[str | None] = mapped_column(Text, nullable=True)  # YouTube session
    media_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # X media
    progress: Mapped[dict] = mapped_column(JSON, default=dict)  # the protocol's checkpoint
    request: Mapped[dict] = mapped_column(JSON, default=dict)  # title, text... as sent
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(),
                                                          nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow,
                                                 onupdate=utcnow)


class AccountRow(Base):
    """A connected platform account; its OAuth tokens are encrypted at rest."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("workspace_id", "platform", "name",
                                       name="uq_accounts_workspace_platform_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True,
                                              default=_default_workspace)
    platform: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))  # channel title, or X user name
    streamer_id: Mapped[int | None] = mapped_column(ForeignKey("streamers.id"), nullable=True)
    tokens: Mapped[str] = mapped_column(Text)  # encrypted JSON
    external_id: Mapped[str | None] = mapped_column(String(100), nullable=True)  # its own id
    status: Mapped[str] = mapped_column(String(20), default="connected")  # or revoked
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiTokenRow(Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(),
                                                          nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                        nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                        nullable=True)


class WebSessionRow(Base):
    """A web UI login. The cookie holds a random secret; only its SHA-256 is stored, so
    ending a session (logout, a new password) is deleting its row."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the secret
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EventRow(Base):
    """The outbox: written in the same transaction as the change it announces."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_order", "txid", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # PostgreSQL: the id of the transaction that wrote it (0 on SQLite, whose writers take
    # turns). Ids are drawn before commit, so they are not commit order; readers go in
    # (txid, id) order and hold back transactions that may still be in flight (ledger).
    txid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    stream_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
