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


def run(rt: Runtime, flow_id: str, owner: str | None = None) -> str:
    """Run the flow from its persisted state; returns the final TaskFlow state.

    A flow that fails reverts and ends REVERTED (its lifecycle task has
    recorded why on the stack); that is an outcome, not an error here.
    """
    with rt.db.writer() as session:
        flows.claim(session, flow_id, owner or owner_name())
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
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        LOG.info("Flow %s ended with a failure: %s", flow_id, error)
    state = engine.storage.get_flow_state()
    if state not in (states.SUCCESS, states.REVERTED, states.FAILURE):
        state = flows.FAILURE
    with rt.db.writer() as session:
        flows.finish(session, flow_id, state, error)
    return state
