"""Several resources failing at the same instant still end in a clean rollback.

TaskFlow's parallel engine sometimes stops with an atom left to revert
when failures coincide (~3% of such stacks, found by the Nova tests); the
runner resumes the flow from persistence.  Without that, some of these
stacks stay ROLLBACK_IN_PROGRESS.
"""

from __future__ import annotations

from collections import Counter

from tests.unit.conftest import Engine

TEMPLATE = (
    "heat_template_version: 2018-08-31\nresources:\n"
    + "".join(f"  f{n}: {{type: Test::FailsInCreate}}\n" for n in range(3))
    + "".join(
        f"  w{n}: {{type: OS::Heat::TestResource, properties: {{wait_secs: 0.05}}}}\n"
        for n in range(3)
    )
)


def test_simultaneous_failures_always_roll_back(engine: Engine) -> None:
    outcomes = Counter(engine.create(f"s{i}", TEMPLATE)["stack_status"] for i in range(40))
    assert outcomes == {"ROLLBACK_COMPLETE": 40}
