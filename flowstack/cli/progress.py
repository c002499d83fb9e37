"""Live progress of a stack operation for ``--wait``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

IN_PROGRESS_SUFFIX = "_IN_PROGRESS"


def summarize(resources: list[dict[str, Any]], action: str) -> str:
    """ "3/6 complete | in progress: web, db | failed: api" for the current action."""
    if action == "DELETE":  # never created: nothing to delete
        resources = [r for r in resources if not r["resource_status"].startswith("INIT")]
    done = [r for r in resources if r["resource_status"] == f"{action}_COMPLETE"]
    running = [
        r["resource_name"] for r in resources if r["resource_status"].endswith(IN_PROGRESS_SUFFIX)
    ]
    failed = [r["resource_name"] for r in resources if r["resource_status"] == f"{action}_FAILED"]
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
    since: int | None = None,
) -> dict[str, Any]:
    """Print events and a progress line as they change, until the stack settles.

    ``since``: the last event before this operation began (its own events only).
    Each round reads the stack and its resources before the events, so a
    progress line never counts something whose event was not printed yet.
    """
    last_event = since or 0
    last_line = ""
    while True:
        stack = client.show_stack(stack_id)
        resources = client.list_resources(stack_id)
        for event in client.list_events(stack_id, after_id=last_event):
            last_event = max(last_event, event["id"])
            reason = event["resource_status_reason"]
            out.write(
                f"{event['event_time'][11:23]}  {event['resource_name']:<24} "
                f"{event['resource_status']:<20} {reason}\n"
            )
        current = "DELETE" if stack["stack_status"].startswith("ROLLBACK") else action
        line = summarize(resources, current)
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


def last_event_id(client: Any, stack: str) -> int | None:
    """The id of a stack's newest event (before an operation starts), if it has any."""
    newest = None
    while True:
        page = client.list_events(stack, after_id=newest, limit=PAGE)
        if not page:
            return newest
        newest = page[-1]["id"]
        if len(page) < PAGE:
            return newest


PAGE = 1000
