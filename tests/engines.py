"""The engine as tests drive it: its RPC API served in the test's process.

Tests call the same :class:`~flowstack.rpc.client.EngineClient` methods as
the CLI and other services, through :class:`~flowstack.rpc.local.LocalChannel`
(payload checks, the context as on the wire, JSON-safe results), so they
exercise the RPC contract and not a private shortcut.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flowstack.engine import Engine
from flowstack.rpc.client import EngineClient
from flowstack.rpc.local import LocalChannel
from flowstack.rpc.manager import EngineManager
from flowstack.runtime.container import Runtime


class Redirect:
    """A dispatcher whose target a test may change: hold a flow, lose a post."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def dispatch(self, flow_id: str) -> None:
        self.target.dispatch(flow_id)

    @property
    def in_process(self) -> bool:
        return bool(getattr(self.target, "in_process", False))


def local_client(
    rt: Runtime,
    dispatcher: Any,
    custom_constraints: Mapping[str, Callable[[Any], None]] | None = None,
) -> EngineClient:
    """An EngineClient answered by an engine in this process, dispatching to ``dispatcher``."""
    engine = Engine.build(rt, dispatcher, custom_constraints=custom_constraints)
    return EngineClient(channel=LocalChannel(EngineManager(engine)))
