"""SQLAlchemy 2 models of flowstack's own tables.

TaskFlow's logbook tables (logbooks, flowdetails, atomdetails) live in the
same database but belong to TaskFlow; they are not declared here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flowstack.db.types import JsonDocument, LongText, Timestamp

UUID_LEN = 36
NAME_LEN = 255


def utcnow() -> dt.datetime:
    """Naive UTC timestamp: every table stores UTC without a zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


Json = JsonDocument


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: Timestamp}


class Stack(Base):
    """A stack; ``deleted_id`` is '' while it lives, its own id once deleted.

    That keeps names unique per project among live stacks while deleted rows
    stay for their events (the same trick Nova uses for soft deletes).
    """

    __tablename__ = "stacks"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "name", "deleted_id", name="uniq_stacks0project_name"),
        sa.Index("ix_stacks_project_status", "project_id", "status"),
    )

    id: Mapped[str] = mapped_column(sa.String(UUID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_LEN))
    project_id: Mapped[str] = mapped_column(sa.String(NAME_LEN))
    user_id: Mapped[str | None] = mapped_column(sa.String(NAME_LEN))
    action: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    status_reason: Mapped[str] = mapped_column(sa.Text, default="")
    template: Mapped[Any] = mapped_column(Json)
    parameters: Mapped[Any] = mapped_column(Json)
    # Hidden parameter values, encrypted (flowstack.secrets); never in clear.
    secret_parameters: Mapped[str | None] = mapped_column(LongText)
    outputs: Mapped[Any | None] = mapped_column(Json)
    secret_outputs: Mapped[str | None] = mapped_column(LongText)
    disable_rollback: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    timeout_mins: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None]
    deleted_id: Mapped[str] = mapped_column(sa.String(UUID_LEN), default="")
    # A scaling group's members live in a nested stack owned by the group's resource.
    parent_id: Mapped[str | None] = mapped_column(sa.String(UUID_LEN), index=True)
    parent_resource: Mapped[str | None] = mapped_column(sa.String(NAME_LEN))
    # Template files resources use as their type (name -> text), as Heat's files map.
    files: Mapped[Any | None] = mapped_column(Json)


class Resource(Base):
    __tablename__ = "resources"
    __table_args__ = (sa.UniqueConstraint("stack_id", "name", name="uniq_resources0stack_name"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    stack_id: Mapped[str] = mapped_column(
        sa.String(UUID_LEN), sa.ForeignKey("stacks.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(NAME_LEN))
    type: Mapped[str] = mapped_column(sa.String(NAME_LEN))
    action: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    status_reason: Mapped[str] = mapped_column(sa.Text, default="")
    physical_id: Mapped[str | None] = mapped_column(sa.String(NAME_LEN))
    # Attribute values that are not secret, as the plugin reported them.
    attributes: Mapped[Any | None] = mapped_column(Json)
    # The plugin's private data (intent, secret attribute values), encrypted.
    secret_data: Mapped[str | None] = mapped_column(LongText)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(onupdate=utcnow)


class Event(Base):
    """One transition of a stack or of one of its resources."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    stack_id: Mapped[str] = mapped_column(
        sa.String(UUID_LEN), sa.ForeignKey("stacks.id", ondelete="CASCADE"), index=True
    )
    # None for an event of the stack itself.
    resource_name: Mapped[str | None] = mapped_column(sa.String(NAME_LEN))
    resource_type: Mapped[str | None] = mapped_column(sa.String(NAME_LEN))
    physical_id: Mapped[str | None] = mapped_column(sa.String(NAME_LEN))
    action: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Flow(Base):
    """A persisted TaskFlow flow run on behalf of a stack.

    ``id`` is the TaskFlow flow detail uuid (whose meta holds the factory
    and its arguments); ``owner``/``epoch`` fence a takeover so that a stale
    runner cannot write after another one took over.
    """

    __tablename__ = "flows"
    __table_args__ = (sa.Index("ix_flows_state", "state"),)

    id: Mapped[str] = mapped_column(sa.String(UUID_LEN), primary_key=True)
    logbook_id: Mapped[str] = mapped_column(sa.String(UUID_LEN))
    stack_id: Mapped[str] = mapped_column(
        sa.String(UUID_LEN), sa.ForeignKey("stacks.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(sa.String(NAME_LEN))
    operation: Mapped[str] = mapped_column(sa.String(32))
    state: Mapped[str] = mapped_column(sa.String(32))
    owner: Mapped[str | None] = mapped_column(sa.String(NAME_LEN))
    epoch: Mapped[int] = mapped_column(sa.Integer, default=0)
    # Claims (every runner that took the flow), runs that raised, and
    # consecutive takeovers from dead runners with no step finished in between.
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed_runs: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    stalled_takeovers: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # Steps finished when the flow was last claimed (tells progress from a crash loop).
    progress: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # Every failed attempt: [{"at", "owner", "error"}], for quarantine and operators.
    errors: Mapped[Any | None] = mapped_column(Json)
    # Who asked to cancel (flowstack flow cancel); the runner stops at its next step.
    cancel_requested: Mapped[str | None] = mapped_column(sa.String(NAME_LEN))
    # How to build the flow ({"factory", "args", "name"}), for flows recorded in
    # the same transaction as the decision that needs them (scale, delete): any
    # runner materialises the TaskFlow flow detail from it.
    spec: Mapped[Any | None] = mapped_column(Json)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(onupdate=utcnow)
    finished_at: Mapped[dt.datetime | None]


class ScalingGroup(Base):
    """An OS::Heat::AutoScalingGroup: capacity bounds, intent, and who converges it.

    ``id`` is also the id of the nested stack that holds the members.
    ``desired_capacity`` and ``generation`` change together, in the transaction
    that accepts a trigger; a converge flow brings the members to the desired
    count and records the generation it reached.  ``active_flow_id`` is the one
    converge flow allowed to run on the group.
    """

    __tablename__ = "scaling_groups"

    id: Mapped[str] = mapped_column(sa.String(UUID_LEN), primary_key=True)
    stack_id: Mapped[str] = mapped_column(
        sa.String(UUID_LEN), sa.ForeignKey("stacks.id", ondelete="CASCADE"), index=True
    )
    resource_name: Mapped[str] = mapped_column(sa.String(NAME_LEN))
    project_id: Mapped[str] = mapped_column(sa.String(NAME_LEN), index=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    paused: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    min_size: Mapped[int] = mapped_column(sa.Integer)
    max_size: Mapped[int] = mapped_column(sa.Integer)
    desired_capacity: Mapped[int] = mapped_column(sa.Integer)
    cooldown: Mapped[int] = mapped_column(sa.Integer, default=0)
    generation: Mapped[int] = mapped_column(sa.Integer, default=0)
    converged_generation: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_index: Mapped[int] = mapped_column(sa.Integer, default=1)
    member_type: Mapped[str] = mapped_column(sa.String(NAME_LEN))
    removal_policy: Mapped[str] = mapped_column(sa.String(32))
    keep_partial_progress: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    rolling_updates: Mapped[Any | None] = mapped_column(Json)
    active_flow_id: Mapped[str | None] = mapped_column(sa.String(UUID_LEN))
    last_scaled_at: Mapped[dt.datetime | None]
    # When a converge flow last asked the cloud about every member.
    last_checked_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(onupdate=utcnow)


class ScalingPolicy(Base):
    """An OS::Heat::ScalingPolicy and its webhook (a capability URL).

    Only the SHA-256 of the webhook token is stored here: looking a token up
    needs its hash, and a leaked table does not leak working URLs.
    """

    __tablename__ = "scaling_policies"
    __table_args__ = (sa.UniqueConstraint("token_hash", name="uniq_scaling_policies0token"),)

    id: Mapped[str] = mapped_column(sa.String(UUID_LEN), primary_key=True)
    group_id: Mapped[str] = mapped_column(
        sa.String(UUID_LEN), sa.ForeignKey("scaling_groups.id", ondelete="CASCADE"), index=True
    )
    stack_id: Mapped[str] = mapped_column(
        sa.String(UUID_LEN), sa.ForeignKey("stacks.id", ondelete="CASCADE"), index=True
    )
    resource_name: Mapped[str] = mapped_column(sa.String(NAME_LEN))
    project_id: Mapped[str] = mapped_column(sa.String(NAME_LEN))
    adjustment_type: Mapped[str] = mapped_column(sa.String(32))
    scaling_adjustment: Mapped[int] = mapped_column(sa.Integer)
    min_adjustment_step: Mapped[int | None] = mapped_column(sa.Integer)
    cooldown: Mapped[int | None] = mapped_column(sa.Integer)
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    last_executed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ScaleEvent(Base):
    """One trigger of a group (webhook, policy execution, resize) and its fate.

    The receipt a webhook caller gets is this row's id; ``steps`` is the
    decision log ("received", "coalesced", "clamped at max_size=10", ...).
    ``idempotency_key`` is unique per group, so a duplicate delivery finds
    the first receipt instead of scaling again.
    """

    __tablename__ = "scale_events"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "idempotency_key", name="uniq_scale_events0key"),
        sa.Index("ix_scale_events_group_received", "group_id", "received_at"),
        sa.Index("ix_scale_events_group_status", "group_id", "status"),
        sa.Index("ix_scale_events_policy_received", "policy_id", "received_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(UUID_LEN), primary_key=True)
    group_id: Mapped[str] = mapped_column(
        sa.String(UUID_LEN), sa.ForeignKey("scaling_groups.id", ondelete="CASCADE")
    )
    project_id: Mapped[str] = mapped_column(sa.String(NAME_LEN))
    policy_id: Mapped[str | None] = mapped_column(sa.String(UUID_LEN))
    policy_name: Mapped[str | None] = mapped_column(sa.String(NAME_LEN))
    source: Mapped[str] = mapped_column(sa.String(32))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(NAME_LEN))
    status: Mapped[str] = mapped_column(sa.String(16))
    steps: Mapped[Any] = mapped_column(Json)
    # Steps after the decision (convergence started, completed...), one per line.
    later_steps: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    details: Mapped[Any | None] = mapped_column(Json)
    desired_before: Mapped[int | None] = mapped_column(sa.Integer)
    desired_after: Mapped[int | None] = mapped_column(sa.Integer)
    generation: Mapped[int | None] = mapped_column(sa.Integer)
    flow_id: Mapped[str | None] = mapped_column(sa.String(UUID_LEN))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class Service(Base):
    """A running engine or worker process, and when it was last seen alive."""

    __tablename__ = "services"
    __table_args__ = (sa.UniqueConstraint("name", name="uniq_services0name"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_LEN))
    kind: Mapped[str] = mapped_column(sa.String(32))
    host: Mapped[str] = mapped_column(sa.String(NAME_LEN))
    pid: Mapped[int] = mapped_column(sa.Integer)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
