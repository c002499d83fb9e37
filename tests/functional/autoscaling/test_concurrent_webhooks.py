"""200 monitoring calls at once on one group, on SQLite, PostgreSQL and MariaDB.

What must hold (DESIGN.md §8, invariants 3 and 4):

* the group never has more than max_size members, at any moment;
* no two converge flows of the group ever run at the same time;
* every 202 receipt is a recorded scale event that ends COMPLETE or NOOP,
  and the accepted ones add up to exactly the change made.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import threading
import time

import pytest

from flowstack.db import flow_records as flow_states
from flowstack.resources.types.nova_server import TAG_STACK
from tests.functional.autoscaling.conftest import ScalingCloud, heat_example

CALLS = 200
MAX_SIZE = 10


class Watcher:
    """Samples the group's live servers and running flows while the calls land."""

    def __init__(self, scaling: ScalingCloud, group_id: str) -> None:
        self.scaling = scaling
        self.group_id = group_id
        self.most_servers = 0
        self.most_running = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            servers = [
                s
                for s in self.scaling.sim.live_servers()
                if s["metadata"].get(TAG_STACK) == self.group_id
            ]
            running = [
                f
                for f in self.scaling.converge_flows(self.group_id)
                if f.state == flow_states.RUNNING
            ]
            self.most_servers = max(self.most_servers, len(servers))
            self.most_running = max(self.most_running, len(running))
            self.samples += 1
            time.sleep(0.005)


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_200_concurrent_webhooks_never_exceed_max_size(scaling: ScalingCloud) -> None:
    scaling.create("web", heat_example(min=1, max=MAX_SIZE, desired=2))
    group_id = scaling.group("web/asg")["id"]
    url = scaling.outputs("web")["scale_up_url"]
    scaling.sim.set_delays(build_delay=0.3)
    start = threading.Barrier(CALLS)

    def call(_: int) -> tuple[int, dict]:
        start.wait(30)
        reply = scaling.post(url)
        return reply.status, reply.json()

    with Watcher(scaling, group_id) as watcher:
        with concurrent.futures.ThreadPoolExecutor(CALLS) as pool:
            replies = list(pool.map(call, range(CALLS)))
        group = scaling.wait_idle("web/asg")

    assert [status for status, _ in replies] == [202] * CALLS
    receipts = {body["receipt_id"] for _, body in replies}
    assert len(receipts) == CALLS and not any(body["duplicate"] for _, body in replies)
    assert (group["desired_capacity"], group["current_size"]) == (MAX_SIZE, MAX_SIZE)
    assert watcher.samples > 10
    assert watcher.most_servers == MAX_SIZE  # reached, never passed
    assert watcher.most_running <= 1

    events = scaling.service.list_scale_events(scaling.ctx, "web/asg", limit=1000)
    assert {e["receipt_id"] for e in events} == receipts  # every receipt accounted for
    assert {e["status"] for e in events} <= {"COMPLETE", "NOOP"}
    accepted = [e for e in events if e["desired_after"] != e["desired_before"]]
    assert sum(e["desired_after"] - e["desired_before"] for e in accepted) == MAX_SIZE - 2
    assert len(accepted) == MAX_SIZE - 2
    assert all(e["status"] == "COMPLETE" for e in accepted)
    decisions = [e["decision"] for e in scaling.service.explain_group(scaling.ctx, "web/asg", 1000)]
    assert any("coalesced" in d for d in decisions)  # triggers met a running flow
    assert any(d.endswith("clamped at max_size=10 -> no change") for d in decisions)

    # Converge flows ran one after the other: each was recorded only after the
    # previous one had finished.
    converges = [f for f in scaling.converge_flows(group_id) if f.operation == "converge"]
    assert all(f.state == flow_states.SUCCESS for f in converges)
    for before, after in itertools.pairwise(converges):
        assert before.finished_at <= after.created_at
    assert scaling.live_server_ids() == scaling.member_servers("web/asg")
    scaling.assert_no_orphans()
