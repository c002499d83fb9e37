"""Real jobboard servers for the tests, one per backend flowstack supports.

* ``redis``: the shared Redis on 127.0.0.1:6379 (``tests/services.py``);
* ``redis-sentinel``: a private ``redis-server`` and a private Sentinel
  (``redis-server --sentinel``) watching it; the URL names the Sentinel;
* ``etcd``: a private single-member ``etcd``;
* ``zookeeper``: a private standalone ZooKeeper (Debian's jar, run by
  ``java``) whose ``tickTime`` of 500 ms lets sessions last 1 to 30 s, so a
  test's short claim expiry can be its session timeout.

Private servers listen on free ports of 127.0.0.1, keep their data in the
test session's temporary directory, start the first time a test asks for
them and are killed at the end of the session.  Every test uses its own
jobboard namespace, removed afterwards (:meth:`JobboardServers.forget`).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import services

KINDS = ("redis", "redis-sentinel", "etcd", "zookeeper")
SHARED_REDIS_URL = "redis://127.0.0.1:6379/0"
SENTINEL_MASTER = "flowstack"
#: Generous: a JVM or etcd starting on a loaded 2-core machine.
START_TIMEOUT = 120.0

#: Run the decorated test once per jobboard backend (``jobboard_kind`` fixture).
every_jobboard = pytest.mark.parametrize("jobboard_kind", KINDS, indirect=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int, command: bytes = b"PING\r\n", reply: bytes = b"+PONG") -> bool:
    """Whether the server on ``port`` answers ``command`` with ``reply`` (Redis, ZooKeeper)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(command)
            return reply in sock.recv(256)
    except OSError:
        return False


class ServerProcess:
    """A server program on this machine, logging to a file, killed by :meth:`stop`."""

    def __init__(
        self, label: str, argv: list[str], directory: Path, ready: Callable[[], bool]
    ) -> None:
        self.label = label
        self.log_path = directory / f"{label}.log"
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=directory, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{label} did not start ({' '.join(argv)}):\n{tail}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=30)


class JobboardServers:
    """Each backend's server, started when first asked for; :meth:`close` stops them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._urls: dict[str, str] = {}
        self._processes: list[ServerProcess] = []

    def url(self, kind: str) -> str:
        """The ``[jobboard] url`` of a running server of ``kind`` (skips when it cannot run)."""
        if kind not in self._urls:
            self._urls[kind] = getattr(self, "_start_" + kind.replace("-", "_"))()
        return self._urls[kind]

    def close(self) -> None:
        for process in reversed(self._processes):
            with contextlib.suppress(Exception):
                process.stop()
        self._processes.clear()
        self._urls.clear()

    def _spawn(self, label: str, argv: list[str], ready: Callable[[], bool]) -> ServerProcess:
        directory = self.directory / label
        directory.mkdir(parents=True, exist_ok=True)
        process = ServerProcess(label, argv, directory, ready)
        self._processes.append(process)
        return process

    # -- the servers ---------------------------------------------------------------------

    def _start_redis(self) -> str:
        services.need("redis")
        services.need_library("redis")
        return SHARED_REDIS_URL

    def _start_redis_sentinel(self) -> str:
        services.need_library("redis")
        program = services.need_program("redis-server")
        master, sentinel = free_port(), free_port()
        self._spawn(
            "redis-master",
            [
                program,
                "--port",
                str(master),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            lambda: _answers(master),
        )
        conf = self.directory / "sentinel.conf"
        conf.write_text(
            f"port {sentinel}\nbind 127.0.0.1\ndir {self.directory}\n"
            f"sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {master} 1\n"
        )
        ask = f"SENTINEL get-master-addr-by-name {SENTINEL_MASTER}\r\n".encode()
        self._spawn(
            "redis-sentinel",
            [program, str(conf), "--sentinel"],
            lambda: _answers(sentinel, ask, str(master).encode()),
        )
        return f"redis://127.0.0.1:{sentinel}/0?sentinel={SENTINEL_MASTER}"

    def _start_etcd(self) -> str:
        services.need_library("etcd3gw")
        program = services.need_program("etcd")
        client, peer = free_port(), free_port()
        data = self.directory / "etcd-data"

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{client}/version", timeout=1):
                    return True
            except OSError:
                return False

        self._spawn(
            "etcd",
            [
                program,
                "--name", "flowstack-test",
                "--data-dir", str(data),
                "--listen-client-urls", f"http://127.0.0.1:{client}",
                "--advertise-client-urls", f"http://127.0.0.1:{client}",
                "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-cluster", f"flowstack-test=http://127.0.0.1:{peer}",
            ],
            ready,
        )  # fmt: skip
        return f"etcd://127.0.0.1:{client}"

    def _start_zookeeper(self) -> str:
        services.need_library("kazoo")
        java = services.need_program("java")
        jar = services.need_program("zookeeper.jar")
        port = free_port()
        data = self.directory / "zookeeper-data"
        data.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "zoo.cfg"
        conf.write_text(
            "tickTime=500\n"
            f"dataDir={data}\n"
            f"clientPort={port}\n"
            "clientPortAddress=127.0.0.1\n"
            "maxSessionTimeout=30000\n"
            "admin.enableServer=false\n"
            "4lw.commands.whitelist=ruok,srvr\n"
        )

        def ready() -> bool:
            return _answers(port, b"ruok", b"imok")

        self._spawn(
            "zookeeper",
            [
                java,
                "-Xmx256m",
                "-cp",
                jar,
                "org.apache.zookeeper.server.ZooKeeperServerMain",
                str(conf),
            ],
            ready,
        )
        return f"zookeeper://127.0.0.1:{port}"

    # -- a test's namespace ----------------------------------------------------------------

    def forget(self, kind: str, namespace: str) -> None:
        """Remove what a test left under its namespace on the server of ``kind``."""
        url = self._urls.get(kind)
        if url is None:
            return
        if kind.startswith("redis"):
            _forget_redis(url, namespace)
        elif kind == "etcd":
            _forget_etcd(url, namespace)
        else:
            _forget_zookeeper(url, namespace)


def _forget_redis(url: str, namespace: str) -> None:
    import redis

    if "sentinel=" in url:
        port = int(url.split(":")[2].split("/")[0])
        from redis import sentinel

        client = sentinel.Sentinel([("127.0.0.1", port)]).master_for(SENTINEL_MASTER)
    else:
        client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        keys = list(client.scan_iter(f"{namespace}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _forget_etcd(url: str, namespace: str) -> None:
    import etcd3gw

    port = int(url.rsplit(":", 1)[1])
    client = etcd3gw.Etcd3Client(host="127.0.0.1", port=port, timeout=10)
    try:
        client.delete_prefix(f"/taskflow/jobs/{namespace}/")
    finally:
        client.session.close()


def _forget_zookeeper(url: str, namespace: str) -> None:
    from kazoo import client as kazoo_client

    zk = kazoo_client.KazooClient(hosts=url.split("://", 1)[1], timeout=10)
    zk.start(timeout=30)
    try:
        zk.delete(f"/{namespace}", recursive=True)
    except Exception:  # noqa: S110 - nothing was created
        pass
    finally:
        zk.stop()
        zk.close()
