"""publisher: publishing checkpoints and connected accounts' state

Revision ID: 0002_publisher
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_publisher"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("status", sa.String(length=20), nullable=False,
                                      server_default="connected"))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))

    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("upload_uri", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("media_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=False,
                                      server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column("request", sa.JSON(), nullable=False,
                                      server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_foreign_key("fk_publications_account_id", "accounts",
                                    ["account_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.drop_constraint("fk_publications_account_id", type_="foreignkey")
        for column in ("published_at", "request", "progress", "media_id", "upload_uri",
                       "attempts", "account_id"):
            batch_op.drop_column(column)

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        for column in ("error", "status", "external_id"):
            batch_op.drop_column(column)
