"""Starting and finishing a group's converge flows, inside the caller's transaction.

At most one converge flow runs per group (``active_flow_id``).  A trigger
that arrives while one runs only moves the desired capacity; when the
running flow ends, :func:`finish` starts the next one if the group is still
not where it should be.  Both run with the group's row locked, in the same
transaction as the change that needs them, so a decision and its flow are
committed together or not at all.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from flows import scale_flows
from flowstack import status
from flowstack.autoscaling import member_stack as nested
from flowstack.db import events, groups, models, resources, scale_events, stacks
from flowstack.db import flow_records as flows
from flowstack.execution import flow_details as flow_records
from flowstack.resources import template_types
from flowstack.runtime.container import Runtime

OPERATION = "converge"


def _member_type(rt: Runtime, group: Any) -> Any:
    """The member's plugin class; a template file's comes from the group's nested stack."""
    if not template_types.is_template_name(group.member_type):
        return rt.registry.get(group.member_type)
    return rt.types(rt.stacks.get(group.id)).get(group.member_type)


def start(db: Any, rt: Runtime, group: Any, *, check: bool = False) -> str | None:
    """Record the flow that brings the group to its desired capacity, or None.

    ``group`` is the group's row, locked by the caller; no flow may be active.
    With ``check``, a flow is recorded even when the database sees nothing to
    do: its first step asks the cloud about every member (a health check).
    """
    if group.status != groups.ACTIVE or group.active_flow_id:
        return None
    healthy, live = groups.member_counts(db, group.id)
    broken = live - healthy
    desired = group.desired_capacity
    adding = max(0, desired - healthy)
    removing = broken + max(0, healthy - desired)
    if not adding and not removing and not check:
        return None
    names = [groups.member_name(i) for i in range(group.next_index, group.next_index + adding)]
    member = _member_type(rt, group)
    rolling = group.rolling_updates or {}
    replacing = broken and adding
    options = {
        "keep_partial": bool(group.keep_partial_progress),
        "batch": rolling.get("max_batch_size") if replacing else None,
        "pause": (rolling.get("pause_time") or 0) if replacing else 0,
    }
    deadline = time.time() + rt.conf.engine.stack_timeout_mins * 60
    flow_id = flow_records.record_flow(
        db,
        group.id,
        group.project_id,
        OPERATION,
        scale_flows.converge_group,
        group.id,
        group.generation,
        names,
        removing,
        flow_records.member_shape(rt, member),
        options,
        deadline,
    )
    if names:
        resources.create_all(db, group.id, ((name, group.member_type) for name in names))
        row = stacks.get_by_id_row(db, group.id)
        stacks.update_template(
            db, group.id, nested.with_members(row.template, group.member_type, names)
        )
    # Every convergence starts by asking the cloud about the members
    # (CheckMembers): the group counts as checked from now, so the periodic
    # check comes one interval later, not at the reaper's next pass.
    groups.update(
        db,
        group.id,
        active_flow_id=flow_id,
        next_index=group.next_index + adding,
        last_checked_at=models.utcnow(),
    )
    if adding or removing:
        # A health check alone leaves the stack's status (and event list) alone.
        reason = f"Converging to {desired} member(s): +{adding} -{removing}"
        stacks.set_status(db, group.id, status.UPDATE, status.IN_PROGRESS, reason)
        events.add(db, group.id, status.UPDATE, status.IN_PROGRESS, reason)
    scale_events.settle(
        db,
        group.id,
        group.generation,
        scale_events.IN_PROGRESS,
        f"scale flow {flow_id} started (+{adding} -{removing})",
        flow_id=flow_id,
    )
    return flow_id


def finish(db: Any, rt: Runtime, group_id: str, flow_id: str, state: str) -> str | None:
    """The group's converge flow ended: release the group, maybe start the next flow.

    After a success, triggers coalesced meanwhile (or members found broken)
    get the next flow; after a failure the group waits for a new trigger,
    so a cloud that keeps failing does not get an endless retry loop.
    """
    group = groups.get(db, group_id, lock=True)
    if group.active_flow_id != flow_id:
        return None
    groups.update(db, group_id, active_flow_id=None)
    if state != flows.SUCCESS:
        # The flow's lifecycle task normally did this on revert; a flow that
        # could not revert (quarantined, failed) must not leave events open.
        scale_events.settle(
            db,
            group_id,
            None,
            scale_events.FAILED,
            f"failed: scale flow {flow_id} ended {state}",
            reason=f"scale flow {flow_id} ended {state}",
        )
        return None
    if group.paused:
        return None  # pending events stay visible; resume starts the flow
    group = groups.get(db, group_id)
    next_flow = start(db, rt, group)
    if next_flow is None:
        at = group.desired_capacity
        scale_events.settle(
            db, group_id, None, scale_events.COMPLETE, f"no change needed: already at {at}"
        )
    return next_flow


def start_due_checks(rt: Runtime, interval: float) -> list[str]:
    """Health-check flows for the idle groups not checked for ``interval`` seconds.

    Any number of workers may call this: each group is decided with its row
    locked, so one check starts per group, and only on an idle group.
    """
    cutoff = models.utcnow() - dt.timedelta(seconds=interval)
    with rt.db.read_connection() as connection:
        due = groups.due_for_check(connection, cutoff)
    started = []
    for group_id in due:
        with rt.db.write_connection() as connection:
            group = groups.get(connection, group_id, lock=True)
            if (
                group.paused
                or group.active_flow_id
                or (group.last_checked_at is not None and group.last_checked_at > cutoff)
            ):
                continue
            flow_id = start(connection, rt, group, check=True)
        if flow_id is not None:
            started.append(flow_id)
    return started
