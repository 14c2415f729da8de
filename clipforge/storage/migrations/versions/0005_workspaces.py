"""security: server-side web sessions; API tokens that expire and can be revoked;
workspaces with members and roles (existing data moves into workspace `default`, existing
users become its owners); who runs a stream's jobs

Revision ID: 0005_workspaces
Revises: 0004_jobs
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005_workspaces"
down_revision = "0004_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True),
                                      nullable=True))
    _workspaces()


# Unnamed in 0001: SQLite's batch mode finds them by this convention, PostgreSQL by its own
# names.
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}
_OLD_UNIQUE = {"streamers": ("name",), "accounts": ("platform", "name")}


def _unique_name(table: str, columns: tuple[str, ...]) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"{table}_{'_'.join(columns)}_key"
    return f"uq_{table}_{'_'.join(columns)}"


def _workspaces() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(),
                  sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("workspace_id", "user_id"),
    )
    op.create_index("ix_members_workspace_id", "members", ["workspace_id"])
    op.create_index("ix_members_user_id", "members", ["user_id"])
    bind = op.get_bind()
    now = datetime.now(UTC)
    workspaces = sa.table("workspaces", sa.column("id", sa.Integer()),
                          sa.column("name", sa.String()),
                          sa.column("created_at", sa.DateTime(timezone=True)))
    bind.execute(workspaces.insert().values(name="default", created_at=now))
    default = bind.execute(sa.select(workspaces.c.id).where(
        workspaces.c.name == "default")).scalar_one()
    users = bind.execute(sa.text("SELECT id FROM users ORDER BY id")).scalars().all()
    members = sa.table("members", sa.column("workspace_id", sa.Integer()),
                       sa.column("user_id", sa.Integer()), sa.column("role", sa.String()),
                       sa.column("created_at", sa.DateTime(timezone=True)))
    if users:  # everyone could do everything before: they own what was there
        bind.execute(members.insert(), [{"workspace_id": default, "user_id": u,
                                         "role": "owner", "created_at": now} for u in users])
    for table in ("streams", "streamers", "accounts"):
        with op.batch_alter_table(table, schema=None, naming_convention=_CONVENTION) as batch:
            batch.add_column(sa.Column("workspace_id", sa.Integer(), nullable=True))
        bind.execute(sa.text(f"UPDATE {table} SET workspace_id = :w"), {"w": default})
        with op.batch_alter_table(table, schema=None, naming_convention=_CONVENTION) as batch:
            batch.alter_column("workspace_id", existing_type=sa.Integer(), nullable=False)
            batch.create_foreign_key(f"fk_{table}_workspace_id", "workspaces",
                                     ["workspace_id"], ["id"])
            batch.create_index(f"ix_{table}_workspace_id", ["workspace_id"])
            if table in _OLD_UNIQUE:
                columns = _OLD_UNIQUE[table]
                batch.drop_constraint(_unique_name(table, columns), type_="unique")
                batch.create_unique_constraint(f"uq_{table}_workspace_{'_'.join(columns)}",
                                               ["workspace_id", *columns])
            if table == "streams":
                batch.add_column(sa.Column("runner", sa.String(20), nullable=True))


def _drop_workspaces() -> None:
    for table in ("streams", "streamers", "accounts"):
        with op.batch_alter_table(table, schema=None) as batch:
            if table in _OLD_UNIQUE:
                columns = _OLD_UNIQUE[table]
                batch.drop_constraint(f"uq_{table}_workspace_{'_'.join(columns)}",
                                      type_="unique")
                batch.create_unique_constraint(_unique_name(table, columns), list(columns))
            if table == "streams":
                batch.drop_column("runner")
            batch.drop_index(f"ix_{table}_workspace_id")
            batch.drop_constraint(f"fk_{table}_workspace_id", type_="foreignkey")
            batch.drop_column("workspace_id")
    op.drop_index("ix_members_user_id", table_name="members")
    op.drop_index("ix_members_workspace_id", table_name="members")
    op.drop_table("members")
    op.drop_table("workspaces")


def downgrade() -> None:
    _drop_workspaces()
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
