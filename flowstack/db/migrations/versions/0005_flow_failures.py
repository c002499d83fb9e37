"""A flow's failures counted apart from its runners' deaths.

A runner killed (or partitioned) in the middle of a flow is not a failure of
the flow: counting every claim as an attempt quarantined flows whose workers
were merely restarted.  ``failed_runs`` counts runs that raised;
``stalled_takeovers`` counts consecutive takeovers from a runner that died
with no step finished since the previous claim (a crash loop), and
``progress`` is the number of steps finished at the last claim.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flows") as batch:
        batch.add_column(sa.Column("failed_runs", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("stalled_takeovers", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("progress", sa.Integer(), nullable=False, server_default="0"))
