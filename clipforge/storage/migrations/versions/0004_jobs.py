"""jobs: a job's small output (what follows it reads, instead of its files) and whether
it is detached from its stream's runs

Revision ID: 0004_jobs
Revises: 0003_vision
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_jobs"
down_revision = "0003_vision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("output", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("detached", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.execute("UPDATE jobs SET detached = true WHERE stage = 'publish'")


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("detached")
        batch_op.drop_column("output")
