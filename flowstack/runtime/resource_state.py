"""Load a resource's plugin from the database and save what it learned.

The database row is the source of truth between the steps of a resource
(and across a crash): ``physical_id`` in clear, the plugin's private
``data`` and its secret attribute values encrypted in ``secret_data``.
A resource whose properties draw on a secret keeps all its attributes
there (:func:`flowstack.template.secrecy.tainted_resources`).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from flowstack.db import groups, resources
from flowstack.resources.base import Resource
from flowstack.runtime.stack_definitions import StackDefinition
from flowstack.schema import attributes
from flowstack.template import secrecy

if TYPE_CHECKING:  # the Runtime imports this module to serve its plugins
    from flowstack.runtime.container import Runtime

# Keys inside the encrypted secret_data document.
_DATA = "data"
_SECRET_ATTRIBUTES = "attributes"  # noqa: S105 - a key name, not a secret
_SECRET_REFERENCE = "reference"  # noqa: S105 - a key name, not a secret


class Loaded:
    """A plugin instance bound to its row, and the row's current status."""

    def __init__(self, plugin: Resource, type_name: str, action: str, state: str) -> None:
        self.plugin = plugin
        self.type_name = type_name
        self.action = action
        self.status = state


def load(rt: Runtime, stack: StackDefinition, name: str, *, checkpoint: bool = False) -> Loaded:
    """The resource's plugin as its row says; with ``checkpoint``, first (in the
    same read) check that this runner still owns the flow and nobody cancelled it."""
    fence = rt.fence_for(stack.info.id) if checkpoint else None
    with rt.db.read_connection() as connection:
        if fence is not None:
            fence.checkpoint_on(connection)
        row = resources.get_state(connection, stack.info.id, name)
    secret = rt.secrets.decrypt(row.secret_data) if row.secret_data else {}
    plugin_class = rt.types(stack).get(row.type)
    plugin = plugin_class(
        name,
        stack.info,
        physical_id=row.physical_id,
        data=secret.get(_DATA),
        clients=rt.clients,
        host=rt,
    )
    plugin.guard = functools.partial(rt.guard, stack.info.id)
    return Loaded(plugin, row.type, row.action, row.status)


def plugin_state(rt: Runtime, plugin: Resource, **extra: Any) -> dict[str, Any]:
    """Column values that persist the plugin's physical id and private data.

    Nothing to keep means nothing to encrypt: most resources of most
    stacks have no private data, and encrypting an empty document on every
    state change was measurable.
    """
    document: dict[str, Any] = {_DATA: plugin.data, **extra} if plugin.data else dict(extra)
    if not any(document.values()):
        return {"physical_id": plugin.physical_id, "secret_data": None}
    return {"physical_id": plugin.physical_id, "secret_data": rt.secrets.encrypt(document)}


def ready_state(rt: Runtime, plugin: Resource) -> tuple[dict[str, Any], dict[str, Any]]:
    """Columns for a ready resource, and the task result dependents receive.

    The result holds the reference and the attributes that are neither
    secret nor bulky: secret ones stay in the encrypted column, and ``show``
    (a whole server document) in the attributes column, read from there by
    whoever resolves them.  Flow results stay small, as a jobboard needs.
    """
    values = dict(plugin.attributes())
    if attributes.SHOW not in values:
        values[attributes.SHOW] = {
            k: v for k, v in values.items() if k not in plugin.secret_attributes()
        }
    secret_names = plugin.secret_attributes()
    if _derived_from_secrets(rt, plugin):
        secret_names = frozenset(values)  # any of them may echo a secret property
    public = {k: v for k, v in values.items() if k not in secret_names}
    hidden = {k: v for k, v in values.items() if k in secret_names}
    extra: dict[str, Any] = {_SECRET_ATTRIBUTES: hidden}
    reference = plugin.reference()
    if plugin.secret_reference:
        extra[_SECRET_REFERENCE] = reference
        reference = None
    columns = plugin_state(rt, plugin, **extra)
    columns["attributes"] = public
    result = {
        "id": plugin.physical_id,
        "ref": reference,
        "attributes": {k: v for k, v in public.items() if k != attributes.SHOW},
        "secret_ref": plugin.secret_reference,
    }
    return columns, result


def _derived_from_secrets(rt: Runtime, plugin: Resource) -> bool:
    """Whether a property of this resource draws on a secret (see template.secrecy).

    A scaling group's members take every property from a hidden parameter of
    their nested stack (so that the values are stored encrypted): whether they
    draw on a secret is whether their group does, in the group's own stack.
    """
    stack = rt.stacks.get(plugin.stack.id, plugin.name)
    owner = _owning_group(rt, stack)
    if owner is not None:
        parent, group = owner
        return group in secrecy.tainted_resources(parent.template, rt.types(parent))
    return plugin.name in secrecy.tainted_resources(stack.template, rt.types(stack))


def _owning_group(rt: Runtime, stack: StackDefinition) -> tuple[StackDefinition, str] | None:
    """The stack and name of the scaling group whose members ``stack`` holds, if any."""
    if stack.parent_id is None:
        return None
    parent = rt.stacks.get(stack.parent_id)
    for name in parent.template.resources:
        if groups.nested_stack_id(parent.info.id, name) == stack.info.id:
            return parent, name
    return None


def stored_value(rt: Runtime, stack_id: str, name: str, attribute: str | None) -> Any:
    """An attribute kept out of flow results (secret or bulky), from the database.

    With ``attribute`` None: the secret reference (what get_resource gives).
    """
    with rt.db.read_connection() as connection:
        row = resources.get_state(connection, stack_id, name)
    if attribute is not None and attribute in (row.attributes or {}):
        return row.attributes[attribute]
    document = rt.secrets.decrypt(row.secret_data) if row.secret_data else {}
    if attribute is None:
        return document.get(_SECRET_REFERENCE)
    return document.get(_SECRET_ATTRIBUTES, {}).get(attribute)
