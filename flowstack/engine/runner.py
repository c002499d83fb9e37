"""Run (or resume) one persisted flow to its end in this process."""

from __future__ import annotations

import os
import socket

import taskflow.engines
from oslo_log import log as logging
from taskflow import states

from flowstack.db import flows
from flowstack.engine import taskflow_engine
from flowstack.engine.runtime import Runtime

LOG = logging.getLogger(__name__)


def owner_name() -> str:
    """Who runs flows here, as recorded in the flows table."""
    return f"{socket.gethostname()}:{os.getpid()}"


TERMINAL_STATES = (states.SUCCESS, states.REVERTED, states.FAILURE)
# How many times one run re-loads a flow that TaskFlow left unfinished.
MAX_RELOADS = 3


def run(rt: Runtime, flow_id: str, owner: str | None = None) -> str:
    """Run the flow from its persisted state; returns the final TaskFlow state.

    A flow that fails reverts and ends REVERTED (its lifecycle task has
    recorded why on the stack); that is an outcome, not an error here.

    TaskFlow's parallel engine occasionally stops with an atom left to
    revert when several atoms fail at once (it then tries to mark the flow
    SUSPENDED and raises InvalidState; seen in ~3% of stacks with three
    simultaneous failures).  The flow is intact in persistence, so it is
    loaded again and resumed, exactly as after a crash.
    """
    with rt.db.writer() as session:
        flows.claim(session, flow_id, owner or owner_name())
    state, error = _run_once(rt, flow_id)
    reloads = 0
    while state not in TERMINAL_STATES and reloads < MAX_RELOADS:
        reloads += 1
        LOG.warning(
            "Flow %s stopped unfinished (%s: %s); resuming it from persistence (%d/%d)",
            flow_id,
            state,
            error,
            reloads,
            MAX_RELOADS,
        )
        state, error = _run_once(rt, flow_id)
    if state not in TERMINAL_STATES:
        state = flows.FAILURE
    with rt.db.writer() as session:
        flows.finish(session, flow_id, state, error)
    return state


def _run_once(rt: Runtime, flow_id: str) -> tuple[str, str | None]:
    flow_detail = rt.backend.get_connection().get_flow_details(flow_id)
    engine = taskflow.engines.load_from_detail(
        flow_detail,
        backend=rt.backend,
        engine=taskflow_engine.ENGINE_NAME,
        executor=rt.executor,
    )
    error = None
    try:
        engine.run()
    except Exception as exc:  # the outcome is read from persistence
        error = f"{type(exc).__name__}: {exc}"
        LOG.info("Flow %s ended with a failure: %s", flow_id, error)
    return engine.storage.get_flow_state(), error
