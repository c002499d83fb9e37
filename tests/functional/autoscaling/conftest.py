"""Scaling groups end to end: an engine, the Nova simulator over HTTP, and flowstack-api.

The engine runs in the test process (flows in threads, as the embedded
default does) on the database under test; policies' ``alarm_url`` point at a
real flowstack-api (waitress on a free port of 127.0.0.1) whose engine is
that same service, so a webhook travels exactly the path a monitoring
system's does: HTTP, token hash, one transaction, 202 with a receipt.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import string
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from oslo_config import cfg
from waitress import wasyncore
from waitress.server import create_server

from flowstack import context
from flowstack.api.app import make_app
from flowstack.api.batching import Batcher
from flowstack.clients import Clients
from flowstack.conf import nova as nova_conf
from flowstack.conf import octavia as octavia_conf
from flowstack.db import groups, migration, models, scale_events
from flowstack.execution.dispatch import InProcessDispatcher
from flowstack.nova_sim import NovaSimulator
from flowstack.resources.constraints import nova_constraints
from flowstack.resources.registry import Registry
from flowstack.resources.types.autoscaling_group import AutoScalingGroup
from flowstack.resources.types.heat_none import NoneResource
from flowstack.resources.types.nova_server import NovaServer
from flowstack.resources.types.octavia_pool_member import PoolMember
from flowstack.resources.types.scaling_policy import ScalingPolicy
from flowstack.resources.types.test_resource import TestResource
from flowstack.runtime.container import Runtime
from tests.conftest import scratch_database
from tests.engines import local_client

SETTLE_TIMEOUT = 90.0
DRAIN_TIMEOUT = 0.2  # [octavia] drain_timeout: a pool member's last requests
_FLOWS = models.Flow.__table__

#: The ASG part of Heat's canonical autoscaling example (heat-templates'
#: autoscaling.yaml), with the alarm_url outputs monitoring posts to.
HEAT_EXAMPLE = """
heat_template_version: 2016-10-14
description: A group of servers scaled up and down by two webhooks
parameters:
  flavor: {type: string, default: m1.tiny}
  image: {type: string, default: cirros}
resources:
  asg:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: $min
      max_size: $max
      desired_capacity: $desired
      cooldown: $cooldown
      resource:
        type: OS::Nova::Server
        properties:
          flavor: {get_param: flavor}
          image: {get_param: image}
          metadata: {"metering.server_group": {get_param: "OS::stack_id"}}
  scaleup_policy:
    type: OS::Heat::ScalingPolicy
    properties:
      adjustment_type: change_in_capacity
      auto_scaling_group_id: {get_resource: asg}
      cooldown: $policy_cooldown
      scaling_adjustment: $up
  scaledown_policy:
    type: OS::Heat::ScalingPolicy
    properties:
      adjustment_type: change_in_capacity
      auto_scaling_group_id: {get_resource: asg}
      cooldown: $policy_cooldown
      scaling_adjustment: -1
outputs:
  scale_up_url:
    description: POST here to add a server
    value: {get_attr: [scaleup_policy, alarm_url]}
  scale_dn_url:
    value: {get_attr: [scaledown_policy, alarm_url]}
  asg_size:
    value: {get_attr: [asg, current_size]}
  server_ips:
    value: {get_attr: [asg, outputs_list, first_address]}
  private_ips:
    value: {get_attr: [asg, outputs_list, networks, private, 0]}
"""


def heat_example(
    *,
    min: int = 1,
    max: int = 5,
    desired: int = 2,
    cooldown: int = 0,
    policy_cooldown: int = 0,
    up: int = 1,
) -> str:
    return string.Template(HEAT_EXAMPLE).substitute(
        min=min,
        max=max,
        desired=desired,
        cooldown=cooldown,
        policy_cooldown=policy_cooldown,
        up=up,
    )


class Reply:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class ScalingCloud:
    """The service, its dispatcher, the simulator and the webhook API in front of it."""

    def __init__(self, rt: Runtime, sim: NovaSimulator, clients: Clients) -> None:
        self.rt = rt
        self.sim = sim
        self.dispatcher = InProcessDispatcher(rt)
        self.service = local_client(
            rt, self.dispatcher, custom_constraints=nova_constraints(clients)
        )
        self.ctx = context.RequestContext(project_id="project-a", user_id="alice")

    # -- stacks ------------------------------------------------------------------------

    def create(self, name: str, template: str, **kwargs: Any) -> dict[str, Any]:
        flow_id = self.service.create_stack(self.ctx, name, template, **kwargs)["flow_id"]
        assert self.dispatcher.wait(flow_id, timeout=SETTLE_TIMEOUT) is not None, "flow stuck"
        return self.service.show_stack(self.ctx, name)

    def delete(self, name: str) -> dict[str, Any]:
        started = self.service.delete_stack(self.ctx, name)
        assert self.dispatcher.wait(started["flow_id"], timeout=SETTLE_TIMEOUT) is not None
        return self.service.show_stack(self.ctx, started["id"])

    def outputs(self, stack: str) -> dict[str, Any]:
        return {
            o["output_key"]: o["output_value"] for o in self.service.show_output(self.ctx, stack)
        }

    # -- groups ------------------------------------------------------------------------

    def group(self, reference: str) -> dict[str, Any]:
        return self.service.show_group(self.ctx, reference)

    def wait_idle(self, reference: str, timeout: float = SETTLE_TIMEOUT) -> dict[str, Any]:
        """The group once no flow runs and no accepted trigger waits."""
        group_id = self.group(reference)["id"]
        deadline = time.monotonic() + timeout
        while True:
            self.dispatcher.wait_all()
            with self.rt.db.read_connection() as connection:
                row = groups.get(connection, group_id)
                waiting = scale_events.open_events(connection, group_id)
            if row.active_flow_id is None and not waiting:
                return self.group(group_id)
            assert time.monotonic() < deadline, f"group still busy: {row.active_flow_id}"
            time.sleep(0.05)

    def member_servers(self, reference: str) -> set[str]:
        return {
            m["physical_id"]
            for m in self.group(reference)["members"]
            if m["status"] == "CREATE_COMPLETE"
        }

    def converge_flows(self, group_id: str) -> list[sa.Row]:
        with self.rt.db.read_connection() as connection:
            return connection.execute(
                sa.select(_FLOWS).where(_FLOWS.c.stack_id == group_id).order_by(_FLOWS.c.created_at)
            ).all()

    def live_server_ids(self) -> set[str]:
        return {record["id"] for record in self.sim.live_servers()}

    def held_server_ids(self) -> set[str]:
        """Servers that live stacks hold, members of their groups included."""
        held = set()
        for stack in self.service.list_stacks(self.ctx):
            for resource in self.service.list_resources(self.ctx, stack["id"]):
                if resource["resource_type"] == NovaServer.type_name and resource[
                    "resource_status"
                ] not in ("DELETE_COMPLETE", "INIT_COMPLETE"):
                    held.add(resource["physical_resource_id"])
            for group in self.service.list_groups(self.ctx, stack["id"]):
                detail = self.group(group["id"])
                for member in detail["members"]:
                    if not member["physical_id"]:
                        continue
                    if not detail["member_type"].endswith(".yaml"):
                        held.add(member["physical_id"])
                        continue
                    # A template member: its nested stack holds the server.
                    for part in self.service.list_resources(self.ctx, member["physical_id"]):
                        if (
                            part["resource_type"] == NovaServer.type_name
                            and part["physical_resource_id"]
                        ):
                            held.add(part["physical_resource_id"])
        return held

    def assert_no_orphans(self) -> None:
        live, held = self.live_server_ids(), self.held_server_ids()
        assert live == held, f"in Nova: {sorted(live)}; held: {sorted(held)}"

    # -- webhooks ------------------------------------------------------------------------

    def post(self, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        """POST to a webhook URL over HTTP, as Aodh or Alertmanager would."""
        parsed = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        data = b"" if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        try:
            connection.request("POST", parsed.path, body=data, headers=sent)
            response = connection.getresponse()
            return Reply(response.status, response.read())
        finally:
            connection.close()


@contextlib.contextmanager
def webhook_api(conf: cfg.ConfigOpts, signal: Any) -> Iterator[str]:
    """flowstack-api's app behind waitress on a free port; yields its base URL."""
    socket_map: dict[Any, Any] = {}
    server = create_server(
        make_app(signal, conf), map=socket_map, host="127.0.0.1", port=0, threads=16
    )
    thread = threading.Thread(target=server.run, name="webhook-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(socket_map))
        except OSError:  # the trigger's pipe is already gone: close from here
            wasyncore.close_all(socket_map)
        thread.join(10)
        server.task_dispatcher.shutdown()


def registry() -> Registry:
    return Registry(
        [NoneResource, TestResource, NovaServer, PoolMember, AutoScalingGroup, ScalingPolicy]
    )


@pytest.fixture(params=["sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The database under test: SQLite by default, all three where a test asks."""
    with scratch_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sim() -> Iterator[NovaSimulator]:
    with NovaSimulator(build_delay=0.05, delete_delay=0.05) as simulator:
        yield simulator


@pytest.fixture
def scaling(conf: cfg.ConfigOpts, database: str, sim: NovaSimulator) -> Iterator[ScalingCloud]:
    nova_conf.register_opts(conf)
    conf.set_override("api_retries", 3, group="nova")
    conf.set_override("timeout", 10, group="nova")
    conf.set_override("connection", database, group="database")
    conf.set_override("rate_limit_per_webhook", 0, group="api")
    octavia_conf.register_opts(conf)
    conf.set_override("endpoint_override", sim.lb_endpoint, group="octavia")
    conf.set_override("drain_timeout", DRAIN_TIMEOUT, group="octavia")
    conf.set_override("timeout", 10, group="octavia")
    clients = Clients(conf, endpoint_override=sim.endpoint)
    rt = Runtime.from_conf(conf, registry=registry(), clients=clients)
    migration.sync(rt.db)
    cloud = ScalingCloud(rt, sim, clients)

    # As flowstack-api sends them: the calls that arrive together, in one batch.
    signal = Batcher(lambda calls: cloud.service.signal_webhooks(cloud.ctx, calls))
    try:
        with webhook_api(conf, signal) as base_url:
            conf.set_override("public_url", base_url, group="api")
            yield cloud
            cloud.dispatcher.wait_all()
    finally:
        signal.close()
        rt.close()
        clients.close()
