"""``flowstack-nova-sim``: run the Nova simulator in the foreground.

::

    flowstack-nova-sim --port 8774 --build-delay 2 --state-file /tmp/nova-sim.json
    flowstack-nova-sim --config nova-sim.yaml        # JSON or YAML, SimulatorConfig keys

Command-line options override the config file. One log line per request goes to
stderr; SIGINT or SIGTERM stops it. Point clients at the printed compute endpoint
(token auth with any token), or at ``<url>/identity/v3`` for password auth.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from importlib import metadata
from types import FrameType

from flowstack.nova_sim.config import SimulatorConfig, load_config_file
from flowstack.nova_sim.errors import SimulatorConfigError, SimulatorError
from flowstack.nova_sim.server import NovaSimulator


def _version() -> str:
    """The installed distribution's version (the simulator imports nothing of flowstack)."""
    try:
        return metadata.version("openstack-flowstack")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowstack-nova-sim",
        description="A Nova (Compute API v2.1) simulator that python-novaclient talks to.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to bind (default 8774; 0 = any)")
    parser.add_argument("--config", metavar="FILE", help="JSON or YAML settings file")
    parser.add_argument("--state-file", help="JSON file the state is kept in across runs")
    parser.add_argument("--build-delay", type=float, help="seconds in BUILD before ACTIVE")
    parser.add_argument("--delete-delay", type=float, help="seconds before a delete completes")
    parser.add_argument(
        "--lb-provision-delay", type=float, help="seconds a load balancer is PENDING_CREATE/DELETE"
    )
    parser.add_argument(
        "--lb-update-delay", type=float, help="seconds PENDING_* after a pool or member change"
    )
    parser.add_argument("--debug", action="store_true", help="verbose logging")
    return parser


def load_config(args: argparse.Namespace) -> SimulatorConfig:
    data = load_config_file(args.config) if args.config else {}
    data.setdefault("port", 8774)
    config = SimulatorConfig.from_dict(data)
    return config.replace(
        host=args.host,
        port=args.port,
        state_file=args.state_file,
        build_delay=args.build_delay,
        delete_delay=args.delete_delay,
        lb_provision_delay=args.lb_provision_delay,
        lb_update_delay=args.lb_update_delay,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        simulator = NovaSimulator(load_config(args))
        simulator.start()
    except (SimulatorConfigError, SimulatorError) as exc:
        print(f"flowstack-nova-sim: {exc}", file=sys.stderr)
        return 2
    print(f"compute endpoint: {simulator.endpoint}", flush=True)
    print(f"load-balancer endpoint: {simulator.lb_endpoint}", flush=True)
    print(f"identity (optional): {simulator.identity_url}", flush=True)
    print(f"admin: {simulator.url}/_admin/servers", flush=True)

    stopped = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stopped.wait(0.5):
        pass
    simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
