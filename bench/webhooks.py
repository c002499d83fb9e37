"""Webhooks: latency to 202 under load, and time from a webhook to new members ACTIVE.

Prints figures; asserts nothing about time.  Starts, as separate processes on
this machine, a Nova simulator, one ``flowstack-engine`` (RPC on RabbitMQ),
one ``flowstack-worker`` (Redis jobboard) and ``flowstack-api`` (waitress),
all on a scratch PostgreSQL database: the production path of a webhook is
HTTP -> flowstack-api -> RPC -> engine -> one database transaction -> 202.

1. ``--rate`` requests/s (default 200) for ``--seconds`` (default 10), open
   loop (each request leaves at its scheduled time, on a new connection, as
   monitoring systems send them), against two groups:

   a. a group at max_size: every call is a recorded "no change" decision
      (an alarm storm on a saturated group);
   b. a group of ``OS::Heat::None`` members with room to grow: every call is
      accepted and coalesced into the running converge flows, which the
      worker runs meanwhile on the same two cores.

   Latency is measured from sending to the 202; p50, p99 and max, and the
   rate achieved.
2. ``+10`` servers with ``--build-secs`` (default 1 s) simulated builds: time
   from the POST to its 202, to all 10 new servers ACTIVE in Nova (observed
   every 20 ms through the simulator's admin view), and to the scale event
   COMPLETE.  Median of ``--samples`` (default 3) scale-outs.

Targets (issue 6): p99 to 202 under 50 ms at 200 requests/s; +10 members
ACTIVE within 3x the simulated build time.

    .venv/bin/python bench/webhooks.py [--rate 200 --seconds 10 --build-secs 1]

Needs RabbitMQ, Redis and PostgreSQL on 127.0.0.1 (the same as the tests).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import distributed as dist  # bench/distributed.py: deployment helpers

from flowstack import threads_only

threads_only.enforce()  # before TaskFlow loads

from flowstack import context
from flowstack.conf import loading
from flowstack.db import migration
from flowstack.db.session import Database
from flowstack.resources.types.nova_server import TAG_STACK
from flowstack.rpc.client import EngineClient

SATURATED = """
heat_template_version: 2016-10-14
resources:
  asg:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 1
      max_size: 2
      desired_capacity: 2
      resource: {type: OS::Heat::None}
  up:
    type: OS::Heat::ScalingPolicy
    properties: {auto_scaling_group_id: {get_resource: asg},
                 adjustment_type: change_in_capacity, scaling_adjustment: 1}
outputs:
  url: {value: {get_attr: [up, alarm_url]}}
"""
GROWING = SATURATED.replace("max_size: 2", "max_size: 100000").replace(
    "desired_capacity: 2", "desired_capacity: 1"
)
SERVERS = """
heat_template_version: 2016-10-14
resources:
  asg:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 1
      max_size: 100
      desired_capacity: 1
      resource: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}
  up:
    type: OS::Heat::ScalingPolicy
    properties: {auto_scaling_group_id: {get_resource: asg},
                 adjustment_type: change_in_capacity, scaling_adjustment: 10}
outputs:
  url: {value: {get_attr: [up, alarm_url]}}
"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def post(url: str) -> tuple[int, str]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("POST", parts.path, b"", {"Content-Type": "application/json"})
        response = connection.getresponse()
        body = response.read()
        return response.status, json.loads(body).get("receipt_id", "") if body else ""
    finally:
        connection.close()


def open_loop(url: str, rate: float, seconds: float) -> tuple[list[float], list[int], float]:
    """Send ``rate`` requests per second for ``seconds``; (latencies, statuses, wall)."""
    total = int(rate * seconds)
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    next_slot = iter(range(total))
    start = time.monotonic() + 0.2

    def sender() -> None:
        while True:
            with lock:
                slot = next(next_slot, None)
            if slot is None:
                return
            delay = start + slot / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent = time.monotonic()
            status, _ = post(url)
            took = time.monotonic() - sent
            with lock:
                latencies.append(took)
                statuses.append(status)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(48)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses, time.monotonic() - start


def outputs(client: EngineClient, ctx: context.RequestContext, stack: str) -> dict:
    return {o["output_key"]: o["output_value"] for o in client.show_output(ctx, stack)}


def create(client: EngineClient, ctx: context.RequestContext, name: str, text: str) -> dict:
    created = client.create_stack(ctx, name, text)
    stack = dist.follow(client, ctx, created["id"])
    if stack["stack_status"] != "CREATE_COMPLETE":
        raise RuntimeError(f"{name}: {stack['stack_status_reason']}")
    return outputs(client, ctx, name)


def live_active(sim_url: str, group_id: str) -> int:
    with urllib.request.urlopen(f"{sim_url}/_admin/servers?live=true", timeout=10) as answer:  # noqa: S310
        servers = json.load(answer)["servers"]
    return sum(
        1 for s in servers if s["metadata"].get(TAG_STACK) == group_id and s["status"] == "ACTIVE"
    )


def scale_out_once(
    client: EngineClient, ctx: context.RequestContext, sim_url: str, url: str, group_id: str
) -> tuple[float, float, float]:
    before = live_active(sim_url, group_id)
    sent = time.monotonic()
    status, receipt = post(url)
    accepted = time.monotonic() - sent
    if status != 202:
        raise RuntimeError(f"webhook answered {status}")
    active = None
    while True:
        now = time.monotonic() - sent
        if active is None and live_active(sim_url, group_id) >= before + 10:
            active = now
        if active is not None:
            event = client.show_scale_event(ctx, receipt)
            if event["status"] in ("COMPLETE", "FAILED"):
                return accepted, active, time.monotonic() - sent
        if now > 120:
            raise TimeoutError("the scale-out did not finish")
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--build-secs", type=float, default=1.0)
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="fs-webhooks-"))
    sim_port, api_port = dist.free_port(), dist.free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    with dist.scratch_postgres() as db_url:
        deployment = dist.Deployment(workdir, db_url, sim_port, args)
        with deployment.config.open("a") as config:
            config.write(
                f"[api]\nbind_port = {api_port}\npublic_url = http://127.0.0.1:{api_port}\n"
                "threads = 32\nrate_limit_per_webhook = 0\n"
            )
        migration.sync(Database(db_url))
        try:
            deployment.start(
                "nova-sim",
                "-m",
                "flowstack.nova_sim.cli",
                "--port",
                str(sim_port),
                "--build-delay",
                str(args.build_secs),
                "--delete-delay",
                "0.2",
            )
            config = ["--config-file", str(deployment.config)]
            deployment.start("engine", "-m", "flowstack.cmd.engine", *config)
            deployment.start_worker("worker-0")
            deployment.start("api", "-m", "flowstack.cmd.api", *config)
            conf = loading.load([], config_files=[str(deployment.config)])
            ctx = context.RequestContext(project_id="bench", user_id="bench")
            conf.set_override("call_timeout", 2, group="rpc")
            probe = EngineClient.from_conf(conf)
            dist.wait_until(lambda: dist._answers(probe, ctx), 60, "the engine never answered")
            probe.close()
            conf.clear_override("call_timeout", group="rpc")
            client = EngineClient.from_conf(conf)
            dist.wait_until(
                lambda: _healthy(f"http://127.0.0.1:{api_port}"), 60, "the API never answered"
            )

            print(
                f"flowstack-api (waitress, 32 threads) -> RPC -> engine -> PostgreSQL; "
                f"{args.rate:g} requests/s for {args.seconds:g} s, open loop, new connection each"
            )
            for label, text in (("a. group at max_size", SATURATED), ("b. growing", GROWING)):
                url = create(client, ctx, label[0] + "-load", text)["url"]
                latencies, statuses, wall = open_loop(url, args.rate, args.seconds)
                bad = len([s for s in statuses if s != 202])
                print(
                    f"1{label}: {len(latencies)} requests in {wall:.1f} s "
                    f"({len(latencies) / wall:.0f}/s), to 202: p50 "
                    f"{1000 * statistics.median(latencies):.1f} ms, p99 "
                    f"{1000 * percentile(latencies, 0.99):.1f} ms, max "
                    f"{1000 * max(latencies):.1f} ms; not 202: {bad} (target p99 < 50 ms)"
                )
            group = client.show_group(ctx, "b-load/asg")
            print(
                f"   growing group afterwards: desired {group['desired_capacity']}, "
                f"generation {group['generation']}"
            )

            url = create(client, ctx, "servers", SERVERS)["url"]
            group_id = client.show_group(ctx, "servers/asg")["id"]
            samples = []
            for _ in range(args.samples):
                samples.append(scale_out_once(client, ctx, sim_url, url, group_id))
            accepted, active, complete = (statistics.median(s) for s in zip(*samples, strict=True))
            print(
                f"2. +10 servers, {args.build_secs:g} s builds (median of {args.samples}): "
                f"202 after {1000 * accepted:.0f} ms, all 10 ACTIVE after {active:.2f} s "
                f"({active / args.build_secs:.2f}x the build time; target <= 3x), "
                f"scale event COMPLETE after {complete:.2f} s"
            )
            client.close()
        finally:
            deployment.stop()
    return 0


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:  # noqa: S310
            return answer.status == 200
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
