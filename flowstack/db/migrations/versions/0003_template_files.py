"""The template files a stack's resources use as types (``type: lb_server.yaml``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from flowstack.db.types import JsonDocument

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stacks") as batch:
        batch.add_column(sa.Column("files", JsonDocument(), nullable=True))
