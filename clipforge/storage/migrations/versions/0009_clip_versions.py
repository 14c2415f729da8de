"""clip_versions: each clip's states after its edits, approvals and rejections, for the
editor's history and undo (services/versions.py)

Revision ID: 0009_clip_versions
Revises: 0008_formats_clip_aspect
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_clip_versions"
down_revision = "0008_formats_clip_aspect"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clip_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clip_id", sa.String(32), sa.ForeignKey("clips.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("by", sa.String(100), nullable=True),
        sa.Column("undone", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("clip_id", "number"),
    )
    op.create_index("ix_clip_versions_clip_id", "clip_versions", ["clip_id"])


def downgrade() -> None:
    op.drop_index("ix_clip_versions_clip_id", table_name="clip_versions")
    op.drop_table("clip_versions")
