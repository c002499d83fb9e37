"""The flowstack-engine service: validate, persist, post, answer, repair.

:class:`Engine` holds the service's parts for one process; the RPC manager
(:mod:`flowstack.rpc.manager`) is the one place that maps each call of the
RPC API onto them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from flowstack.engine.repair import Repair
from flowstack.engine.scaling_service import ScalingService
from flowstack.engine.stack_service import Dispatcher, StackService
from flowstack.runtime.container import Runtime


@dataclasses.dataclass
class Engine:
    """What serves the RPC API in one process: stacks, scaling groups, repairs."""

    rt: Runtime
    stacks: StackService
    scaling: ScalingService
    repair: Repair

    @classmethod
    def build(
        cls,
        rt: Runtime,
        dispatcher: Dispatcher,
        custom_constraints: Mapping[str, Callable[[Any], None]] | None = None,
    ) -> Engine:
        """``dispatcher`` runs (embedded) or posts (jobboard) the flows the engine records."""
        return cls(
            rt=rt,
            stacks=StackService(rt, dispatcher, custom_constraints=custom_constraints),
            scaling=ScalingService(rt, dispatcher),
            repair=Repair(rt, dispatcher),
        )
