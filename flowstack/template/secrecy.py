"""Which property values must not be echoed in error messages.

A property whose value comes from a hidden parameter, a secret attribute
(``Attribute(secret=True)``) or the reference of a type whose reference is
secret (``secret_reference = True``, e.g. RandomString) is named in errors,
but its value is not shown: invariant 6 of the design (secrets never appear in logs, events or
replies) covers the messages this package writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowstack.schema.attributes import is_secret
from flowstack.template import functions

if TYPE_CHECKING:
    from flowstack.template.model import Template
    from flowstack.template.validator import ResourceTypes


def is_sensitive(snippet: Any, template: Template, resource_types: ResourceTypes | None) -> bool:
    """Whether a parsed snippet draws on a hidden parameter or a secret value of a resource."""
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
            elif is_secret(getattr(plugin, "attributes_schema", {}), call.attribute):
                return True
    return False


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
