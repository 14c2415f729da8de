"""vision: clips remember their layout regions and caption style

Revision ID: 0003_vision
Revises: 0002_publisher
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_vision"
down_revision = "0002_publisher"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.add_column(sa.Column("regions", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("caption_style", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clips", schema=None) as batch_op:
        batch_op.drop_column("caption_style")
        batch_op.drop_column("regions")
