"""The contract every resource type implements.

A plugin is a class with a schema (``properties_schema``,
``attributes_schema``) and four steps that the flow's tasks call::

    handle_create(properties)   start creating; may adopt what an earlier
                                attempt already created (idempotent)
    check_create_complete()     poll once: True when ready, False to poll again,
                                ResourceFailure when it can never be ready
    handle_delete()             start deleting; something already gone is fine
    check_delete_complete()     poll once, like check_create_complete

and ``attributes()`` once the resource is ready.  Plugins that talk to a
remote service which builds asynchronously (Nova) set ``create_polls`` /
``delete_polls``; the flow then checks them with "poll once, raise, and let
a retry controller loop", so every poll is checkpointed and a resumed flow
resumes the wait.

Call ``self.guard()`` immediately before any call that changes something
remotely (boot, delete): it raises if this runner's claim on the flow was
taken over meanwhile (see :mod:`flowstack.runtime.fencing`), so that a worker
woken from a pause never acts twice.

A plugin instance lives for one task execution.  What it must remember
between steps (a server id, the intent it recorded before calling Nova, a
generated secret) goes into ``self.physical_id`` and ``self.data``; the task
persists both (``data`` encrypted) before and after each step, so that a
re-executed task (after a crash) finds them again.

:raises flowstack.exceptions.ResourceFailure: from any step, when the
    resource failed for a reason the user must see (quota, fault message).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

from flowstack.resources.host import NoHost, ResourceHost
from flowstack.schema import attributes as attr_schema
from flowstack.schema import properties as prop_schema


@dataclasses.dataclass(frozen=True)
class StackInfo:
    """What a plugin may know of the stack it belongs to."""

    id: str
    name: str
    project_id: str


class Resource(abc.ABC):
    """Base of every resource type; subclasses live in ``flowstack.resources.types``."""

    type_name: ClassVar[str]
    description: ClassVar[str] = ""
    properties_schema: ClassVar[dict[str, prop_schema.Schema]] = {}
    attributes_schema: ClassVar[dict[str, attr_schema.Attribute]] = {}
    create_polls: ClassVar[bool] = False
    delete_polls: ClassVar[bool] = False
    #: get_resource returns a secret (RandomString): resolve it from storage.
    secret_reference: ClassVar[bool] = False
    #: Placeholders (OS::Heat::None) take any property and any attribute.
    accepts_any_properties: ClassVar[bool] = False
    accepts_any_attributes: ClassVar[bool] = False
    #: A scaling group: its members are created by flows of their own (see flows.scale_flows).
    is_group: ClassVar[bool] = False
    #: A template file used as a type: a nested stack whose resources the flow creates.
    is_template: ClassVar[bool] = False

    def __init__(
        self,
        name: str,
        stack: StackInfo,
        *,
        physical_id: str | None = None,
        data: dict[str, Any] | None = None,
        clients: Any = None,
        host: ResourceHost | None = None,
    ) -> None:
        self.name = name
        self.stack = stack
        self.physical_id = physical_id
        self.data: dict[str, Any] = dict(data or {})
        #: Clients of the remote services (:class:`flowstack.clients.Clients`).
        self.clients = clients
        #: The process running this plugin (see :mod:`flowstack.resources.host`).
        self.host: ResourceHost = host if host is not None else NoHost()
        #: Set by the task: raises FencedOut when this runner lost the flow.
        self.guard: Callable[[], None] = _unguarded

    @classmethod
    def check_properties(
        cls,
        values: dict[str, Any],
        path: str,
        resource_types: Any,
        custom_constraints: Any = None,
    ) -> list[Any]:
        """Rules across properties that a schema cannot say (``min_size <= max_size``).

        Called after the schema check, at validation (run-time values are
        DEFERRED) and again at run time; returns TemplateErrors.
        """
        return []

    @classmethod
    def secret_attributes(cls) -> frozenset[str]:
        return frozenset(n for n, a in cls.attributes_schema.items() if a.secret)

    def intent(self, properties: dict[str, Any]) -> dict[str, Any]:
        """What identifies this resource's remote object before it exists.

        Recorded before ``handle_create`` runs, so that a re-executed create
        and a rollback can find an object whose creation reply was lost.
        """
        return {}

    @abc.abstractmethod
    def handle_create(self, properties: dict[str, Any]) -> None:
        """Start creating (or adopt what an earlier attempt created)."""

    def check_create_complete(self) -> bool:
        return True

    def handle_delete(self) -> None:  # noqa: B027 - most types have nothing remote to delete
        """Start deleting; must succeed when there is nothing (left) to delete."""

    def check_delete_complete(self) -> bool:
        return True

    def health(self) -> str | None:
        """Why a resource in service is broken (its server went to ERROR), or None.

        Scaling groups ask before each convergence and replace broken members.
        Raise when the answer is unknown (the cloud is unreachable).
        """
        return None

    def poll_delay(self, default: float) -> float:
        """Seconds to wait before the next check; plugins may shorten it."""
        return default

    def reference(self) -> Any:
        """What ``get_resource`` returns: the physical id unless a type says otherwise."""
        return self.physical_id

    def attributes(self) -> dict[str, Any]:
        """Every attribute value, once the resource is ready.

        ``show`` (all of them, as Heat offers on every type) is added by
        the caller; secret attributes are split off and stored encrypted.
        """
        return {}


def _unguarded() -> None:
    """Outside a runner (tests of a plugin alone) there is nothing to fence."""
