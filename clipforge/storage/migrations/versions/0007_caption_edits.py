"""clips.caption_edits: a person's caption edits per heard word (analysis/word_edits.py),
which keep their timing through a trim

Revision ID: 0007_caption_edits
Revises: 0006_event_order
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_caption_edits"
down_revision = "0006_event_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caption_edits", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.drop_column("caption_edits")
