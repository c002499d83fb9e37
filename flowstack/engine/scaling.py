"""The engine's operations on scaling groups: triggers, resize, pause, queries.

Every trigger (a webhook, ``policy execute``, ``group resize``) is one
transaction that starts by locking the group's row, so triggers of one
group are serialised whatever the number of engines:

1. a duplicate (same idempotency key) returns the first receipt, unchanged;
2. a refused trigger (paused, in cooldown, group not active) is recorded
   with its reason;
3. otherwise the new desired capacity is computed from the current desired
   capacity (not from the members: that is what makes concurrent triggers
   add up) and clamped to [min_size, max_size]; no change is recorded too;
4. a change bumps the generation, and if no converge flow runs, the flow is
   recorded in the same transaction; if one runs, the change waits for it
   ("coalesced") and the next convergence takes it.

The group's lock is the transaction's first statement: on MariaDB, a
transaction's snapshot starts at its first plain read, which must come
after the lock so that it sees what the previous lock holder committed.
"""

from __future__ import annotations

import dataclasses
import hmac
import uuid
from typing import Any

from oslo_db import exception as db_exc
from oslo_log import log as logging

from flowstack import exceptions
from flowstack.context import RequestContext
from flowstack.db import groups, models, scale_events, stacks
from flowstack.engine import converge, flow_records, group_views
from flowstack.engine.runtime import Runtime
from flowstack.scaling import adjustment

LOG = logging.getLogger(__name__)

MAX_DETAILS = 20


@dataclasses.dataclass(frozen=True)
class Trigger:
    source: str
    project_id: str
    idempotency_key: str | None = None
    details: dict[str, Any] | None = None
    policy_id: str | None = None
    capacity: int | None = None  # a resize: the capacity asked for
    who: str | None = None


class ScalingOps:
    def __init__(self, rt: Runtime, dispatcher: Any) -> None:
        self.rt = rt
        self.dispatcher = dispatcher

    # -- triggers ------------------------------------------------------------------------

    def signal_webhook(
        self,
        token_hash: str,
        idempotency_key: str | None,
        source: str,
        details: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """A webhook call; unknown and disabled tokens raise the same WebhookNotFound."""
        with self.rt.db.read_connection() as connection:
            policy = groups.policy_by_token(connection, token_hash)
        if (
            policy is None
            or not hmac.compare_digest(policy.token_hash, token_hash)
            or not policy.enabled
        ):
            raise exceptions.WebhookNotFound()
        trigger = Trigger(
            source=f"webhook:{source}"[:32],
            project_id=policy.project_id,
            idempotency_key=idempotency_key,
            details=_small(details),
            policy_id=policy.id,
        )
        return self._trigger(policy.group_id, trigger, require_enabled=True)

    def execute_policy(
        self,
        ctx: RequestContext,
        stack: str,
        policy: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        with self.rt.db.reader() as session:
            stack_id = stacks.get(session, ctx.project_id, stack).id if stack else None
            row = groups.find_policy(session, ctx.project_id, stack_id, policy)
        trigger = Trigger(
            source="policy",
            project_id=ctx.project_id,
            idempotency_key=idempotency_key,
            policy_id=row.id,
            who=_who(ctx),
        )
        return self._trigger(row.group_id, trigger)

    def resize_group(
        self,
        ctx: RequestContext,
        group: str,
        capacity: int,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 0:
            raise exceptions.InvalidRequest(
                f"capacity must be a whole number >= 0, got {capacity!r}", field="capacity"
            )
        group_id = self._find(ctx, group).id
        trigger = Trigger(
            source="resize",
            project_id=ctx.project_id,
            idempotency_key=idempotency_key,
            capacity=capacity,
            who=_who(ctx),
        )
        return self._trigger(group_id, trigger)

    def _trigger(
        self, group_id: str, trigger: Trigger, *, require_enabled: bool = False
    ) -> dict[str, Any]:
        try:
            receipt, flow_id = self._decide(group_id, trigger, require_enabled)
        except db_exc.DBDuplicateEntry:
            # A duplicate delivery raced this one past the key check (MariaDB's
            # snapshot); the first one's receipt is now visible.
            receipt, flow_id = self._decide(group_id, trigger, require_enabled)
        if flow_id is not None:
            self._start(flow_id)
        return receipt

    def _decide(
        self, group_id: str, trigger: Trigger, require_enabled: bool
    ) -> tuple[dict[str, Any], str | None]:
        now = models.utcnow()
        with self.rt.db.write_connection() as connection:
            group = groups.get(connection, group_id, lock=True)  # first: see module doc
            policy = None
            if trigger.policy_id is not None:
                policy = groups.get_policy(connection, trigger.policy_id)
                if policy is None or (require_enabled and not policy.enabled):
                    raise exceptions.WebhookNotFound()
                if trigger.source.startswith("webhook"):
                    groups.touch_policy(connection, policy.id, last_used_at=now)
            if trigger.idempotency_key:
                first = scale_events.by_key(connection, group_id, trigger.idempotency_key)
                if first is not None:
                    return group_views.receipt(first, duplicate=True), None
            event_id = str(uuid.uuid4())
            steps = [_received(trigger, policy)]
            event: dict[str, Any] = {
                "id": event_id,
                "group_id": group_id,
                "project_id": group.project_id,
                "policy_id": policy.id if policy else None,
                "policy_name": policy.resource_name if policy else None,
                "source": trigger.source,
                "idempotency_key": trigger.idempotency_key,
                "details": trigger.details,
                "received_at": now,
                "desired_before": group.desired_capacity,
                "desired_after": group.desired_capacity,
                "reason": "",
            }
            refusal = _refusal(group, policy, now)
            if refusal:
                steps.append(f"refused: {refusal}")
                self._record(connection, event, steps, scale_events.REFUSED, refusal, now)
                return self._receipt(connection, event_id), None
            if group.active_flow_id:
                steps.append(f"coalesced (scale flow {group.active_flow_id[:8]} running)")
            outcome = _outcome(group, policy, trigger)
            steps.extend(outcome.steps)
            if outcome.capacity == group.desired_capacity:
                steps.append("no change")
                self._record(connection, event, steps, scale_events.NOOP, "no change", now)
                return self._receipt(connection, event_id), None
            generation = group.generation + 1
            groups.update(
                connection,
                group_id,
                desired_capacity=outcome.capacity,
                generation=generation,
                last_scaled_at=now,
            )
            if policy is not None:
                groups.touch_policy(connection, policy.id, last_executed_at=now)
            steps.append(f"desired capacity {group.desired_capacity} -> {outcome.capacity}")
            if group.active_flow_id:
                steps.append("waits for the next convergence")
            event.update(desired_after=outcome.capacity, generation=generation)
            self._record(connection, event, steps, scale_events.PENDING, "", None)
            flow_id = None
            if not group.active_flow_id:
                flow_id = converge.start(connection, self.rt, groups.get(connection, group_id))
                if flow_id is None:
                    scale_events.settle(
                        connection,
                        group_id,
                        generation,
                        scale_events.COMPLETE,
                        f"no change needed: the group has {outcome.capacity} member(s)",
                    )
            return self._receipt(connection, event_id), flow_id

    @staticmethod
    def _record(
        connection: Any,
        event: dict[str, Any],
        steps: list[str],
        state: str,
        reason: str,
        finished_at: Any,
    ) -> None:
        scale_events.insert(
            connection,
            **{**event, "steps": steps, "status": state, "reason": reason},
            finished_at=finished_at,
        )

    @staticmethod
    def _receipt(connection: Any, event_id: str) -> dict[str, Any]:
        return group_views.receipt(scale_events.get_by_id(connection, event_id))

    def _start(self, flow_id: str) -> None:
        """Hand a just-committed converge flow to whoever runs flows."""
        try:
            flow_records.materialise(self.rt, flow_id)
            self.dispatcher.dispatch(flow_id)
        except Exception:
            LOG.exception("Could not start flow %s now; the reaper will post it", flow_id)

    # -- pause and resume ----------------------------------------------------------------

    def pause_group(self, ctx: RequestContext, group: str) -> dict[str, Any]:
        """Policies stop taking effect; their calls are still recorded (as refused)."""
        return self._set_paused(ctx, group, True)

    def resume_group(self, ctx: RequestContext, group: str) -> dict[str, Any]:
        return self._set_paused(ctx, group, False)

    def _set_paused(self, ctx: RequestContext, reference: str, paused: bool) -> dict[str, Any]:
        group_id = self._find(ctx, reference).id
        now = models.utcnow()
        verb = "paused" if paused else "resumed"
        flow_id = None
        with self.rt.db.write_connection() as connection:
            group = groups.get(connection, group_id, lock=True)
            if bool(group.paused) != paused:
                groups.update(connection, group_id, paused=paused)
                scale_events.insert(
                    connection,
                    id=str(uuid.uuid4()),
                    group_id=group_id,
                    project_id=group.project_id,
                    source="pause" if paused else "resume",
                    status=scale_events.COMPLETE,
                    steps=[f"{verb} by {_who(ctx)}"],
                    reason=verb,
                    desired_before=group.desired_capacity,
                    desired_after=group.desired_capacity,
                    received_at=now,
                    finished_at=now,
                )
                if not paused and not group.active_flow_id:
                    flow_id = converge.start(connection, self.rt, groups.get(connection, group_id))
        if flow_id is not None:
            self._start(flow_id)
        return self.show_group(ctx, group_id, summary=True)

    # -- queries -------------------------------------------------------------------------

    def _find(self, ctx: RequestContext, reference: str) -> Any:
        with self.rt.db.read_connection() as connection:
            return groups.find(connection, ctx.project_id, reference)

    def list_groups(self, ctx: RequestContext, stack: str | None = None) -> list[dict[str, Any]]:
        with self.rt.db.reader() as session:
            stack_id = stacks.get(session, ctx.project_id, stack).id if stack else None
            rows = groups.list_live(session, ctx.project_id, stack_id)
            names = _stack_names(session, {r.stack_id for r in rows})
            return [
                group_views.group_summary(
                    r, names.get(r.stack_id, ""), groups.members(session, r.id)
                )
                for r in rows
            ]

    def show_group(
        self, ctx: RequestContext, group: str, *, summary: bool = False
    ) -> dict[str, Any]:
        with self.rt.db.reader() as session:
            row = groups.find(session, ctx.project_id, group)
            name = _stack_names(session, {row.stack_id}).get(row.stack_id, "")
            members = groups.members(session, row.id)
            if summary:
                return group_views.group_summary(row, name, members)
            return group_views.group_detail(row, name, members, groups.policies_of(session, row.id))

    def explain_group(
        self, ctx: RequestContext, group: str, limit: int = 20
    ) -> list[dict[str, Any]]:
        with self.rt.db.reader() as session:
            row = groups.find(session, ctx.project_id, group)
            return [
                group_views.explained(e) for e in scale_events.for_group(session, row.id, limit)
            ]

    def list_webhooks(self, ctx: RequestContext, stack: str | None = None) -> list[dict[str, Any]]:
        with self.rt.db.reader() as session:
            stack_id = stacks.get(session, ctx.project_id, stack).id if stack else None
            rows = groups.list_policies(session, ctx.project_id, stack_id)
            names = _stack_names(session, {r.stack_id for r in rows})
            return [group_views.webhook(r, names.get(r.stack_id, "")) for r in rows]

    def show_webhook(self, ctx: RequestContext, webhook: str) -> dict[str, Any]:
        with self.rt.db.reader() as session:
            row = groups.find_policy(session, ctx.project_id, None, webhook)
            name = _stack_names(session, {row.stack_id}).get(row.stack_id, "")
            return group_views.webhook(row, name, detail=True)

    def list_scale_events(
        self, ctx: RequestContext, group: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        with self.rt.db.reader() as session:
            if group is not None:
                rows = scale_events.for_group(
                    session, groups.find(session, ctx.project_id, group).id, limit
                )
            else:
                rows = scale_events.for_project(session, ctx.project_id, limit)
            labels = _group_labels(session, {r.group_id for r in rows})
            return [group_views.scale_event(r, labels.get(r.group_id, "")) for r in rows]

    def show_scale_event(self, ctx: RequestContext, receipt: str) -> dict[str, Any]:
        with self.rt.db.reader() as session:
            row = scale_events.get(session, ctx.project_id, receipt)
            labels = _group_labels(session, {row.group_id})
            return group_views.scale_event(row, labels.get(row.group_id, ""), detail=True)


def _outcome(group: Any, policy: Any, trigger: Trigger) -> adjustment.Outcome:
    if trigger.capacity is not None:
        return adjustment.clamp(
            trigger.capacity,
            group.min_size,
            group.max_size,
            [f"resize to {trigger.capacity}: {group.desired_capacity} -> {trigger.capacity}"],
        )
    return adjustment.new_capacity(
        group.desired_capacity,
        policy.adjustment_type,
        policy.scaling_adjustment,
        min_size=group.min_size,
        max_size=group.max_size,
        min_adjustment_step=policy.min_adjustment_step,
    )


def _refusal(group: Any, policy: Any, now: Any) -> str | None:
    """Why a trigger cannot take effect now, or None."""
    if group.status != groups.ACTIVE:
        return f"the group is {group.status.lower()}"
    if policy is None:
        return None  # an operator's resize: no pause, no cooldown
    if group.paused:
        return "the group is paused"
    if policy.cooldown and policy.last_executed_at is not None:
        waited = (now - policy.last_executed_at).total_seconds()
        if waited < policy.cooldown:
            return (
                f"in cooldown: policy {policy.resource_name} took effect {waited:.0f} s ago "
                f"(cooldown {policy.cooldown} s)"
            )
    if group.cooldown and group.last_scaled_at is not None:
        waited = (now - group.last_scaled_at).total_seconds()
        if waited < group.cooldown:
            return f"in cooldown: the group scaled {waited:.0f} s ago (cooldown {group.cooldown} s)"
    return None


def _received(trigger: Trigger, policy: Any) -> str:
    text = f"received ({trigger.source}"
    if policy is not None:
        text += f", policy {policy.resource_name}"
    if trigger.who:
        text += f", by {trigger.who}"
    return text + ")"


def _who(ctx: RequestContext) -> str:
    return ctx.user_id or f"project {ctx.project_id}"


def _small(details: dict[str, Any] | None) -> dict[str, Any] | None:
    """Keep a webhook's descriptive fields short: they are shown, never trusted."""
    if not details:
        return None
    kept: dict[str, Any] = {}
    for key, value in list(details.items())[:MAX_DETAILS]:
        if isinstance(value, str | int | float | bool) or value is None:
            kept[str(key)[:64]] = value[:256] if isinstance(value, str) else value
        else:
            kept[str(key)[:64]] = str(value)[:256]
    return kept


def _stack_names(db: Any, stack_ids: set[str]) -> dict[str, str]:
    return {sid: stacks.get_by_id_row(db, sid).name for sid in stack_ids}


def _group_labels(db: Any, group_ids: set[str]) -> dict[str, str]:
    labels = {}
    for group_id in group_ids:
        try:
            group = groups.get(db, group_id)
        except exceptions.GroupNotFound:
            continue
        name = stacks.get_by_id_row(db, group.stack_id).name
        labels[group_id] = f"{name}/{group.resource_name}"
    return labels
