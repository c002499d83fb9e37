"""An embedded engine on a scratch SQLite file, and helpers to drive stacks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from oslo_config import cfg

from flowstack import context
from flowstack.db import migration
from flowstack.execution.dispatch import InProcessDispatcher
from flowstack.resources.registry import Registry
from flowstack.resources.types.heat_none import NoneResource
from flowstack.resources.types.random_string import RandomString
from flowstack.resources.types.test_resource import TestResource
from flowstack.runtime.container import Runtime
from tests import plugins
from tests.engines import Redirect, local_client

BUILTIN = [NoneResource, TestResource, RandomString]


class Engine:
    """The service, its dispatcher and a request context, as a test uses them."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.dispatcher = InProcessDispatcher(rt)
        #: Where the engine sends the flows it records (a test may redirect them).
        self.route = Redirect(self.dispatcher)
        self.service = local_client(rt, self.route)
        self.ctx = context.RequestContext(project_id="project-a", user_id="alice")

    def create(self, name: str, template: str, **kwargs: Any) -> dict[str, Any]:
        """Create a stack and wait for its flow; returns the final stack view."""
        created = self.service.create_stack(self.ctx, name, template, **kwargs)
        assert self.dispatcher.wait(created["flow_id"], timeout=60) is not None
        return self.service.show_stack(self.ctx, created["id"])

    def delete(self, name_or_id: str) -> dict[str, Any]:
        started = self.service.delete_stack(self.ctx, name_or_id)
        assert self.dispatcher.wait(started["flow_id"], timeout=60) is not None
        return self.service.show_stack(self.ctx, started["id"])

    def events(self, stack: str) -> list[tuple[str, str, str]]:
        """(resource, status, reason) of every event, oldest first."""
        return [
            (e["resource_name"], e["resource_status"], e["resource_status_reason"])
            for e in self.service.list_events(self.ctx, stack)
        ]

    def statuses(self, stack: str) -> dict[str, str]:
        return {
            r["resource_name"]: r["resource_status"]
            for r in self.service.list_resources(self.ctx, stack)
        }


@pytest.fixture
def engine(conf: cfg.ConfigOpts) -> Iterator[Engine]:
    registry = Registry(
        [*BUILTIN, plugins.Undeletable, plugins.Flaky, plugins.FailsInCreate, plugins.Switchable]
    )
    rt = Runtime.from_conf(conf, registry=registry)
    migration.sync(rt.db)
    yield Engine(rt)
    rt.close()
