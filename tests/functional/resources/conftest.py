"""An embedded engine whose Nova is a NovaSimulator spoken to over HTTP.

The same shape as ``tests/unit/conftest.py``, with the server type
registered and the Nova custom constraints given to the service.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from oslo_config import cfg

from flowstack import context, status
from flowstack.clients import Clients
from flowstack.conf import nova as nova_conf
from flowstack.db import migration
from flowstack.execution.dispatch import InProcessDispatcher
from flowstack.nova_sim import NovaSimulator
from flowstack.resources.constraints import nova_constraints
from flowstack.resources.registry import Registry
from flowstack.resources.types.heat_none import NoneResource
from flowstack.resources.types.nova_server import NovaServer
from flowstack.resources.types.random_string import RandomString
from flowstack.resources.types.test_resource import TestResource
from flowstack.runtime.container import Runtime
from tests.engines import local_client

SERVER = NovaServer.type_name
API_RETRIES = 3
FLOW_TIMEOUT = 60


class Cloud:
    """A stack service, its dispatcher and the simulator behind it."""

    def __init__(self, rt: Runtime, sim: NovaSimulator, clients: Clients) -> None:
        self.rt = rt
        self.sim = sim
        self.clients = clients
        self.dispatcher = InProcessDispatcher(rt)
        self.service = local_client(
            rt, self.dispatcher, custom_constraints=nova_constraints(clients)
        )
        self.ctx = context.RequestContext(project_id="project-a", user_id="alice")

    def start(self, name: str, template: str, **kwargs: Any) -> str:
        """Start creating a stack; returns its flow id."""
        return str(self.service.create_stack(self.ctx, name, template, **kwargs)["flow_id"])

    def finish(self, flow_id: str, stack: str) -> dict[str, Any]:
        assert self.dispatcher.wait(flow_id, timeout=FLOW_TIMEOUT) is not None, "flow stuck"
        return self.service.show_stack(self.ctx, stack)

    def create(self, name: str, template: str, **kwargs: Any) -> dict[str, Any]:
        return self.finish(self.start(name, template, **kwargs), name)

    def delete(self, name_or_id: str) -> dict[str, Any]:
        started = self.service.delete_stack(self.ctx, name_or_id)
        return self.finish(started["flow_id"], started["id"])

    def resources(self, stack: str) -> dict[str, dict[str, Any]]:
        return {r["resource_name"]: r for r in self.service.list_resources(self.ctx, stack)}

    def live_server_ids(self) -> set[str]:
        return {record["id"] for record in self.sim.live_servers()}

    def referenced_server_ids(self, stacks: list[str] | None = None) -> set[str]:
        """Physical ids of servers that live stacks (or the named ones) say they hold."""
        held = set()
        for stack in self.service.list_stacks(self.ctx):
            if stacks is not None and stack["stack_name"] not in stacks:
                continue
            for resource in self.service.list_resources(self.ctx, stack["id"]):
                if resource["resource_type"] != SERVER:
                    continue
                if resource["resource_status"] == status.combined(status.DELETE, status.COMPLETE):
                    continue
                if resource["physical_resource_id"]:
                    held.add(resource["physical_resource_id"])
        return held


def make_runtime(conf: cfg.ConfigOpts, clients: Clients) -> Runtime:
    registry = Registry([NoneResource, TestResource, RandomString, NovaServer])
    rt = Runtime.from_conf(conf, registry=registry, clients=clients)
    migration.sync(rt.db)
    return rt


@pytest.fixture
def nova_settings(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    nova_conf.register_opts(conf)
    conf.set_override("api_retries", API_RETRIES, group="nova")
    conf.set_override("timeout", 5, group="nova")
    return conf


@pytest.fixture
def sim() -> Iterator[NovaSimulator]:
    with NovaSimulator(build_delay=0.05, delete_delay=0.05) as simulator:
        yield simulator


@pytest.fixture
def cloud(nova_settings: cfg.ConfigOpts, sim: NovaSimulator) -> Iterator[Cloud]:
    clients = Clients(nova_settings, endpoint_override=sim.endpoint)
    rt = make_runtime(nova_settings, clients)
    built = Cloud(rt, sim, clients)
    yield built
    built.dispatcher.wait_all()
    rt.close()
    clients.close()
