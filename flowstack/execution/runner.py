"""Run (or resume) one persisted flow to its end in this process."""

from __future__ import annotations

import dataclasses
import os
import socket
from typing import Any

import taskflow.engines
from oslo_log import log as logging

from flows import keys
from flowstack import status
from flowstack.db import events, stacks
from flowstack.db import flow_records as flows
from flowstack.execution import converge
from flowstack.execution import flow_details as flow_records
from flowstack.runtime.container import Runtime
from flowstack.runtime.fencing import Fence, FencedOut
from flowstack.taskflow_adapter import engine as taskflow_engine
from flowstack.taskflow_adapter import resume
from flowstack.taskflow_adapter.persistence import Backend

LOG = logging.getLogger(__name__)


def owner_name() -> str:
    """Who runs flows here, as recorded in the flows table."""
    return f"{socket.gethostname()}:{os.getpid()}"


TERMINAL_STATES = resume.TERMINAL_STATES
# Outcomes besides TaskFlow's own states.
FENCED = "FENCED"  # another runner took the flow over: this one stopped writing
QUARANTINED = flows.QUARANTINED


@dataclasses.dataclass(frozen=True)
class QuarantineLimits:
    """When a flow is set aside instead of being run again.

    ``failed_runs``: runs that raised (the flow itself keeps failing);
    ``stalled_takeovers``: runners that died in a row with no step finished in
    between (a crash loop).  A runner killed while the flow progresses is not
    the flow's failure and never counts.
    """

    failed_runs: int
    stalled_takeovers: int


def run(
    rt: Runtime,
    flow_id: str,
    owner: str | None = None,
    *,
    limits: QuarantineLimits | None = None,
) -> str:
    """Claim the flow and run it from its persisted state to its end.

    Returns the final TaskFlow state, ``FENCED`` when another runner took the
    flow over meanwhile (nothing was written after that), or ``QUARANTINED``
    when the flow reached one of ``limits``.

    A flow that fails reverts and ends REVERTED (its lifecycle task has
    recorded why on the stack); that is an outcome, not an error here.  A
    flow TaskFlow leaves unfinished is loaded again and resumed
    (:mod:`flowstack.taskflow_adapter.resume`).  An error escaping the run
    (the database went away...) hands the flow back as a failed run before
    it is raised, so the next runner can tell it from a crash.
    """
    owner = owner or owner_name()
    with rt.db.writer() as session:
        claim = flows.claim(session, flow_id, owner)
        if claim is None:  # it ended meanwhile (a job left on a board, a late dispatch)
            return flows.get(session, flow_id).state
    fence = Fence(flow_id, claim.epoch)
    why = _quarantine_reason(claim, limits)
    if why is not None:
        quarantine(rt, claim, fence, owner, why)
        return QUARANTINED
    rt.fences.hold(claim.stack_id, fence)
    follow_up = None
    try:
        backend = Backend(rt.db, fence)
        state, error = resume.run_to_end(
            lambda: _load(rt, backend, flow_id), flow_id, stop=lambda: fence.lost
        )
        if fence.stopped:
            LOG.info("Flow %s stopped at its last step: %s", flow_id, fence.stopped)
            return FENCED
        if fence.lost:
            LOG.warning("Flow %s was taken over by another runner; this one stopped", flow_id)
            return FENCED
        if state not in TERMINAL_STATES:
            state = flows.FAILURE
        try:
            with rt.write(claim.stack_id) as connection:
                _settle_stack(connection, claim, state, error)
                flows.finish(connection, flow_id, state, error, owner=owner)
                if claim.operation == converge.OPERATION:
                    follow_up = converge.finish(connection, rt, claim.stack_id, flow_id, state)
        except FencedOut:
            return FENCED
        return state
    except FencedOut:
        return FENCED
    except Exception as exc:
        _give_back(rt, claim, owner, exc)
        raise
    finally:
        rt.fences.release(claim.stack_id, fence)
        if follow_up is not None:
            start_recorded(rt, follow_up)


def _quarantine_reason(claim: flows.Claim, limits: QuarantineLimits | None) -> str | None:
    if limits is None:
        return None
    if claim.failed_runs >= limits.failed_runs:
        return f"failed in {claim.failed_runs} run(s)"
    if claim.stalled_takeovers >= limits.stalled_takeovers:
        return (
            f"its runner died {claim.stalled_takeovers} times in a row without finishing "
            "a step (a crash loop)"
        )
    return None


def _give_back(rt: Runtime, claim: flows.Claim, owner: str, exc: Exception) -> None:
    """Record a run that raised as a failed run (best effort: the database may be gone)."""
    error = f"{type(exc).__name__}: {exc}"
    try:
        with rt.db.write_connection() as connection:
            flows.give_back(connection, claim.flow_id, claim.epoch, owner, error)
    except Exception:
        LOG.warning("Could not record the failed run of flow %s", claim.flow_id, exc_info=True)


def start_recorded(rt: Runtime, flow_id: str) -> None:
    """Hand a flow recorded with a spec to whoever runs flows here.

    Without a dispatcher (or if it fails) the flow stays PENDING in the
    database, where the workers' reaper finds it.
    """
    try:
        flow_records.materialise(rt, flow_id)
        if rt.dispatcher is not None:
            rt.dispatcher.dispatch(flow_id)
    except Exception:
        LOG.exception("Could not start flow %s; the reaper will post it", flow_id)


def _settle_stack(connection: Any, claim: flows.Claim, state: str, error: str | None) -> None:
    """A flow that ended must not leave its stack IN_PROGRESS.

    The lifecycle tasks set the final status; when they could not (the
    revert itself failed, e.g. the database went away mid-rollback), the
    stack is marked FAILED here with what the flow ended with.  Only the
    stack's current flow may do that: a delete started right after a create
    completed is the stack's business, not the create flow's.
    """
    if flows.current_for_stack(connection, claim.stack_id) != claim.flow_id:
        return
    row = stacks.status_of(connection, claim.stack_id)
    if row is None or row.status != status.IN_PROGRESS:
        return
    reason = f"{row.action} did not finish: flow {claim.flow_id} ended {state}"
    if error:
        reason = f"{reason} ({error})"
    if stacks.set_status(
        connection,
        claim.stack_id,
        row.action,
        status.FAILED,
        reason,
        only_if=(row.action, status.IN_PROGRESS),
    ):
        events.add(connection, claim.stack_id, row.action, status.FAILED, reason)


def quarantine(rt: Runtime, claim: flows.Claim, fence: Fence, owner: str, why: str) -> None:
    """Set a flow aside; its stack says so and why (when it is the stack's current flow)."""
    with rt.db.reader() as session:
        history = flows.get(session, claim.flow_id).errors or []
    last = history[-1]["error"] if history else "no error recorded"
    reason = f"Flow {claim.flow_id} quarantined: {why} (last: {last}); an operator can resume it"
    LOG.error("%s", reason)
    action = {"delete": status.DELETE, converge.OPERATION: status.UPDATE}.get(
        claim.operation, status.CREATE
    )
    with rt.db.write_connection() as connection:
        fence.check(connection)
        flows.finish(connection, claim.flow_id, QUARANTINED, reason, owner=owner)
        if flows.current_for_stack(connection, claim.stack_id) == claim.flow_id:
            stacks.set_status(connection, claim.stack_id, action, status.FAILED, reason)
            events.add(connection, claim.stack_id, action, status.FAILED, reason)
        if claim.operation == converge.OPERATION:
            converge.finish(connection, rt, claim.stack_id, claim.flow_id, QUARANTINED)


def _load(rt: Runtime, backend: Backend, flow_id: str) -> Any:
    """The flow's engine from persistence, with this process's runtime injected.

    The runtime is a transient value: kept in memory, never persisted, so a
    runner that resumes the flow elsewhere injects its own.
    """
    flow_records.materialise(rt, flow_id)  # a flow recorded with a spec, never run yet
    flow_detail = backend.get_connection().get_flow_details(flow_id)
    engine = taskflow.engines.load_from_detail(
        flow_detail,
        backend=backend,
        engine=taskflow_engine.ENGINE_NAME,
        executor=rt.executor,
    )
    engine.storage.inject({keys.RUNTIME: rt}, transient=True)
    return engine
