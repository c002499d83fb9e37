"""Scaling groups, scaling policies with their webhooks, and scale events.

Also nested stacks (a group's members live in a stack whose parent is the
group's stack) and flow specs (flows recorded inside another transaction).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from flowstack.db.types import JsonDocument, Timestamp

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = JsonDocument()


def upgrade() -> None:
    with op.batch_alter_table("stacks") as batch:
        batch.add_column(sa.Column("parent_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("parent_resource", sa.String(255), nullable=True))
    op.create_index("ix_stacks_parent_id", "stacks", ["parent_id"])
    with op.batch_alter_table("flows") as batch:
        batch.add_column(sa.Column("spec", JSON, nullable=True))

    op.create_table(
        "scaling_groups",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "stack_id",
            sa.String(36),
            sa.ForeignKey("stacks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("resource_name", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("min_size", sa.Integer(), nullable=False),
        sa.Column("max_size", sa.Integer(), nullable=False),
        sa.Column("desired_capacity", sa.Integer(), nullable=False),
        sa.Column("cooldown", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("converged_generation", sa.Integer(), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("member_type", sa.String(255), nullable=False),
        sa.Column("removal_policy", sa.String(32), nullable=False),
        sa.Column("keep_partial_progress", sa.Boolean(), nullable=False),
        sa.Column("rolling_updates", JSON, nullable=True),
        sa.Column("active_flow_id", sa.String(36), nullable=True),
        sa.Column("last_scaled_at", Timestamp, nullable=True),
        sa.Column("last_checked_at", Timestamp, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=True),
    )
    op.create_index("ix_scaling_groups_stack_id", "scaling_groups", ["stack_id"])
    op.create_index("ix_scaling_groups_project_id", "scaling_groups", ["project_id"])

    op.create_table(
        "scaling_policies",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "group_id",
            sa.String(36),
            sa.ForeignKey("scaling_groups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "stack_id",
            sa.String(36),
            sa.ForeignKey("stacks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("resource_name", sa.String(255), nullable=False),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("adjustment_type", sa.String(32), nullable=False),
        sa.Column("scaling_adjustment", sa.Integer(), nullable=False),
        sa.Column("min_adjustment_step", sa.Integer(), nullable=True),
        sa.Column("cooldown", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_executed_at", Timestamp, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.UniqueConstraint("token_hash", name="uniq_scaling_policies0token"),
    )
    op.create_index("ix_scaling_policies_group_id", "scaling_policies", ["group_id"])
    op.create_index("ix_scaling_policies_stack_id", "scaling_policies", ["stack_id"])

    op.create_table(
        "scale_events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "group_id",
            sa.String(36),
            sa.ForeignKey("scaling_groups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("project_id", sa.String(255), nullable=False),
        sa.Column("policy_id", sa.String(36), nullable=True),
        sa.Column("policy_name", sa.String(255), nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", JSON, nullable=True),
        sa.Column("desired_before", sa.Integer(), nullable=True),
        sa.Column("desired_after", sa.Integer(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=True),
        sa.Column("flow_id", sa.String(36), nullable=True),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.UniqueConstraint("group_id", "idempotency_key", name="uniq_scale_events0key"),
    )
    op.create_index("ix_scale_events_group_received", "scale_events", ["group_id", "received_at"])
    op.create_index("ix_scale_events_group_status", "scale_events", ["group_id", "status"])
    op.create_index("ix_scale_events_policy_received", "scale_events", ["policy_id", "received_at"])
