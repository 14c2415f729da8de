"""clips.aspect: a clip's own aspect ratio (9:16, 1:1, 16:9; null: the stream's)

Revision ID: 0008_formats_clip_aspect
Revises: 0007_caption_edits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_formats_clip_aspect"
down_revision = "0007_caption_edits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.add_column(sa.Column("aspect", sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.drop_column("aspect")
