"""Resume, in this process, the flows nobody runs: an engine without a jobboard.

Without a jobboard there are no workers and no reaper: the engine process is
the whole deployment, and the flows a previous engine process left (killed,
restarted) would wait forever.  Periodically, and at start, this finds the
unfinished flows whose runner is gone (or that were never started, after a
grace period) and runs them here.  Claims are compare-and-set on the flow's
epoch, so several such engines would never run one flow twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from oslo_log import log as logging

from flowstack.db import flow_records, models
from flowstack.execution import owners
from flowstack.runtime.container import Runtime

LOG = logging.getLogger(__name__)


def resume_unattended(rt: Runtime, dispatcher: Any, *, grace: float) -> list[str]:
    """Dispatch the flows no live runner holds; the ids dispatched."""
    with rt.db.read_connection() as connection:
        candidates = flow_records.unfinished(connection)
    running = set(dispatcher.running())
    too_young = models.utcnow() - dt.timedelta(seconds=grace)
    resumed = []
    for flow in candidates:
        if flow.id in running:
            continue
        if flow.state == flow_records.RUNNING and owners.runner_alive(rt, flow.owner):
            continue
        if flow.state == flow_records.PENDING and flow.created_at > too_young:
            continue  # being dispatched by whoever recorded it
        LOG.warning("Resuming flow %s (%s, owner %s gone)", flow.id, flow.state, flow.owner)
        dispatcher.dispatch(flow.id)
        resumed.append(flow.id)
    return resumed
