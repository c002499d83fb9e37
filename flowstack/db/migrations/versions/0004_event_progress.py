"""What happened to a scale event after its decision, appended by one statement.

A convergence settles every event it covered (hundreds in an alarm storm)
while it holds its group's lock; appending to each event's JSON log took
one statement per event.  The later steps now go to a text column that one
UPDATE appends to, whatever the number of events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scale_events") as batch:
        batch.add_column(sa.Column("later_steps", sa.Text(), nullable=True))
