"""Fixtures for the Nova simulator tests: a running simulator and novaclient clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from novaclient import client as nova_client

from flowstack.nova_sim import NovaSimulator
from tests.unit.nova_sim.helpers import FakeClock

BUILD_DELAY = 0.05
DELETE_DELAY = 0.05
LB_PROVISION = 1.0  # simulated seconds a load balancer object stays PENDING_CREATE
LB_UPDATE = 0.5  # ... and PENDING_UPDATE


@pytest.fixture
def sim() -> Iterator[NovaSimulator]:
    """A simulator with short delays, serving on 127.0.0.1 and a free port."""
    with NovaSimulator(build_delay=BUILD_DELAY, delete_delay=DELETE_DELAY) as simulator:
        yield simulator


@pytest.fixture
def make_nova() -> Iterator[Callable[..., Any]]:
    """Build novaclient clients (token-endpoint auth); their sessions are closed afterwards."""
    sessions: list[ks_session.Session] = []

    def make(
        simulator: NovaSimulator | None,
        version: str = "2.1",
        *,
        token: str = "any-token",  # noqa: S107 - the simulator takes any token
        endpoint: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        if endpoint is None:
            assert simulator is not None
            endpoint = simulator.endpoint
        auth = token_endpoint.Token(endpoint, token)
        session = ks_session.Session(auth=auth, timeout=timeout)
        sessions.append(session)
        return nova_client.Client(version, session=session)

    yield make
    for session in sessions:
        session.session.close()


@pytest.fixture
def nova(sim: NovaSimulator, make_nova: Callable[..., Any]) -> Any:
    """A novaclient 2.1 client on ``sim``, exactly as a user would build one."""
    return make_nova(sim)


@pytest.fixture
def clock() -> FakeClock:
    """Simulated time, moved on by the test."""
    return FakeClock()


@pytest.fixture
def lbsim(clock: FakeClock) -> Iterator[NovaSimulator]:
    """A simulator on ``clock`` whose load-balancer objects take LB_PROVISION/LB_UPDATE s."""
    with NovaSimulator(
        clock=clock, build_delay=0, lb_provision_delay=LB_PROVISION, lb_update_delay=LB_UPDATE
    ) as simulator:
        yield simulator
