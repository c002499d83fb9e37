"""Settling the events a storm coalesced: every one gets its steps, in one statement."""

from __future__ import annotations

import uuid

import pytest

from flowstack.db import models, scale_events
from tests.functional.autoscaling.conftest import ScalingCloud, heat_example

STORM = 950


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_hundreds_of_open_events_are_settled_with_their_own_logs(scaling: ScalingCloud) -> None:
    scaling.create("web", heat_example(desired=1))
    group = scaling.group("web/asg")
    now = models.utcnow()
    events = [
        {
            "id": str(uuid.uuid4()),
            "group_id": group["id"],
            "project_id": scaling.ctx.project_id,
            "source": "test",
            "status": scale_events.PENDING,
            "steps": ["received", f"call {n}"],
            "reason": "",
            "generation": 1 + n % 3,
            "received_at": now,
        }
        for n in range(STORM)
    ]
    with scaling.rt.db.write_connection() as connection:
        scale_events.insert_many(connection, events)
    with scaling.rt.db.write_connection() as connection:
        scale_events.settle(connection, group["id"], 2, scale_events.IN_PROGRESS, "flow\nstarted")
        settled = scale_events.settle(
            connection, group["id"], 2, scale_events.COMPLETE, "converged", reason="done"
        )
    covered = [e for e in events if e["generation"] <= 2]
    assert settled == len(covered)
    with scaling.rt.db.read_connection() as connection:
        rows = scale_events.get_many(connection, [e["id"] for e in events])
    for event in events:
        row = rows[event["id"]]
        if event["generation"] <= 2:
            assert (row.status, row.reason) == (scale_events.COMPLETE, "done")
            assert scale_events.all_steps(row) == [*event["steps"], "flow started", "converged"]
            assert row.finished_at is not None
        else:
            assert row.status == scale_events.PENDING
            assert scale_events.all_steps(row) == event["steps"]
