"""Keep the garbage collector's full passes short in long-running services.

After start-up a service holds a million or so long-lived objects (oslo,
SQLAlchemy, TaskFlow, their modules and caches).  Every full collection
walks them all, stopping every thread of the process for about 100 ms: the
webhook benchmark saw such a stall every few seconds in its tail latency.
``gc.freeze()`` moves what exists at start-up out of the collector's view;
what requests allocate is still collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Call once the service is set up, just before it starts serving."""
    gc.collect()
    gc.freeze()
