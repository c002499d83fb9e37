"""Idle CPU of one flowstack-engine and one flowstack-worker, on each jobboard backend.

Prints figures; asserts nothing.  For each backend (Redis, Redis through
Sentinel, etcd, ZooKeeper; the servers are those of the tests,
``tests/jobboard_servers.py``) it starts the real ``flowstack-engine``
(RabbitMQ) and ``flowstack-worker`` on a scratch PostgreSQL database with
the default intervals, waits until both are registered and have settled,
then reads their CPU time (``/proc/PID/stat``, user + system, all threads)
over ``--seconds`` with no work to do.  A last row runs Redis with the
worker polling the board every 50 ms (``[worker] jobboard_poll = 0.05``),
which is how every idle worker spent its time before the board woke it.

Target (issue 14): engine + worker <= 0.005 CPU-s per s.

    .venv/bin/python -m bench.idle_cpu [--seconds 30] [--backends redis,etcd]

Run it from the repository root (it imports ``tests.jobboard_servers``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from flowstack import threads_only

threads_only.enforce()  # before TaskFlow loads

# isort: split
from bench.distributed import scratch_postgres
from flowstack.db import migration
from flowstack.db import service_registry as services
from flowstack.db.session import Database
from tests.jobboard_servers import KINDS, JobboardServers

TICKS = os.sysconf("SC_CLK_TCK")
TARGET = 0.005


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(workdir: Path, url: str, poll: float | None, seconds: float, settle: float) -> dict:
    """CPU-s per s of an idle engine and worker on the jobboard at ``url``."""
    namespace = f"bench-idle-{uuid.uuid4().hex[:8]}"
    config = workdir / f"{namespace}.conf"
    worker_poll = f"[worker]\njobboard_poll = {poll}\n" if poll is not None else ""
    with scratch_postgres() as db_url:
        config.write_text(
            f"[DEFAULT]\nstate_path = {workdir / 'state'}\n"
            "transport_url = rabbit://guest:guest@127.0.0.1:5672/\n"
            f"[database]\nconnection = {db_url}\n"
            f"[rpc]\nexchange = {namespace}\ntopic = {namespace}-engine\n"
            f"[jobboard]\nurl = {url}\nnamespace = {namespace}\n"
            f"{worker_poll}"
            "[nova]\nendpoint_override = http://127.0.0.1:9/v2.1\n"
        )
        db = Database(db_url)
        migration.sync(db)
        processes = {}
        try:
            for name in ("engine", "worker"):
                log = open(workdir / f"{namespace}-{name}.log", "w")  # noqa: SIM115
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", f"flowstack.cmd.{name}", "--config-file", str(config)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=workdir,
                )
            deadline = time.monotonic() + 120
            while True:
                with db.reader() as session:
                    kinds = {row.kind for row in services.list_all(session)}
                if {"engine", "worker"} <= kinds:
                    break
                dead = [n for n, p in processes.items() if p.poll() is not None]
                if dead or time.monotonic() > deadline:
                    raise RuntimeError(f"{dead or 'engine/worker'} did not start; see {workdir}")
                time.sleep(0.2)
            time.sleep(settle)
            before = {name: cpu_seconds(p.pid) for name, p in processes.items()}
            time.sleep(seconds)
            return {
                name: (cpu_seconds(p.pid) - before[name]) / seconds for name, p in processes.items()
            }
        finally:
            for process in processes.values():
                process.terminate()
            for process in processes.values():
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measuring window")
    parser.add_argument("--settle", type=float, default=5.0, help="wait after start-up")
    parser.add_argument("--backends", default=",".join(KINDS), help="comma-separated")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="fs-idle-"))
    servers = JobboardServers(workdir / "servers")
    runs = [(kind, None) for kind in args.backends.split(",")] + [("redis", 0.05)]
    print(f"idle CPU over {args.seconds:g} s (CPU-s per s; target engine + worker <= {TARGET})")
    print(f"{'jobboard':<28} {'engine':>8} {'worker':>8} {'total':>8}")
    try:
        for kind, poll in runs:
            label = kind if poll is None else f"{kind}, polled every {poll:g} s"
            try:
                url = servers.url(kind)
            except BaseException as exc:  # pytest's skip: the server cannot run here
                print(f"{label:<28} skipped: {exc}")
                continue
            cpu = measure(workdir, url, poll, args.seconds, args.settle)
            total = cpu["engine"] + cpu["worker"]
            print(f"{label:<28} {cpu['engine']:8.4f} {cpu['worker']:8.4f} {total:8.4f}", flush=True)
    finally:
        servers.close()
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
