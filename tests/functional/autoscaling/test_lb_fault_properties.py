"""Property: whatever transient faults Nova and Octavia throw, pool and servers stay in step.

Hypothesis draws a mix of faults (build errors, 5xx and 409 "immutable"
answers on member calls, a member create that ends in ERROR) and a
scale-out then a scale-in of a group whose members are a server and its
pool member, with or without keep_partial_progress.  An event may fail
(without keep_partial_progress); the invariants are that the group ends
idle, that the pool holds exactly one ACTIVE member per live server of the
group, that nothing is orphaned, and that deleting the stack leaves
neither.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.functional.autoscaling.conftest import ScalingCloud
from tests.functional.autoscaling.test_lb_members import (
    FILES,
    assert_pool_matches_servers,
    server_addresses,
    stack,
)

_names = itertools.count()
_times = st.integers(min_value=1, max_value=2)  # within [octavia]/[nova] api_retries


def _member_call(method: str, path: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "method": st.just(method),
            "path": st.just(path),
            "status": st.sampled_from([500, 503]),
            "times": _times,
        }
    )


faults = st.fixed_dictionaries(
    {
        "seed": st.integers(min_value=0, max_value=2**16),
        "build_errors": st.lists(
            st.fixed_dictionaries({"rate": st.sampled_from([0.2, 0.5])}), max_size=1
        ),
        "lb_errors": st.lists(
            st.one_of(
                _member_call("POST", "/members$"),
                _member_call("PUT", "/members/"),
                _member_call("DELETE", "/members/"),
            ),
            max_size=2,
            unique_by=lambda rule: rule["method"],
        ),
        "lb_immutable": st.lists(
            st.fixed_dictionaries(
                {
                    "resource": st.just("member"),
                    "operation": st.sampled_from(["create", "update", "delete"]),
                    "times": _times,
                }
            ),
            max_size=1,
        ),
        "lb_provisioning_errors": st.lists(
            st.fixed_dictionaries(
                {"resource": st.just("member"), "operation": st.just("create"), "times": _times}
            ),
            max_size=1,
        ),
    }
)


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(faults=faults, keep_partial=st.booleans())
def test_pool_and_servers_stay_in_step_under_faults(
    scaling: ScalingCloud, faults: dict[str, Any], keep_partial: bool
) -> None:
    scaling.sim.clear_faults()
    pool = str(scaling.sim.create_loadbalancer(f"lb{next(_names)}")["pools"][0]["id"])
    name = f"web{next(_names)}"
    text = stack(desired=2)  # so that the scale-in always has a member to remove
    if keep_partial:
        text = text.replace(
            "      min_size: 1\n", "      min_size: 1\n      keep_partial_progress: true\n"
        )
    created = scaling.create(name, text, parameters={"pool": pool}, files=FILES)
    assert created["stack_status"] == "CREATE_COMPLETE", created["stack_status_reason"]
    group = f"{name}/asg"
    urls = scaling.outputs(name)

    scaling.sim.set_faults(faults)
    for url in (urls["up_url"], urls["down_url"]):
        reply = scaling.post(url)
        assert reply.status == 202
        settled = scaling.wait_idle(group)
        assert settled["current_size"] == len(server_addresses(scaling)), settled
        assert_pool_matches_servers(scaling, pool, settled["current_size"])
        event = scaling.service.show_scale_event(scaling.ctx, reply.json()["receipt_id"])
        if keep_partial:  # a member that failed is given up; the event still completes
            assert event["status"] == "COMPLETE", event

    scaling.sim.clear_faults()
    deleted = scaling.delete(name)
    assert deleted["stack_status"] == "DELETE_COMPLETE", deleted["stack_status_reason"]
    assert scaling.sim.pool_members(pool) == []
    assert scaling.sim.live_servers() == []
