"""How fast flowstack builds servers: the Nova simulator with a fixed build time.

Prints figures; asserts nothing about time.  Measures, on a scratch SQLite
file and an in-process Nova simulator spoken to over HTTP:

1. one stack of ``--servers`` servers (default 100) with a ``--build-secs``
   simulated build (default 1 s): wall time to CREATE_COMPLETE and its ratio
   to the build time (the critical path), process CPU time, and the wall
   time to DELETE_COMPLETE;
2. ``--stacks`` stacks (default 20) of ``--per-stack`` servers (default 10)
   submitted at once: total wall time and p50/p99 time to CREATE_COMPLETE.

Target (issue 3): 100 servers COMPLETE within 3x the simulated build time.

    .venv/bin/python bench/nova_servers.py [--poll-interval 1.0] [--max-workers 64]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time

from flowstack import threads_only

threads_only.enforce()  # before TaskFlow loads


# isort: split
from flowstack import context
from flowstack.clients import Clients
from flowstack.conf import loading
from flowstack.db import migration
from flowstack.engine.stack_service import StackService
from flowstack.execution.dispatch import InProcessDispatcher
from flowstack.nova_sim import NovaSimulator
from flowstack.resources.constraints import nova_constraints
from flowstack.runtime.container import Runtime


def server_template(count: int) -> str:
    lines = ["heat_template_version: 2018-08-31", "resources:"]
    for n in range(count):
        lines.append(f"  server{n}:")
        lines.append("    type: OS::Nova::Server")
        lines.append("    properties: {image: cirros, flavor: m1.tiny}")
    return "\n".join(lines) + "\n"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=100)
    parser.add_argument("--build-secs", type=float, default=1.0)
    parser.add_argument("--delete-secs", type=float, default=0.5)
    parser.add_argument("--stacks", type=int, default=20)
    parser.add_argument("--per-stack", type=int, default=10)
    parser.add_argument("--poll-interval", type=float, default=None, help="[engine] poll_interval")
    parser.add_argument("--max-workers", type=int, default=None, help="[engine] max_workers")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    conf = loading.load([], config_files=[], state_path=tempfile.mkdtemp(prefix="fs-bench-"))
    if args.poll_interval is not None:
        conf.set_override("poll_interval", args.poll_interval, group="engine")
    if args.max_workers is not None:
        conf.set_override("max_workers", args.max_workers, group="engine")
    ok = True
    with NovaSimulator(build_delay=args.build_secs, delete_delay=args.delete_secs) as sim:
        clients = Clients(conf, endpoint_override=sim.endpoint)
        rt = Runtime.from_conf(conf, clients=clients)
        migration.sync(rt.db)
        dispatcher = InProcessDispatcher(rt)
        service = StackService(rt, dispatcher, custom_constraints=nova_constraints(clients))
        ctx = context.embedded()
        try:
            print(
                f"poll_interval={conf.engine.poll_interval}s max_workers={conf.engine.max_workers} "
                f"build={args.build_secs}s delete={args.delete_secs}s"
            )
            # 1. one big stack
            started, cpu = time.monotonic(), time.process_time()
            created = service.create_stack(ctx, "big", server_template(args.servers))
            dispatcher.wait(created["flow_id"])
            wall, cpu = time.monotonic() - started, time.process_time() - cpu
            state = service.show_stack(ctx, "big")["stack_status"]
            ok &= state == "CREATE_COMPLETE"
            print(
                f"{args.servers} servers: {state} in {wall:.2f} s wall "
                f"({wall / args.build_secs:.2f}x the {args.build_secs:g} s build; target <= 3x), "
                f"{cpu:.2f} s CPU ({1000 * cpu / args.servers:.1f} ms per server)"
            )
            started = time.monotonic()
            deleting = service.delete_stack(ctx, "big")
            dispatcher.wait(deleting["flow_id"])
            state = service.show_stack(ctx, created["id"])["stack_status"]
            ok &= state == "DELETE_COMPLETE"
            print(
                f"{args.servers} servers: {state} in {time.monotonic() - started:.2f} s wall; "
                f"servers left in the simulator: {len(sim.live_servers())}"
            )

            # 2. many stacks at once
            template = server_template(args.per_stack)
            started, cpu = time.monotonic(), time.process_time()
            submitted = [
                service.create_stack(ctx, f"many-{i}", template) for i in range(args.stacks)
            ]
            for stack in submitted:
                dispatcher.wait(stack["flow_id"])
            latencies = []
            for stack in submitted:
                shown = service.show_stack(ctx, stack["id"])
                ok &= shown["stack_status"] == "CREATE_COMPLETE"
                latencies.append(_time_to_complete(service, ctx, stack["id"]))
            wall, cpu = time.monotonic() - started, time.process_time() - cpu
            print(
                f"{args.stacks} stacks x {args.per_stack} servers at once: all done in "
                f"{wall:.2f} s wall, {cpu:.2f} s CPU; per stack p50 "
                f"{statistics.median(latencies):.2f} s, p99 {percentile(latencies, 0.99):.2f} s"
            )
        finally:
            dispatcher.wait_all()
            rt.close()
    if not ok:
        print("ERROR: a stack did not reach the expected state", file=sys.stderr)
    return 0 if ok else 1


def _time_to_complete(service: StackService, ctx: context.RequestContext, stack_id: str) -> float:
    """Seconds from the stack's first event (accepted) to its last (CREATE_COMPLETE)."""
    events = service.list_events(ctx, stack_id)
    stack_events = [e for e in events if e["resource_type"] == "OS::Heat::Stack"]
    start = _seconds(stack_events[0]["event_time"])
    end = _seconds(stack_events[-1]["event_time"])
    return end - start


def _seconds(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.rstrip("Z")).timestamp()


if __name__ == "__main__":
    sys.exit(main())
