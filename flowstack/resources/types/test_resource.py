"""OS::Heat::TestResource: a resource with controllable timing and failure.

Same properties as Heat's: ``value`` (stored, returned as ``output``),
``fail`` (the create fails once its wait is over), ``wait_secs`` and
``action_wait_secs`` (per action; -1 waits forever).  The wait is a real
poll loop, so orchestration, parallelism and resume can be exercised
without any cloud.
"""

from __future__ import annotations

import time
from typing import Any

from flowstack import exceptions
from flowstack.resources import base
from flowstack.schema import attributes
from flowstack.schema import properties as p

_WAIT = p.Schema(p.Schema.NUMBER, "Seconds to wait; defaults to wait_secs.")


class TestResource(base.Resource):
    __test__ = False  # not a pytest test class, whatever its name

    type_name = "OS::Heat::TestResource"
    description = "Stores a string; waits and fails on request, for testing orchestration."
    create_polls = True
    delete_polls = True
    properties_schema = {
        "value": p.Schema(p.Schema.STRING, "The string to store.", default="test_string"),
        "fail": p.Schema(
            p.Schema.BOOLEAN, "Make the create fail once its wait is over.", default=False
        ),
        "wait_secs": p.Schema(
            p.Schema.NUMBER, "Seconds each action waits (-1 is forever).", default=0
        ),
        "action_wait_secs": p.Schema(
            p.Schema.MAP,
            "Seconds to wait per action, overriding wait_secs.",
            schema={"create": _WAIT, "update": _WAIT, "delete": _WAIT},
        ),
    }
    attributes_schema = {
        "output": attributes.Attribute("The stored string, also the resource's reference."),
    }

    def handle_create(self, properties: dict[str, Any]) -> None:
        self.physical_id = f"{self.stack.name}-{self.name}-{self.stack.id[:8]}"
        self.data.update(
            value=properties["value"],
            fail=properties["fail"],
            delete_wait=_wait_secs(properties, "delete"),
        )
        self._start_wait(_wait_secs(properties, "create"))

    def check_create_complete(self) -> bool:
        if not self._waited():
            return False
        if self.data["fail"]:
            raise exceptions.ResourceFailure(
                resource=self.name, action="CREATE", reason=f"Test Resource failed {self.name}"
            )
        return True

    def handle_delete(self) -> None:
        self._start_wait(self.data.get("delete_wait", 0))

    def check_delete_complete(self) -> bool:
        return self._waited()

    def poll_delay(self, default: float) -> float:
        wait = self.data.get("wait_until")
        if wait is None:  # waits forever
            return default
        return max(0.0, min(default, wait - time.time()))

    def attributes(self) -> dict[str, Any]:
        return {"output": self.data.get("value")}

    def _start_wait(self, seconds: float) -> None:
        self.data["wait_until"] = None if seconds < 0 else time.time() + seconds

    def _waited(self) -> bool:
        wait = self.data.get("wait_until", 0)
        return wait is not None and time.time() >= wait


def _wait_secs(properties: dict[str, Any], action: str) -> float:
    per_action = (properties.get("action_wait_secs") or {}).get(action)
    return properties["wait_secs"] if per_action is None else per_action
