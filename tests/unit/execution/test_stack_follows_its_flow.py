"""A stack's status follows its own current flow, never an older one that ends late."""

from __future__ import annotations

from flowstack.execution import runner
from tests.unit.conftest import Engine

TEMPLATE = """
heat_template_version: 2018-08-31
resources:
  a: {type: OS::Heat::TestResource, properties: {value: a}}
"""


class Hold:
    """Records the flows the engine would run, and runs none."""

    def dispatch(self, flow_id: str) -> None:
        self.flow_id = flow_id


def test_a_create_flow_ending_after_the_delete_began_leaves_the_delete_alone(
    engine: Engine,
) -> None:
    """Seen in distributed mode: DELETE_FAILED "flow <create> ended SUCCESS" while the
    delete went on to DELETE_COMPLETE.  The create's runner settles its stack last,
    after its tasks marked it CREATE_COMPLETE; a delete can start in between."""
    created = engine.create("web", TEMPLATE)
    assert created["stack_status"] == "CREATE_COMPLETE"
    [create_flow] = [f["id"] for f in engine.service.list_flows(engine.ctx, stack="web")]
    hold = Hold()
    engine.route.target = hold
    engine.service.delete_stack(engine.ctx, "web")  # recorded, not run yet

    # The create flow's runner reaches its end only now (claimed again, as after a
    # lost claim), while the delete is in progress.
    assert runner.run(engine.rt, create_flow, owner="late-runner") == "SUCCESS"
    shown = engine.service.show_stack(engine.ctx, created["id"])
    assert shown["stack_status"] == "DELETE_IN_PROGRESS", shown["stack_status_reason"]

    assert runner.run(engine.rt, hold.flow_id) == "SUCCESS"
    assert engine.service.show_stack(engine.ctx, created["id"])["stack_status"] == (
        "DELETE_COMPLETE"
    )
