"""streams.language: the spoken language's whisper code (asked for, or detected)

Revision ID: 0010_stream_language
Revises: 0009_clip_versions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_stream_language"
down_revision = "0009_clip_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("streams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("streams", schema=None) as batch_op:
        batch_op.drop_column("language")
