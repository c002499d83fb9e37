"""Whether the runner that owns a flow is still there to finish it.

A worker is alive while its heartbeat in the services table is recent.  The
embedded default's runner is a ``flowstack`` command (owner ``host:pid``):
it is alive while that process exists on this host.  A runner on another
host that is not in the services table is taken for gone.
"""

from __future__ import annotations

import os
import socket

from flowstack.db import service_registry
from flowstack.runtime.container import Runtime


def runner_alive(rt: Runtime, owner: str | None) -> bool:
    if not owner:
        return False
    with rt.db.read_connection() as connection:
        if owner in service_registry.alive(connection, rt.conf.worker.dead_after):
            return True
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True
