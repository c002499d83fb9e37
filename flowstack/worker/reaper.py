"""The reaper: no flow stays unfinished without a live owner or a job.

A flow can lose its way in two places: the engine crashed between writing
the flow and posting its job (PENDING, no job), or its worker died and its
job is gone too (RUNNING under a dead owner, no job).  Every worker runs
this check periodically; it re-posts such flows, and a compare-and-set on
the flow's epoch makes sure that of several reapers only one posts.
"""

from __future__ import annotations

import datetime as dt

from oslo_log import log as logging

from flowstack.db import flow_records as flows
from flowstack.db import models
from flowstack.db import service_registry as services
from flowstack.jobboard import base as jobboard_base
from flowstack.jobboard import board as jobboard
from flowstack.runtime.container import Runtime

LOG = logging.getLogger(__name__)


def reap(
    rt: Runtime, board: jobboard_base.Jobboard, *, dead_after: float, grace: float
) -> list[str]:
    """Re-post the flows that nobody will run otherwise; returns their ids."""
    with rt.db.read_connection() as connection:
        live = services.alive(connection, dead_after)
        candidates = flows.unfinished(connection)
    if not candidates:
        return []
    on_board = {jobboard.flow_of(job) for job in board.iterjobs(ensure_fresh=True)}
    too_young = models.utcnow() - dt.timedelta(seconds=grace)
    reposted = []
    for flow in candidates:
        if flow.id in on_board:
            continue
        if flow.state == flows.RUNNING:
            if flow.owner in live:
                continue
            reason = f"owner {flow.owner} gone (not seen for {dead_after:g} s) and no job"
        else:
            if flow.created_at > too_young:
                continue
            reason = "never claimed and no job (lost between the database and the jobboard)"
        with rt.db.write_connection() as connection:
            won = flows.release_for_repost(
                connection,
                flow.id,
                flow.epoch,
                reason,
                flow.owner,
                lost=flow.state == flows.RUNNING,
            )
        if won:
            jobboard.post_flow(board, flow.id)
            LOG.warning("Re-posted flow %s: %s", flow.id, reason)
            reposted.append(flow.id)
    return reposted
