"""Many clients at once: every create is distinct and accounted for."""

from __future__ import annotations

import threading
from typing import Any

from flowstack.nova_sim import CIRROS_IMAGE_ID
from tests.unit.nova_sim.helpers import wait_for

THREADS = 8
PER_THREAD = 25


def test_200_creates_from_8_threads(sim: Any, make_nova: Any) -> None:
    clients = [make_nova(sim) for _ in range(THREADS)]
    created: list[list[str]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            for i in range(PER_THREAD):
                server = clients[index].servers.create(f"c-{index}-{i}", CIRROS_IMAGE_ID, "1")
                created[index].append(server.id)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = [server_id for batch in created for server_id in batch]
    assert len(ids) == len(set(ids)) == THREADS * PER_THREAD
    nova = clients[0]
    listed = nova.servers.list(limit=-1)
    assert {s.id for s in listed} == set(ids)
    assert len(sim.live_servers()) == THREADS * PER_THREAD

    def all_active() -> list[Any] | None:
        servers = nova.servers.list()
        return servers if all(s.status == "ACTIVE" for s in servers) else None

    servers = wait_for(all_active, what="every server ACTIVE")
    addresses = [s.addresses["private"][0]["addr"] for s in servers]
    assert len(set(addresses)) == THREADS * PER_THREAD  # the pool grew past one /26
