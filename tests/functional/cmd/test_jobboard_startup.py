"""A jobboard URL that cannot work stops flowstack-worker and flowstack-engine at start.

Each case runs the real command (``python -m flowstack.cmd.worker`` or
``.engine``) with a configuration file, and expects what an operator
should see: exit status 1, and on stderr one line
(``flowstack-worker: ERROR: [jobboard] url: ...``) that says what is
wrong, with no traceback and never the password.  The servers refused
are real: a port where nothing listens, a private ZooKeeper whose node the
jobboard may not write under, a private Redis that checks ACL users.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from flowstack.conf import loading
from flowstack.db import migration
from flowstack.db.session import Database
from tests import services
from tests.jobboard_servers import JobboardServers, ServerProcess, _answers, free_port

SECRET = "s3cret-Pa55"


def write_config(tmp_path: Path, url: str, **extra: str) -> Path:
    """A worker's configuration on a migrated SQLite database, with ``url`` as jobboard."""
    config = tmp_path / "flowstack.conf"
    lines = [
        "[DEFAULT]",
        f"state_path = {tmp_path / 'state'}",
        *(f"{key} = {value}" for key, value in extra.items()),
        "[nova]",
        "endpoint_override = http://127.0.0.1:9/v2.1",
        "[jobboard]",
        f"url = {url}",
        "connect_timeout = 3",
        "claim_expiry = 3",
    ]
    config.write_text("\n".join(lines) + "\n")
    (tmp_path / "state").mkdir(exist_ok=True)
    db = Database.from_conf(loading.load([], config_files=[str(config)]))
    try:
        migration.sync(db)
    finally:
        db.close()
    return config


def run(command: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"flowstack.cmd.{command}", "--config-file", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    assert SECRET not in output, output
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, output
    [line] = errors
    assert re.match(r"flowstack-(worker|engine): ERROR: \[jobboard\] url: ", line), line
    for words in expected:
        assert words in line, line
    return line


def nothing_listens() -> int:
    return free_port()  # bound and released: nothing listens there now


def test_an_unknown_scheme(tmp_path: Path) -> None:
    result = run("worker", write_config(tmp_path, f"kafka://admin:{SECRET}@broker:9092"))
    assert_one_line_error(result, "unknown scheme 'kafka'", "redis://", "etcd://", "zookeeper://")


def test_a_misspelt_option(tmp_path: Path) -> None:
    url = f"redis://:{SECRET}@127.0.0.1:6379/0?sentinal=mymaster"
    assert_one_line_error(
        run("worker", write_config(tmp_path, url)), "unknown option 'sentinal'", "sentinel"
    )


def test_an_unreachable_sentinel(tmp_path: Path) -> None:
    services.need_library("redis")
    port = nothing_listens()
    url = f"redis://flowstack:{SECRET}@127.0.0.1:{port}/0?sentinel=mymaster"
    line = assert_one_line_error(
        run("worker", write_config(tmp_path, url)),
        f"Redis Sentinel master 'mymaster' (via 127.0.0.1:{port})",
        "no sentinel answers",
        "Connection refused",
    )
    assert "flowstack:" not in line  # not even the URL's user part


def test_a_sentinel_that_knows_no_such_master(
    tmp_path: Path, jobboard_servers: JobboardServers
) -> None:
    url = jobboard_servers.url("redis-sentinel").replace("sentinel=flowstack", "sentinel=nosuch")
    assert_one_line_error(
        run("worker", write_config(tmp_path, url)), "no sentinel knows a master named 'nosuch'"
    )


def test_an_etcd_that_is_down(tmp_path: Path) -> None:
    services.need_library("etcd3gw")
    port = nothing_listens()
    assert_one_line_error(
        run("worker", write_config(tmp_path, f"etcd://127.0.0.1:{port}")),
        f"cannot reach etcd at http://127.0.0.1:{port}",
        "Connection refused",
    )


def test_a_zookeeper_path_that_is_not_a_path(tmp_path: Path) -> None:
    url = "zookeeper://127.0.0.1:2181/flowstack//jobs"
    assert_one_line_error(
        run("worker", write_config(tmp_path, url)), "ZooKeeper path '/flowstack//jobs'"
    )


def test_a_zookeeper_path_the_server_refuses(
    tmp_path: Path, jobboard_servers: JobboardServers
) -> None:
    """The chroot is under a node that only lets everyone read it."""
    url = jobboard_servers.url("zookeeper")
    from kazoo import client as kazoo_client
    from kazoo import security

    locked = f"/locked-{tmp_path.name}"
    zk = kazoo_client.KazooClient(hosts=url.split("://", 1)[1], timeout=10)
    zk.start(timeout=30)
    try:
        zk.create(locked, acl=[security.make_acl("world", "anyone", read=True)])
        result = run("worker", write_config(tmp_path, f"{url}{locked}/flowstack"))
    finally:
        zk.stop()
        zk.close()
    assert_one_line_error(result, f"{locked}/flowstack", "no permission")


def test_a_zookeeper_that_is_down(tmp_path: Path) -> None:
    services.need_library("kazoo")
    port = nothing_listens()
    assert_one_line_error(
        run("worker", write_config(tmp_path, f"zookeeper://127.0.0.1:{port}")),
        f"ZooKeeper at 127.0.0.1:{port}",
        "no server answered within 3 s",
    )


def test_redis_refuses_a_wrong_acl_password(tmp_path: Path) -> None:
    """A private Redis with an ACL user: the wrong password is refused, and not shown."""
    program = services.need_program("redis-server")
    port = free_port()
    server = ServerProcess(
        "redis-acl",
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--user", "default", "off",
         "--user", "flowstack", "on", ">right-password", "~*", "&*", "+@all"],
        tmp_path,
        lambda: _answers(port, b"PING\r\n", b"NOAUTH"),
    )  # fmt: skip
    try:
        result = run(
            "worker", write_config(tmp_path, f"redis://flowstack:{SECRET}@127.0.0.1:{port}")
        )
    finally:
        server.stop()
    assert_one_line_error(result, f"Redis at 127.0.0.1:{port}", "invalid username-password")


def test_the_engine_stops_on_an_unreachable_sentinel(tmp_path: Path) -> None:
    services.need("rabbitmq")
    services.need_library("redis")
    port = nothing_listens()
    url = f"redis://:{SECRET}@127.0.0.1:{port}/0?sentinel=mymaster"
    config = write_config(tmp_path, url, transport_url="rabbit://guest:guest@127.0.0.1:5672/")
    assert_one_line_error(
        run("engine", config), "Redis Sentinel master 'mymaster'", "no sentinel answers"
    )


@pytest.mark.parametrize("command", ["worker", "engine"])
def test_a_good_url_passes_the_jobboard_check(
    tmp_path: Path, jobboard_servers: JobboardServers, command: str
) -> None:
    """The same commands with a working URL get past the jobboard (here: to the
    database check, as this database was never migrated)."""
    if command == "engine":
        services.need("rabbitmq")
    config = write_config(
        tmp_path,
        jobboard_servers.url("redis"),
        transport_url="rabbit://guest:guest@127.0.0.1:5672/",
    )
    config.write_text(
        config.read_text().replace(
            "[nova]", f"[database]\nconnection = sqlite:///{tmp_path / 'empty.sqlite'}\n[nova]"
        )
    )
    result = run(command, config)
    assert result.returncode == 1, result.stderr
    assert "[jobboard]" not in result.stderr
    assert "db sync" in result.stderr
