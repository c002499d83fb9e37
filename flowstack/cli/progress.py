"""Live progress of a stack operation for ``--wait``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

IN_PROGRESS_SUFFIX = "_IN_PROGRESS"


def summarize(resources: list[dict[str, Any]], action: str) -> str:
    """ "3/6 complete | in progress: web, db | failed: api" for the current action."""
    done = [r for r in resources if r["resource_status"] == f"{action}_COMPLETE"]
    running = [
        r["resource_name"] for r in resources if r["resource_status"].endswith(IN_PROGRESS_SUFFIX)
    ]
    failed = [r["resource_name"] for r in resources if r["resource_status"].endswith("_FAILED")]
    verb = {"CREATE": "created", "DELETE": "deleted"}.get(action, action.lower())
    parts = [f"{len(done)}/{len(resources)} {verb}"]
    parts.append("in progress: " + (_names(running) if running else "-"))
    if failed:
        parts.append("failed: " + _names(failed))
    return " | ".join(parts)


def _names(names: list[str], most: int = 6) -> str:
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown} (+{len(names) - most} more)"


def follow(
    client: Any,
    stack_id: str,
    action: str,
    out: TextIO,
    *,
    interval: float = 0.25,
    is_done: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any]:
    """Print events and a progress line as they change, until the stack settles."""
    last_event = 0
    last_line = ""
    while True:
        stack = client.show_stack(stack_id)
        for event in client.list_events(stack_id, after_id=last_event):
            last_event = max(last_event, event["id"])
            reason = event["resource_status_reason"]
            out.write(
                f"{event['event_time'][11:23]}  {event['resource_name']:<24} "
                f"{event['resource_status']:<20} {reason}\n"
            )
        current = "DELETE" if stack["stack_status"].startswith("ROLLBACK") else action
        line = summarize(client.list_resources(stack_id), current)
        if line != last_line:
            out.write(f"  [{line}]\n")
            last_line = line
        out.flush()
        settled = (
            is_done(stack) if is_done else not stack["stack_status"].endswith(IN_PROGRESS_SUFFIX)
        )
        if settled:
            return stack
        time.sleep(interval)
