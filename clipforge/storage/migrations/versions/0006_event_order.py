"""events: the writing transaction's id, so readers see events in an order that never
skips one committed late (storage/ledger.py)

Revision ID: 0006_event_order
Revises: 0005_workspaces
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_event_order"
down_revision = "0005_workspaces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        # Events written before this are all committed: txid 0 puts them first, in id order.
        batch_op.add_column(sa.Column("txid", sa.BigInteger(), nullable=False,
                                      server_default="0"))
        batch_op.create_index("ix_events_order", ["txid", "id"])


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_order")
        batch_op.drop_column("txid")
