"""Every use of a private TaskFlow name, in one place, each with its reason.

flowstack uses TaskFlow's public API everywhere else (tasks, retries,
patterns, ``taskflow.engines.load_from_detail``, persistence models, the
jobboard backends).  Where TaskFlow's behaviour had to change, the change
lives here, one module per upstream behaviour, each docstring naming what it
works around and the patch to send upstream:

- :mod:`.engine`: the parallel engine's selector walks every descendant and
  ancestor after each step (quadratic on chains); flowstack's looks at direct
  neighbours only.
- :mod:`.persistence`: the SQLAlchemy backend rebuilds its tables and its
  connection for every save (~40 ms per task); flowstack's reuses them,
  writes a state change as one UPDATE and fences every save.
- :mod:`.conductor`: conductors run a job's engine themselves; flowstack's
  hands the claimed job to its runner (claim in the database, fencing,
  quarantine), and sleeps when idle until the jobboard or a finished job
  wakes it, instead of polling.
- :mod:`.resume`: the parallel engine sometimes stops with an atom still to
  revert when atoms fail at the same instant; the flow is loaded again.
- :mod:`.schema`: TaskFlow's tables and migrations, run by flowstack's
  ``db sync``.

TaskFlow is supported in the range ``setup.cfg`` declares; :func:`verify`
checks, when a runtime starts, that each internal these modules rely on
still has the shape they expect, so a TaskFlow release that changes one
stops flowstack with a clear message instead of misbehaving mid-flow.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from importlib import metadata

from flowstack import exceptions

#: The TaskFlow releases this adapter was written and tested against (setup.cfg).
SUPPORTED = ">=5.9,<6.6"


@dataclasses.dataclass(frozen=True)
class Internal:
    """A private TaskFlow name an adapter module relies on, and how to check its shape."""

    name: str
    used_by: str
    check: Callable[[], bool]


def _parameters(func: object) -> list[str]:
    return list(inspect.signature(func).parameters)  # type: ignore[arg-type]


def _selector() -> bool:
    from taskflow.engines.action_engine import selector

    return _parameters(selector.Selector._browse_atoms_for_execute) == [
        "self",
        "atom",
    ] and _parameters(selector.Selector._get_maybe_ready_for_execute) == ["self", "atom"]


def _selector_slot() -> bool:
    from taskflow.engines.action_engine import runtime

    return getattr(vars(runtime.Runtime).get("selector"), "_attr_name", None) == "_selector"


def _traversal() -> bool:
    from taskflow.engines.action_engine import deciders, runtime, traversal

    return (
        {"execution_graph", "starting_node", "direction", "through_retries", "through_tasks"}
        <= set(_parameters(traversal.breadth_first_iterate))
        and hasattr(traversal.Direction, "FORWARD")
        and hasattr(traversal.Direction, "BACKWARD")
        and _parameters(deciders.IgnoreDecider.__init__) == ["self", "atom", "edge_deciders"]
        and _parameters(runtime.Runtime.check_atom_transition)
        == ["self", "atom", "current_state", "target_state"]
        and _parameters(runtime.Runtime.fetch_edge_deciders) == ["self", "atom"]
    )


def _engine_compile() -> bool:
    from taskflow.engines.action_engine.engine import ParallelActionEngine

    source = inspect.getsource(ParallelActionEngine.compile)
    return "self._compiled" in source and "self._runtime" in source


def _sql_connection() -> bool:
    from taskflow.persistence.backends import impl_sqlalchemy

    init = inspect.getsource(impl_sqlalchemy.Connection.__init__)
    return (
        _parameters(impl_sqlalchemy.Connection.__init__) == ["self", "backend", "upgrade_lock"]
        and all(name in init for name in ("self._tables", "self._converter", "self._engine"))
        and _parameters(impl_sqlalchemy._Alchemist.__init__) == ["self", "tables"]
        and "_upgrade_lock" in inspect.getsource(impl_sqlalchemy.SQLAlchemyBackend.__init__)
    )


def _conductor() -> bool:
    from taskflow.conductors.backends import impl_executor

    dispatch = impl_executor.ExecutorConductor._dispatch_job
    return _parameters(dispatch) == ["self", "job"] and "self._dispatch_job" in inspect.getsource(
        impl_executor.ExecutorConductor._run_until_dead
    )


def _conductor_idle_wait() -> bool:
    from taskflow.conductors.backends import impl_executor
    from taskflow.types import timing

    conductor = impl_executor.ExecutorConductor
    loop = inspect.getsource(conductor._run_until_dead)
    done = inspect.getsource(conductor._on_job_done)
    given = timing.Timeout(1.0)
    return (
        "self._wait_timeout.wait()" in loop
        and "self._on_job_done" in loop
        and _parameters(conductor._on_job_done) == ["self", "job", "fut"]
        and "self._dispatched.discard(fut)" in done
        and timing.convert_to_timeout(value=given) is given
    )


INTERNALS = (
    Internal(
        "selector.Selector._browse_atoms_for_execute(atom), ._get_maybe_ready...",
        "engine",
        _selector,
    ),
    Internal(
        "action_engine.runtime.Runtime.selector, cached in _selector", "engine", _selector_slot
    ),
    Internal(
        "traversal.breadth_first_iterate, IgnoreDecider, Runtime's checks", "engine", _traversal
    ),
    Internal("ParallelActionEngine.compile sets _compiled, _runtime", "engine", _engine_compile),
    Internal("impl_sqlalchemy.Connection's tables, _Alchemist", "persistence", _sql_connection),
    Internal("ExecutorConductor._dispatch_job(job)", "conductor", _conductor),
    Internal(
        "ExecutorConductor's idle wait_timeout.wait(), _on_job_done(job, fut)",
        "conductor",
        _conductor_idle_wait,
    ),
)


def problems() -> list[str]:
    """Each internal whose shape changed, named with the adapter module relying on it."""
    found = []
    for internal in INTERNALS:
        try:
            fits = internal.check()
        except Exception as exc:  # gone altogether (AttributeError, ImportError...)
            fits = False
            internal = dataclasses.replace(internal, name=f"{internal.name} ({exc})")
        if not fits:
            found.append(f"{internal.name} (flowstack.taskflow_adapter.{internal.used_by})")
    return found


def verify() -> None:
    """Refuse to run flows on a TaskFlow whose internals flowstack relies on changed.

    :raises flowstack.exceptions.TaskFlowIncompatible: naming each changed
        internal, the installed release and the supported range.
    """
    changed = problems()
    if changed:
        raise exceptions.TaskFlowIncompatible(
            version=metadata.version("taskflow"), supported=SUPPORTED, changed="; ".join(changed)
        )
