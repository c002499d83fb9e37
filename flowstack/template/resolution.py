"""Run-time resolution: a resource's properties and the stack's outputs, with real values.

The engine supplies a :class:`ResolutionContext` (parameter values, physical
ids, attribute values); functions are evaluated and properties checked again
against the plugin's schema, because a value only known now (a ``get_attr``
result) may still be wrong for the property it feeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from flowstack.exceptions import FlowstackError, TemplateError, TemplateInvalid
from flowstack.schema.properties import validate_properties
from flowstack.template import functions, paths, secrecy
from flowstack.template.model import Template
from flowstack.template.validator import ResourceTypes


class ResolutionContext(Protocol):
    """What the engine knows about a stack while it runs."""

    parameters: Mapping[str, Any]
    """Typed parameter values, pseudo-parameters included."""

    def resource_ref(self, name: str) -> Any:
        """What ``get_resource`` returns: the resource's physical id."""
        ...

    def attribute(self, name: str, attribute: str) -> Any:
        """The attribute's value, before any ``get_attr`` path is applied."""
        ...


@dataclass(frozen=True)
class OutputValue:
    """An output's value, or why it has none (as Heat shows ``output_error``)."""

    value: Any
    error: str | None
    description: str


class _RuntimeEnv:
    def __init__(self, template: Template, context: ResolutionContext, *, tolerant: bool) -> None:
        self.template = template
        self.context = context
        # Outputs are shown even when a resource is gone; an engine lookup error
        # becomes that output's error instead of failing the whole call.
        self.tolerant = tolerant

    def param(self, name: str, where: str) -> Any:
        try:
            return self.context.parameters[name]
        except KeyError:
            raise functions.ResolutionError(
                path=where, reason=f"get_param: parameter {name!r} has no value"
            ) from None

    def ref(self, name: str, where: str) -> Any:
        self._known(name, where)
        return self._ask(where, self.context.resource_ref, name)

    def attr(self, resource: str, attribute: str, where: str) -> Any:
        self._known(resource, where)
        return self._ask(where, self.context.attribute, resource, attribute)

    def _known(self, name: str, where: str) -> None:
        if name not in self.template.resources:
            raise functions.ResolutionError(path=where, reason=f"resource {name!r} is not defined")

    def _ask(self, where: str, call: Callable[..., Any], *args: str) -> Any:
        if not self.tolerant:
            return call(*args)
        try:
            return call(*args)
        except (FlowstackError, LookupError) as exc:
            raise functions.ResolutionError(path=where, reason=str(exc)) from None


def resolve_properties(
    template: Template,
    resource_name: str,
    context: ResolutionContext,
    resource_types: ResourceTypes,
    *,
    custom_constraints: Mapping[str, Callable[[Any], None]] | None = None,
) -> dict[str, Any]:
    """The resource's properties, resolved, defaults applied and coerced to the schema.

    A type that accepts any properties (``accepts_any_properties``, e.g.
    ``OS::Heat::None``) gets them resolved but unchecked.

    :raises KeyError: no such resource in the template, or its type is unknown.
    :raises TemplateInvalid: a resolved value is wrong, naming its place.
    """
    resource = template.resources[resource_name]
    plugin = resource_types.get(resource.type)
    errors: list[TemplateError] = []
    resolved = functions.resolve_each(
        resource.properties, _RuntimeEnv(template, context, tolerant=False), errors
    )
    if getattr(plugin, "accepts_any_properties", False):  # OS::Heat::None
        if errors:
            raise TemplateInvalid(errors=template.with_lines(errors))
        return resolved
    values, found, _ = validate_properties(
        getattr(plugin, "properties_schema", {}),
        resolved,
        paths.child(paths.child("resources", resource_name), "properties"),
        custom_constraints,
        concealed=secrecy.concealed_keys(resource.properties, template, resource_types),
    )
    errors.extend(found)
    if not errors and hasattr(plugin, "check_properties"):
        errors.extend(
            plugin.check_properties(
                values,
                paths.child(paths.child("resources", resource_name), "properties"),
                resource_types,
                custom_constraints,
            )
        )
    if errors:
        raise TemplateInvalid(errors=template.with_lines(errors))
    return values


def resolve_metadata(
    template: Template, resource_name: str, context: ResolutionContext
) -> dict[str, Any]:
    """The resource's metadata with every function resolved.

    :raises KeyError: no such resource in the template.
    :raises TemplateInvalid: a function cannot be resolved, naming its place.
    """
    resource = template.resources[resource_name]
    errors: list[TemplateError] = []
    resolved = functions.resolve_each(
        resource.metadata, _RuntimeEnv(template, context, tolerant=False), errors
    )
    if errors:
        raise TemplateInvalid(errors=template.with_lines(errors))
    return resolved


def resolve_outputs(template: Template, context: ResolutionContext) -> dict[str, OutputValue]:
    """Every output's value; an output that cannot be resolved carries its error instead."""
    env = _RuntimeEnv(template, context, tolerant=True)
    outputs: dict[str, OutputValue] = {}
    for name, output in template.outputs.items():
        try:
            value = functions.resolve(output.value, env)
        except functions.ResolutionError as exc:
            outputs[name] = OutputValue(None, str(exc.error()), output.description)
        else:
            outputs[name] = OutputValue(value, None, output.description)
    return outputs
