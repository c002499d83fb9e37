"""Property: whatever transient faults Nova throws, stacks end whole or rolled back.

Hypothesis draws a mix of injected faults (build errors, API 500/503 on
create, show and delete, lost create responses, a quota, deletes that fail
once after being accepted) and a few small stacks created concurrently.
Every fault is transient or bounded, so every rollback can finish; the
invariants are that each stack ends CREATE_COMPLETE or ROLLBACK_COMPLETE,
that the servers alive in the simulator are exactly those live stacks
hold, and that deleting the stacks leaves no server at all.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.functional.resources.conftest import API_RETRIES, Cloud

_names = itertools.count()

# At most API_RETRIES failures in a row can hit any one call, so that only
# the create (which may legitimately fail) and never the rollback gives up.
_times = st.integers(min_value=1, max_value=API_RETRIES - 1)
_status = st.sampled_from([500, 503])


def _api(method: str, path: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"method": st.just(method), "path": st.just(path), "status": _status, "times": _times}
    )


fault_mixes = st.fixed_dictionaries(
    {
        "seed": st.integers(min_value=0, max_value=2**16),
        "build_errors": st.lists(
            st.fixed_dictionaries({"rate": st.sampled_from([0.2, 0.5])}), max_size=1
        ),
        "api_errors": st.lists(
            st.one_of(
                _api("POST", "/servers$"),
                _api("GET", "/servers/[^/]+$"),
                _api("DELETE", "/servers/"),
            ),
            max_size=2,
            unique_by=lambda rule: rule["method"],
        ),
        "lost_responses": st.lists(
            st.fixed_dictionaries({"mode": st.sampled_from(["error", "drop"]), "times": _times}),
            max_size=1,
        ),
        "delete_errors": st.lists(
            st.fixed_dictionaries({"mode": st.just("async"), "times": st.just(1)}), max_size=1
        ),
        "quota": st.one_of(
            st.just({"instances": None}),
            st.fixed_dictionaries({"instances": st.integers(min_value=1, max_value=6)}),
        ),
    }
)


def _template(count: int) -> str:
    lines = ["heat_template_version: 2018-08-31", "resources:"]
    for n in range(count):
        lines += [f"  s{n}:", "    type: OS::Nova::Server"]
        lines.append("    properties: {image: cirros, flavor: m1.tiny}")
    return "\n".join(lines) + "\n"


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(faults=fault_mixes, sizes=st.lists(st.integers(1, 3), min_size=1, max_size=3))
def test_every_stack_ends_whole_or_rolled_back_and_nothing_is_orphaned(
    cloud: Cloud, faults: dict[str, Any], sizes: list[int]
) -> None:
    cloud.sim.reset()
    cloud.sim.set_faults(faults)
    names = [f"p{next(_names)}" for _ in sizes]
    flows = [cloud.start(name, _template(size)) for name, size in zip(names, sizes, strict=True)]
    outcomes = {
        name: cloud.finish(flow, name)["stack_status"]
        for name, flow in zip(names, flows, strict=True)
    }
    assert set(outcomes.values()) <= {"CREATE_COMPLETE", "ROLLBACK_COMPLETE"}, outcomes
    # Only this example's stacks: a failed example must not fail the next ones.
    assert cloud.live_server_ids() == cloud.referenced_server_ids(names), outcomes

    cloud.sim.clear_faults()
    for name in names:
        assert cloud.delete(name)["stack_status"] == "DELETE_COMPLETE"
    assert cloud.sim.live_servers() == []
