"""A stack's outputs, resolved from what its resources recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowstack import template
from flowstack.db import resources
from flowstack.runtime import resource_state
from flowstack.runtime.resolution import TaskResolution
from flowstack.runtime.stack_definitions import StackDefinition

if TYPE_CHECKING:  # the Runtime imports this module to serve its plugins
    from flowstack.runtime.container import Runtime


def resolve_outputs(
    rt: Runtime, stack: StackDefinition
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Outputs as (listing without values, values) — values are stored encrypted.

    Any output may carry a secret (a RandomString, a hidden parameter), so
    every value is kept encrypted and shown only to the stack's owner.
    """
    types = rt.types(stack)
    with rt.db.reader() as session:
        results = {
            row.name: {
                "ref": row.physical_id,
                "attributes": row.attributes or {},
                "secret_ref": types.get(row.type).secret_reference,
            }
            for row in resources.list_for_stack(session, stack.info.id)
        }
    context = TaskResolution(
        stack.parameters,
        results,
        lambda name, attribute: resource_state.stored_value(rt, stack.info.id, name, attribute),
        lambda name: types.get(stack.template.resources[name].type).accepts_any_attributes,
    )
    listing, values = [], {}
    for name, output in template.resolve_outputs(stack.template, context).items():
        listing.append(
            {"output_key": name, "description": output.description, "output_error": output.error}
        )
        values[name] = output.value
    return listing, values
