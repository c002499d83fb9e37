"""JSON-safe views of scaling groups, policies (webhooks) and scale events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from flowstack import status
from flowstack.autoscaling import webhook_tokens as webhooks
from flowstack.db import groups, scale_events

URL_HINT = (
    "The URL is a secret shown only to the stack's owner: read the policy's alarm_url "
    "attribute (e.g. as a stack output). flowstack keeps only its hash."
)


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds") + "Z"


def group_summary(row: Any, stack_name: str, members: Iterable[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "stack_id": row.stack_id,
        "stack_name": stack_name,
        "resource_name": row.resource_name,
        "status": row.status,
        "paused": bool(row.paused),
        "min_size": row.min_size,
        "max_size": row.max_size,
        "desired_capacity": row.desired_capacity,
        "current_size": sum(1 for m in members if groups.is_healthy(m)),
        "generation": row.generation,
        "cooldown": row.cooldown,
        "active_flow_id": row.active_flow_id,
    }


def group_detail(
    row: Any, stack_name: str, members: list[Any], policies: Iterable[Any]
) -> dict[str, Any]:
    return {
        **group_summary(row, stack_name, members),
        "members": [
            {
                "name": m.name,
                "physical_id": m.physical_id,
                "status": status.combined(m.action, m.status),
                "status_reason": m.status_reason,
                "created_at": _time(m.created_at),
            }
            for m in members
        ],
        "policies": [policy(p) for p in policies],
        "removal_policy": row.removal_policy,
        "keep_partial_progress": bool(row.keep_partial_progress),
        "rolling_updates": row.rolling_updates or {},
        "last_scaled_at": _time(row.last_scaled_at),
        "member_type": row.member_type,
    }


def policy(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.resource_name,
        "adjustment_type": row.adjustment_type,
        "scaling_adjustment": row.scaling_adjustment,
        "min_adjustment_step": row.min_adjustment_step,
        "cooldown": row.cooldown,
        "last_executed_at": _time(row.last_executed_at),
    }


def webhook(
    row: Any, stack_name: str, last_used: dt.datetime | None, *, detail: bool = False
) -> dict[str, Any]:
    view = {
        "id": row.id,
        "stack_name": stack_name,
        "policy": row.resource_name,
        "group_id": row.group_id,
        "enabled": bool(row.enabled),
        "fingerprint": webhooks.fingerprint(row.token_hash),
        "created_at": _time(row.created_at),
        "last_used_at": _time(last_used),
    }
    if detail:
        view["url_hint"] = URL_HINT
    return view


def decision(steps: Iterable[str]) -> str:
    return " -> ".join(steps)


def receipt(row: Any, *, duplicate: bool = False) -> dict[str, Any]:
    return {
        "receipt_id": row.id,
        "group_id": row.group_id,
        "status": row.status,
        "decision": decision(scale_events.all_steps(row)),
        "desired_before": row.desired_before,
        "desired_after": row.desired_after,
        "flow_id": row.flow_id,
        "duplicate": duplicate,
    }


def scale_event(row: Any, group_name: str, *, detail: bool = False) -> dict[str, Any]:
    view = {
        "receipt_id": row.id,
        "group_id": row.group_id,
        "group": group_name,
        "policy": row.policy_name,
        "source": row.source,
        "status": row.status,
        "received_at": _time(row.received_at),
        "desired_before": row.desired_before,
        "desired_after": row.desired_after,
        "flow_id": row.flow_id,
        "reason": row.reason,
    }
    if detail:
        view.update(
            {
                "decision": decision(scale_events.all_steps(row)),
                "steps": scale_events.all_steps(row),
                "details": row.details or {},
                "idempotency_key": row.idempotency_key,
                "finished_at": _time(row.finished_at),
            }
        )
    return view


def explained(row: Any) -> dict[str, Any]:
    return {
        "receipt_id": row.id,
        "received_at": _time(row.received_at),
        "source": row.source,
        "policy": row.policy_name,
        "status": row.status,
        "decision": decision(scale_events.all_steps(row)),
        "desired_before": row.desired_before,
        "desired_after": row.desired_after,
        "flow_id": row.flow_id,
    }
