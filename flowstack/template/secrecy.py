"""Which values are secret, and which are derived from a secret.

A hidden parameter, a secret attribute (``Attribute(secret=True)``) and the
reference of a type whose reference is secret (``secret_reference = True``,
e.g. RandomString) are secrets.  A value computed from one by any function
(``str_replace``, ``list_join``...) carries the secret as well, and so does
everything a resource fed with such a value exposes: its attributes may
echo its properties (``OS::Heat::TestResource``'s ``output`` is its
``value``).  Such a resource is *tainted*: its attributes are kept with the
secrets (encrypted, out of flow results and views), and a property drawing
on them is concealed in messages like a secret one.  Its reference (the
physical id) is not derived from its properties and stays in clear.

Invariant 6 of the design (secrets never appear in logs, events, replies or
flow details) rests on this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowstack.schema.attributes import is_secret
from flowstack.template import functions

if TYPE_CHECKING:
    from flowstack.template.model import Template
    from flowstack.template.validator import ResourceTypes

_TAINTED = "tainted_resources"


def is_sensitive(
    snippet: Any,
    template: Template,
    resource_types: ResourceTypes | None,
    tainted: frozenset[str] | None = None,
) -> bool:
    """Whether a parsed snippet draws on a secret: a hidden parameter, a secret value
    of a resource, or an attribute of a tainted resource (``tainted``, by default
    those of :func:`tainted_resources`)."""
    for call in functions.iter_functions(snippet):
        if isinstance(call, functions.GetParam):
            schema = template.parameters.get(call.parameter)
            if schema is not None and schema.hidden:
                return True
        elif isinstance(call, functions.GetAttr | functions.GetResource):
            plugin = _plugin(call.resource, template, resource_types)
            if plugin is None:
                continue
            if isinstance(call, functions.GetResource):
                if getattr(plugin, "secret_reference", False):
                    return True
                continue
            if is_secret(getattr(plugin, "attributes_schema", {}), call.attribute):
                return True
            if tainted is None:
                tainted = tainted_resources(template, resource_types)
            if call.resource in tainted:
                return True
    return False


def tainted_resources(template: Template, resource_types: ResourceTypes | None) -> frozenset[str]:
    """The resources some property of which draws on a secret, directly or through
    other tainted resources; computed once per template (a stack's resource types
    do not change)."""
    memo = template.memo
    known = memo.get(_TAINTED)
    if isinstance(known, frozenset):
        return known
    none: frozenset[str] = frozenset()
    found = {
        name
        for name, resource in template.resources.items()
        if any(
            is_sensitive(p, template, resource_types, none) for p in resource.properties.values()
        )
    }
    readers: dict[str, set[str]] = {}  # resource -> resources whose properties get_attr it
    for name, resource in template.resources.items():
        for call in functions.iter_functions(resource.properties):
            if isinstance(call, functions.GetAttr):
                readers.setdefault(call.resource, set()).add(name)
    pending = list(found)
    while pending:
        for reader in readers.get(pending.pop(), ()):
            if reader not in found:
                found.add(reader)
                pending.append(reader)
    tainted = frozenset(found)
    memo[_TAINTED] = tainted
    return tainted


def _plugin(name: str, template: Template, resource_types: ResourceTypes | None) -> type | None:
    target = template.resources.get(name)
    if target is None or resource_types is None:
        return None
    try:
        return resource_types.get(target.type)
    except KeyError:
        return None


def concealed_keys(
    properties: Mapping[str, Any], template: Template, resource_types: ResourceTypes | None
) -> frozenset[str]:
    """Names of the properties whose values must not appear in messages."""
    return frozenset(
        key
        for key, snippet in properties.items()
        if is_sensitive(snippet, template, resource_types)
    )
