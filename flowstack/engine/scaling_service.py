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

import sqlalchemy as sa
from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_log import log as logging

from flowstack import exceptions
from flowstack.autoscaling import adjustment
from flowstack.context import RequestContext
from flowstack.db import groups, models, scale_events, stacks
from flowstack.engine import group_views
from flowstack.engine.policy_cache import PolicyCache
from flowstack.execution import converge
from flowstack.execution import flow_details as flow_records
from flowstack.runtime.container import Runtime

LOG = logging.getLogger(__name__)

MAX_DETAILS = 20


NOT_FOUND = "not_found"
UNAVAILABLE = "unavailable"  # not recorded: the caller may send it again


class _Row:
    """An event as inserted, read like a row (no need to read it back)."""

    def __init__(self, values: Any) -> None:
        self.__dict__.update(values if isinstance(values, dict) else values._mapping)


class _GroupState:
    """A locked group's capacity as a batch of triggers changes it, in memory."""

    def __init__(self, group: Any, policies: dict[str, Any]) -> None:
        self.group = group
        self.desired = group.desired_capacity
        self.generation = group.generation
        self.last_scaled_at = group.last_scaled_at
        self.policies = policies
        self.policies_acted: dict[str, Any] = {}

    def decide(self, trigger: Trigger, now: Any) -> dict[str, Any]:
        """The trigger's scale event; an accepted change moves the state."""
        group = self.group
        policy = trigger.policy
        if policy is not None and policy.id in self.policies:
            policy = self.policies[policy.id]
        event: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "group_id": group.id,
            "project_id": group.project_id,
            "policy_id": policy.id if policy is not None else None,
            "policy_name": policy.resource_name if policy is not None else None,
            "source": trigger.source,
            "idempotency_key": trigger.idempotency_key,
            "details": trigger.details,
            "received_at": now,
            "desired_before": self.desired,
            "desired_after": self.desired,
            "generation": None,
            "flow_id": None,
            "reason": "",
            "steps": [_received(trigger, policy)],
            "finished_at": now,
        }
        last_acted = (
            self.policies_acted.get(policy.id, policy.last_executed_at)
            if policy is not None
            else None
        )
        refusal = _refusal(group, policy, last_acted, self.last_scaled_at, now)
        if refusal:
            event["steps"].append(f"refused: {refusal}")
            event.update(status=scale_events.REFUSED, reason=refusal)
            return event
        if group.active_flow_id:
            event["steps"].append(f"coalesced (scale flow {group.active_flow_id[:8]} running)")
        outcome = _outcome(group, self.desired, policy, trigger)
        event["steps"].extend(outcome.steps)
        if outcome.capacity == self.desired:
            event["steps"].append("no change")
            event.update(status=scale_events.NOOP, reason="no change")
            return event
        event["steps"].append(f"desired capacity {self.desired} -> {outcome.capacity}")
        if group.active_flow_id:
            event["steps"].append("waits for the next convergence")
        self.generation += 1
        self.desired = outcome.capacity
        self.last_scaled_at = now
        if policy is not None:
            self.policies_acted[policy.id] = now
        event.update(
            status=scale_events.PENDING,
            desired_after=outcome.capacity,
            generation=self.generation,
            finished_at=None,
        )
        return event


@dataclasses.dataclass(frozen=True)
class Trigger:
    source: str
    project_id: str
    idempotency_key: str | None = None
    details: dict[str, Any] | None = None
    policy: Any = None  # the policy's row, read before the transaction
    capacity: int | None = None  # a resize: the capacity asked for
    who: str | None = None


class ScalingService:
    """Scaling groups, their policies and webhooks, as the engine serves them."""

    def __init__(self, rt: Runtime, dispatcher: Any) -> None:
        self.rt = rt
        self.dispatcher = dispatcher
        self._policies = PolicyCache()

    def _read_policies(self, hashes: list[str]) -> dict[str, Any]:
        with self.rt.db.read_connection() as connection:
            return groups.policies_by_token(connection, hashes)

    # -- triggers ------------------------------------------------------------------------

    def signal_webhook(
        self,
        token_hash: str,
        idempotency_key: str | None,
        source: str,
        details: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """A webhook call; unknown and disabled tokens raise the same WebhookNotFound."""
        (result,) = self.signal_webhooks(
            [
                {
                    "token_hash": token_hash,
                    "idempotency_key": idempotency_key,
                    "source": source,
                    "details": details,
                }
            ]
        )
        if "receipt" in result:
            return result["receipt"]
        if result["error"] == UNAVAILABLE:
            raise exceptions.DatabaseUnavailable("the call could not be recorded; send it again")
        raise exceptions.WebhookNotFound()

    def signal_webhooks(self, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Several webhook calls at once, each answered on its own.

        flowstack-api sends the calls that arrive while its previous batch is
        on its way (group commit): each group's calls are then decided in one
        transaction, in arrival order, exactly as if they had come one by one.
        Each result is ``{"receipt": {...}}``, or ``{"error": "not_found"}``
        for an unknown or disabled token (the same for both).
        """
        found = self._policies.lookup([c["token_hash"] for c in calls], self._read_policies)
        results: list[dict[str, Any]] = [{"error": NOT_FOUND} for _ in calls]
        by_group: dict[str, list[tuple[int, Trigger]]] = {}
        for index, call in enumerate(calls):
            policy = found.get(call["token_hash"])
            if (
                policy is None
                or not hmac.compare_digest(policy.token_hash, call["token_hash"])
                or not policy.enabled
            ):
                continue
            trigger = Trigger(
                source=f"webhook:{call['source']}"[:32],
                project_id=policy.project_id,
                idempotency_key=call.get("idempotency_key"),
                details=_small(call.get("details")),
                policy=policy,
            )
            by_group.setdefault(policy.group_id, []).append((index, trigger))
        for group_id, items in by_group.items():
            try:
                outcomes = self._trigger(group_id, [t for _, t in items], require_enabled=True)
            except Exception:
                # One group's failure (its transaction rolled back) is its calls'
                # alone: the other groups' calls are committed and answered.
                LOG.exception(
                    "Deciding %d webhook call(s) of group %s failed", len(items), group_id
                )
                for index, _ in items:
                    results[index] = {"error": UNAVAILABLE}
                continue
            for (index, _), outcome in zip(items, outcomes, strict=True):
                if outcome is not None:
                    results[index] = {"receipt": outcome}
        return results

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
            policy=row,
            who=_who(ctx),
        )
        return self._trigger_one(row.group_id, trigger)

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
        return self._trigger_one(group_id, trigger)

    def _trigger_one(self, group_id: str, trigger: Trigger) -> dict[str, Any]:
        (receipt,) = self._trigger(group_id, [trigger])
        assert receipt is not None  # only webhooks of a deleting group get None
        return receipt

    def _trigger(
        self, group_id: str, triggers: list[Trigger], *, require_enabled: bool = False
    ) -> list[dict[str, Any] | None]:
        try:
            receipts, flow_id = self._decide_with_retry(group_id, triggers, require_enabled)
        except db_exc.DBDuplicateEntry:
            # A duplicate delivery raced this one past the key check (MariaDB's
            # snapshot); the first one's receipt is now visible.
            receipts, flow_id = self._decide_with_retry(group_id, triggers, require_enabled)
        if flow_id is not None:
            self._start(flow_id)
        return receipts

    @oslo_db_api.wrap_db_retry(max_retries=3, retry_on_deadlock=True, retry_interval=0.05)
    def _decide_with_retry(
        self, group_id: str, triggers: list[Trigger], require_enabled: bool
    ) -> tuple[list[dict[str, Any] | None], str | None]:
        return self._decide(group_id, triggers, require_enabled)

    def _decide(
        self, group_id: str, triggers: list[Trigger], require_enabled: bool
    ) -> tuple[list[dict[str, Any] | None], str | None]:
        """Triggers of one group, in order, in one transaction.

        A webhook storm on one group is serialised by the group's lock, so
        what runs under it is the webhooks' throughput: a lock, one read of
        the keys sent, one insert of every event and the commit (plus the
        policies with a cooldown).  Only an accepted change writes more (the
        group, the policy, the converge flow).  A None receipt: the group's
        stack is being deleted, and its webhooks with it.
        """
        now = models.utcnow()
        with self.rt.db.write_connection() as connection:
            group = groups.get(connection, group_id, lock=True)  # first: see module doc
            if require_enabled and group.status in (groups.DELETING, groups.DELETED):
                # Its stack's delete disabled the webhooks in the transaction that
                # marked the group: answer as for any unknown token.
                return [None] * len(triggers), None
            cooling = {t.policy.id for t in triggers if t.policy is not None and t.policy.cooldown}
            # When each policy last took effect, as of now (the lock orders triggers).
            policies = groups.policies_by_id(connection, cooling)
            keys = [t.idempotency_key for t in triggers if t.idempotency_key]
            earlier = scale_events.by_keys(connection, group_id, keys)
            state = _GroupState(group, policies)
            receipts: list[dict[str, Any] | None] = []
            events: list[dict[str, Any]] = []
            for trigger in triggers:
                first = earlier.get(trigger.idempotency_key or "")
                if first is not None:
                    receipts.append(group_views.receipt(_Row(first), duplicate=True))
                    continue
                event = state.decide(trigger, now)
                events.append(event)
                if trigger.idempotency_key:
                    earlier[trigger.idempotency_key] = event
                receipts.append(group_views.receipt(_Row(event)))
            scale_events.insert_many(connection, events)
            if state.generation == group.generation:
                return receipts, None
            groups.update(
                connection,
                group_id,
                desired_capacity=state.desired,
                generation=state.generation,
                last_scaled_at=state.last_scaled_at,
            )
            for policy_id, at in state.policies_acted.items():
                groups.touch_policy(connection, policy_id, last_executed_at=at)
            if group.active_flow_id:
                return receipts, None
            flow_id = converge.start(connection, self.rt, groups.get(connection, group_id))
            if flow_id is None:
                scale_events.settle(
                    connection,
                    group_id,
                    state.generation,
                    scale_events.COMPLETE,
                    f"no change needed: the group has {state.desired} member(s)",
                )
            # The accepted events moved on (IN_PROGRESS with the flow, or COMPLETE).
            moved = scale_events.get_many(connection, [e["id"] for e in events if e["generation"]])
            receipts = [
                group_views.receipt(moved[r["receipt_id"]]) if r and r["receipt_id"] in moved else r
                for r in receipts
            ]
            return receipts, flow_id

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
            used = scale_events.last_received(session, [r.id for r in rows])
            return [group_views.webhook(r, names.get(r.stack_id, ""), used.get(r.id)) for r in rows]

    def show_webhook(self, ctx: RequestContext, webhook: str) -> dict[str, Any]:
        with self.rt.db.reader() as session:
            row = groups.find_policy(session, ctx.project_id, None, webhook)
            name = _stack_names(session, {row.stack_id}).get(row.stack_id, "")
            used = scale_events.last_received(session, [row.id]).get(row.id)
            return group_views.webhook(row, name, used, detail=True)

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


def _outcome(group: Any, desired: int, policy: Any, trigger: Trigger) -> adjustment.Outcome:
    if trigger.capacity is not None:
        return adjustment.clamp(
            trigger.capacity,
            group.min_size,
            group.max_size,
            [f"resize to {trigger.capacity}: {desired} -> {trigger.capacity}"],
        )
    return adjustment.new_capacity(
        desired,
        policy.adjustment_type,
        policy.scaling_adjustment,
        min_size=group.min_size,
        max_size=group.max_size,
        min_adjustment_step=policy.min_adjustment_step,
    )


def _refusal(group: Any, policy: Any, policy_acted: Any, group_scaled: Any, now: Any) -> str | None:
    """Why a trigger cannot take effect now, or None."""
    if group.status != groups.ACTIVE:
        return f"the group is {group.status.lower()}"
    if policy is None:
        return None  # an operator's resize: no pause, no cooldown
    if group.paused:
        return "the group is paused"
    if policy.cooldown and policy_acted is not None:
        waited = (now - policy_acted).total_seconds()
        if waited < policy.cooldown:
            return (
                f"in cooldown: policy {policy.resource_name} took effect {waited:.0f} s ago "
                f"(cooldown {policy.cooldown} s)"
            )
    if group.cooldown and group_scaled is not None:
        waited = (now - group_scaled).total_seconds()
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
    """Names of the stacks a listing mentions, in one query."""
    if not stack_ids:
        return {}
    table = models.Stack.__table__
    rows = db.execute(sa.select(table.c.id, table.c.name).where(table.c.id.in_(stack_ids)))
    return {row.id: row.name for row in rows}


def _group_labels(db: Any, group_ids: set[str]) -> dict[str, str]:
    """``STACK/RESOURCE`` of the groups a listing mentions, in one query."""
    if not group_ids:
        return {}
    rows = db.execute(
        sa.select(groups.GROUPS.c.id, groups.GROUPS.c.resource_name, groups.STACKS.c.name)
        .join(groups.STACKS, groups.STACKS.c.id == groups.GROUPS.c.stack_id)
        .where(groups.GROUPS.c.id.in_(group_ids))
    )
    return {row.id: f"{row.name}/{row.resource_name}" for row in rows}
