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
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # Every failed attempt: [{"at", "owner", "error"}], for quarantine and operators.
    errors: Mapped[Any | None] = mapped_column(Json)
    # Who asked to cancel (flowstack flow cancel); the runner stops at its next step.
    cancel_requested: Mapped[str | None] = mapped_column(sa.String(NAME_LEN))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(onupdate=utcnow)
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
