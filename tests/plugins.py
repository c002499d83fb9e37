"""Resource types that exist only for tests: real plugins with scripted behaviour."""

from __future__ import annotations

import random
import time
from typing import Any

from flowstack import exceptions
from flowstack.resources import base
from flowstack.schema import properties as p


class Undeletable(base.Resource):
    """Creates fine; every delete fails, like a cloud object stuck in ERROR."""

    type_name = "Test::Undeletable"
    properties_schema = {"fail_create": p.Schema(p.Schema.BOOLEAN, default=False)}

    def handle_create(self, properties: dict[str, Any]) -> None:
        self.physical_id = f"undeletable-{self.name}"
        if properties["fail_create"]:
            raise exceptions.ResourceFailure(
                resource=self.name, action="CREATE", reason="scripted create failure"
            )

    def handle_delete(self) -> None:
        raise exceptions.ResourceFailure(
            resource=self.name, action="DELETE", reason="the cloud refused to delete it"
        )


class Flaky(base.Resource):
    """Delete fails on its first attempt only (a transient error) when polled."""

    type_name = "Test::Flaky"
    delete_polls = True

    def handle_create(self, properties: dict[str, Any]) -> None:
        self.physical_id = f"flaky-{self.name}"

    def handle_delete(self) -> None:
        self.data["delete_checks"] = 0

    def check_delete_complete(self) -> bool:
        self.data["delete_checks"] = self.data.get("delete_checks", 0) + 1
        return self.data["delete_checks"] >= 3


class FailsInCreate(base.Resource):
    """Remote create refused after a random short delay: failures that coincide."""

    type_name = "Test::FailsInCreate"
    create_polls = True
    delete_polls = True

    def intent(self, properties: dict[str, Any]) -> dict[str, Any]:
        return {"marker": self.name}

    def handle_create(self, properties: dict[str, Any]) -> None:
        time.sleep(random.random() * 0.02)
        raise exceptions.ResourceFailure(resource=self.name, action="CREATE", reason="refused")


class Switchable(base.Resource):
    """Its create fails while ``BROKEN`` holds its name: a fault an operator can lift."""

    type_name = "Test::Switchable"
    BROKEN: set[str] = set()
    CREATED: list[str] = []

    def handle_create(self, properties: dict[str, Any]) -> None:
        if self.name in self.BROKEN:
            raise exceptions.ResourceFailure(
                resource=self.name, action="CREATE", reason="the cloud is broken"
            )
        self.CREATED.append(self.name)
        self.physical_id = f"switchable-{self.name}"
