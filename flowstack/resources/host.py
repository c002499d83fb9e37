"""What a plugin may ask of the process running it, beyond its remote clients.

Most plugins only talk to a cloud (``Resource.clients``).  A few keep their
objects in flowstack's own database: a scaling group and its policies are
rows, and a template resource is a nested stack.  They reach that database
through a :class:`ResourceHost`, handed to them when they are loaded, so that
this package never imports the runtime that implements it
(:class:`flowstack.runtime.container.Runtime` does).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import sqlalchemy as sa
    from oslo_config import cfg

    from flowstack.db.session import Database
    from flowstack.resources.base import Resource
    from flowstack.secrets import SecretBox


class ResourceHost(Protocol):
    """The process a plugin runs in, as far as a plugin may use it."""

    @property
    def conf(self) -> cfg.ConfigOpts: ...

    @property
    def db(self) -> Database: ...

    @property
    def secrets(self) -> SecretBox: ...

    def write(self, stack_id: str) -> contextlib.AbstractContextManager[sa.Connection]:
        """A write transaction on behalf of the stack's running flow, fenced.

        :raises flowstack.exceptions.FencedOut: this runner lost the flow.
        """

    def stack_files(self, stack_id: str) -> Mapping[str, str]:
        """The template files a stack was created with (Heat's files map)."""

    def load_resource(self, stack_id: str, name: str) -> Resource:
        """Another resource's plugin, bound to its stored state (e.g. a nested stack's)."""

    def stack_outputs(self, stack_id: str) -> dict[str, Any]:
        """A stack's output values, resolved from what its resources recorded."""


class NoHost:
    """A plugin used outside a runner (a test of the plugin alone): nothing to reach."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(
            f"this plugin needs its host ({name}) but was loaded outside a flowstack runtime"
        )
