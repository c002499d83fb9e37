"""The state file: survives restarts, is shared safely, is written atomically."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from novaclient import exceptions as nova_exc

from flowstack.nova_sim import CIRROS_IMAGE_ID, NovaSimulator
from flowstack.nova_sim.errors import StateFileError
from tests.unit.nova_sim.helpers import FakeClock


def test_state_survives_a_new_simulator(tmp_path: Path, make_nova: Any) -> None:
    state_file = tmp_path / "state" / "nova-sim.json"
    clock = FakeClock()
    with NovaSimulator(state_file=str(state_file), build_delay=10, clock=clock) as first:
        nova = make_nova(first)
        kept = nova.servers.create("kept", CIRROS_IMAGE_ID, "1", meta={"stack": "a"})
        dropped = nova.servers.create("dropped", CIRROS_IMAGE_ID, "1")
        nova.servers.delete(dropped.id)
        nova.keypairs.create("key")
        assert nova.servers.get(kept.id).status == "BUILD"
    clock.advance(60)  # time passes while no simulator runs
    with NovaSimulator(state_file=str(state_file), clock=clock) as second:
        nova = make_nova(second)
        server = nova.servers.get(kept.id)
        assert server.status == "ACTIVE"  # derived from the saved timestamps
        assert server.metadata == {"stack": "a"}
        with pytest.raises(nova_exc.NotFound):
            nova.servers.get(dropped.id)
        assert [k.name for k in nova.keypairs.list()] == ["key"]
        fresh = nova.servers.create("fresh", CIRROS_IMAGE_ID, "1")
        clock.advance(60)
        addresses = {s.name: s.addresses["private"][0]["addr"] for s in nova.servers.list()}
        assert addresses["fresh"] != addresses["kept"]
        assert {r["name"] for r in second.all_servers()} == {"kept", "dropped", "fresh"}
        assert fresh.id in {r["id"] for r in second.live_servers()}


def test_two_simulators_on_one_file_do_not_clobber(tmp_path: Path, make_nova: Any) -> None:
    state_file = str(tmp_path / "shared.json")
    with (
        NovaSimulator(state_file=state_file, build_delay=0) as a,
        NovaSimulator(state_file=state_file, build_delay=0) as b,
    ):
        nova_a, nova_b = make_nova(a), make_nova(b)

        def burst(nova: Any, prefix: str) -> None:
            for i in range(15):
                nova.servers.create(f"{prefix}-{i}", CIRROS_IMAGE_ID, "1")

        threads = [
            threading.Thread(target=burst, args=(nova_a, "a")),
            threading.Thread(target=burst, args=(nova_b, "b")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        names_a = {s.name for s in nova_a.servers.list()}
        names_b = {s.name for s in nova_b.servers.list()}
        assert names_a == names_b == {f"{p}-{i}" for p in "ab" for i in range(15)}
        addresses = [s.addresses["private"][0]["addr"] for s in nova_a.servers.list()]
        assert len(set(addresses)) == 30
    saved = json.loads(Path(state_file).read_text())
    assert len(saved["servers"]) == 30
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_reset_rewrites_the_file(tmp_path: Path) -> None:
    state_file = tmp_path / "s.json"
    sim = NovaSimulator(state_file=str(state_file))
    with sim:
        sim.client().servers.create("x", CIRROS_IMAGE_ID, "1")
    sim.reset()
    assert json.loads(state_file.read_text())["servers"] == []
    assert NovaSimulator(state_file=str(state_file)).all_servers() == []


def test_unreadable_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state_file = tmp_path / "bad.json"
    state_file.write_text("{not json")
    with pytest.raises(StateFileError, match="not valid JSON"):
        NovaSimulator(state_file=str(state_file))
    state_file.write_text('{"format": 99}')
    with pytest.raises(StateFileError, match="unknown format"):
        NovaSimulator(state_file=str(state_file))
