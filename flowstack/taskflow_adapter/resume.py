"""Run a persisted flow's engine to its end, reloading it when TaskFlow stops short.

Works around: TaskFlow's parallel engine occasionally stops with an atom
still to revert when several atoms fail at the same instant: the
completer marks the flow SUSPENDED while a revert is pending and ``run()``
raises ``InvalidState`` (seen in ~3% of stacks with three simultaneous
failures; ``tests/unit/execution/test_simultaneous_failures.py``).  The flow
is intact in persistence, so loading it again resumes it exactly as after a
crash.

Upstream patch to send: in ``taskflow.engines.action_engine.builder``, when
the machine reaches a terminal "no more work" state with atoms whose
intention is REVERT and state is not REVERTED, schedule them instead of
suspending (with a regression test that fails three atoms on one barrier).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oslo_log import log as logging
from taskflow import states

LOG = logging.getLogger(__name__)

#: TaskFlow's states in which a flow is over.
TERMINAL_STATES = (states.SUCCESS, states.REVERTED, states.FAILURE)
#: How many times one run loads again a flow that TaskFlow left unfinished.
MAX_RELOADS = 3


def run_to_end(
    load: Callable[[], Any], label: str, *, stop: Callable[[], bool] = lambda: False
) -> tuple[str, str | None]:
    """Load and run the flow's engine until it ends; (TaskFlow state, error text).

    ``load`` builds a fresh engine from persistence; ``stop`` says the run
    must not go on (its runner lost the flow).  An exception from the engine
    is not an error here: the flow's outcome is what persistence says.
    """
    state, error = _run_once(load(), label)
    reloads = 0
    while state not in TERMINAL_STATES and not stop() and reloads < MAX_RELOADS:
        reloads += 1
        LOG.warning(
            "Flow %s stopped unfinished (%s: %s); resuming it from persistence (%d/%d)",
            label,
            state,
            error,
            reloads,
            MAX_RELOADS,
        )
        state, error = _run_once(load(), label)
    return state, error


def _run_once(engine: Any, label: str) -> tuple[str, str | None]:
    error = None
    try:
        engine.run()
    except Exception as exc:  # the outcome is read from persistence
        error = f"{type(exc).__name__}: {exc}"
        LOG.info("Flow %s ended with a failure: %s", label, error)
    return engine.storage.get_flow_state(), error
