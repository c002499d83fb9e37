"""Validation of a parsed template against the resource types and the user's parameters.

This is everything that can be known before the stack exists: parameter
values, resource types, properties (with ``get_resource``/``get_attr`` results
:data:`DEFERRED`), references, ``depends_on``, and dependency cycles.  Every
problem is collected and raised as one :class:`TemplateInvalid`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from flowstack.exceptions import TemplateError, TemplateInvalid
from flowstack.schema.attributes import attribute_names
from flowstack.schema.properties import DEFERRED, validate_properties
from flowstack.template import functions, graph, paths, secrecy
from flowstack.template import parameters as params
from flowstack.template.model import Template


class ResourceTypes(Protocol):
    """The resource plugins the engine offers."""

    def get(self, type_name: str) -> type:
        """The plugin class; raises KeyError when the type is unknown."""
        ...

    def types(self) -> list[str]:
        """Names of every supported type."""
        ...


@dataclass(frozen=True)
class ValidatedTemplate:
    """What validation learnt: typed parameter values and the resource graph."""

    parameters: dict[str, Any] = field(repr=False)  # may hold hidden values
    hidden: frozenset[str]
    dependencies: dict[str, frozenset[str]]
    warnings: list[str]


class _ValidationEnv:
    """Parameters are known; resources do not exist yet."""

    def __init__(self, values: Mapping[str, Any], pseudo: Mapping[str, Any]) -> None:
        self.values = values
        self.pseudo = pseudo

    def param(self, name: str, where: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name in params.PSEUDO_PARAMETERS and name in self.pseudo:
            return self.pseudo[name]
        return DEFERRED  # undefined or invalid: reported once, elsewhere

    def ref(self, name: str, where: str) -> Any:
        return DEFERRED

    def attr(self, resource: str, attribute: str, where: str) -> Any:
        return DEFERRED


def validate(
    template: Template,
    parameter_values: Mapping[str, Any],
    resource_types: ResourceTypes,
    *,
    pseudo_parameters: Mapping[str, str],
    custom_constraints: Mapping[str, Callable[[Any], None]] | None = None,
    values_later: bool = False,
    known_errors: Sequence[TemplateError] = (),
) -> ValidatedTemplate:
    """Check a template for a stack; returns what the engine needs to build the flow.

    ``parameter_values`` may be strings (from ``--parameter KEY=VALUE``) or typed.
    With ``values_later`` (a template file used as a resource type, whose
    parameters are the properties it gets at run time) the parameters not
    in ``parameter_values`` are unknown, and what needs them waits for run time.

    ``known_errors`` (the template's structure errors, found earlier) are
    reported with the others; definitions they are about (``template.damaged``)
    are not checked again, so one mistake gives one error.

    :raises TemplateInvalid: with every problem found.
    """
    errors: list[TemplateError] = list(known_errors)
    warnings: list[str] = []
    damaged = {
        name for name in template.parameters if paths.child("parameters", name) in template.damaged
    }
    schemas = {n: s for n, s in template.parameters.items() if n not in damaged}
    given = {
        n: v
        for n, v in (parameter_values or {}).items()
        if paths.child("parameters", n) not in template.damaged
    }
    if values_later:  # only the values known now are checked; the others are DEFERRED
        schemas = {n: s for n, s in schemas.items() if n in given}
    values, found, warned = params.validate_values(schemas, given, custom_constraints)
    errors.extend(found)
    warnings.extend(warned)
    plugins = _plugins(template, resource_types, errors)
    _check_depends_on(template, errors)
    _check_references(template, plugins, errors)
    env = _ValidationEnv(values, pseudo_parameters)
    for name, resource in template.resources.items():
        path = paths.child("resources", name)
        resolved = functions.resolve_each(resource.properties, env, errors)
        for key in resolved:  # a value whose errors are known: checked when it is fixed
            if paths.child(paths.child(path, "properties"), key) in template.damaged:
                resolved[key] = DEFERRED
        functions.resolve_each(resource.metadata, env, errors)
        plugin = plugins.get(name)
        if plugin is None or getattr(plugin, "accepts_any_properties", False):
            continue
        concealed = secrecy.concealed_keys(resource.properties, template, resource_types)
        checked, found, warned = validate_properties(
            getattr(plugin, "properties_schema", {}),
            resolved,
            paths.child(path, "properties"),
            custom_constraints,
            concealed=concealed,
        )
        errors.extend(found)
        warnings.extend(warned)
        if not found and hasattr(plugin, "check_properties"):
            errors.extend(
                plugin.check_properties(
                    checked, paths.child(path, "properties"), resource_types, custom_constraints
                )
            )
    for output in template.outputs.values():
        functions.resolve_each({"value": output.value}, env, errors)
    graph_of = dependencies(template)
    for cycle in graph.find_cycles(graph_of):
        errors.append(
            TemplateError(
                paths.child("resources", cycle[0]),
                f"dependency cycle: {graph.describe_cycle(cycle)}",
            )
        )
    if errors:
        raise TemplateInvalid(errors=list(dict.fromkeys(template.with_lines(errors))))
    return ValidatedTemplate(
        parameters=values,
        hidden=frozenset(n for n, s in template.parameters.items() if s.hidden),
        dependencies=graph_of,
        warnings=list(dict.fromkeys(warnings)),
    )


def _plugins(
    template: Template, resource_types: ResourceTypes, errors: list[TemplateError]
) -> dict[str, type]:
    plugins: dict[str, type] = {}
    for name, resource in template.resources.items():
        if paths.child("resources", name) in template.damaged:
            continue  # its errors are known; its type or properties may be half-parsed
        try:
            plugins[name] = resource_types.get(resource.type)
        except KeyError:
            known = sorted(resource_types.types())
            close = difflib.get_close_matches(resource.type, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            errors.append(
                TemplateError(
                    paths.child(paths.child("resources", name), "type"),
                    f"unknown resource type {resource.type!r}{hint}; supported types: "
                    f"{', '.join(known) or 'none'}",
                )
            )
    return plugins


def _check_depends_on(template: Template, errors: list[TemplateError]) -> None:
    for name, resource in template.resources.items():
        path = paths.child(paths.child("resources", name), "depends_on")
        for target in resource.depends_on:
            if target == name:
                errors.append(TemplateError(path, f"resource {name!r} cannot depend on itself"))
            elif target not in template.resources:
                errors.append(TemplateError(path, f"{target!r} is not a resource of this template"))


def _snippets(template: Template) -> list[Any]:
    snippets: list[Any] = []
    for resource in template.resources.values():
        snippets += [resource.properties, resource.metadata]
    snippets += [output.value for output in template.outputs.values()]
    return snippets


def _check_references(
    template: Template, plugins: Mapping[str, type], errors: list[TemplateError]
) -> None:
    defined = sorted(template.parameters)
    for snippet in _snippets(template):
        for call in functions.iter_functions(snippet):
            if isinstance(call, functions.GetParam):
                name = call.parameter
                known = name in template.parameters or name in params.PSEUDO_PARAMETERS
                if not known and paths.child("parameters", name) not in template.damaged:
                    errors.append(
                        TemplateError(
                            call.where,
                            (
                                f"parameter {name!r} is not defined; parameters: "
                                f"{', '.join(defined + list(params.PSEUDO_PARAMETERS))}"
                            ),
                        )
                    )
            elif isinstance(call, functions.GetResource | functions.GetAttr):
                if call.resource not in template.resources:
                    errors.append(
                        TemplateError(
                            call.where,
                            f"resource {call.resource!r} is not defined in this template",
                        )
                    )
                elif isinstance(call, functions.GetAttr) and call.resource in plugins:
                    _check_attribute(call, template, plugins[call.resource], errors)


def _check_attribute(
    call: functions.GetAttr, template: Template, plugin: type, errors: list[TemplateError]
) -> None:
    if getattr(plugin, "accepts_any_attributes", False):
        return
    names = attribute_names(getattr(plugin, "attributes_schema", {}))
    if call.attribute not in names:
        type_name = template.resources[call.resource].type
        errors.append(
            TemplateError(
                call.where,
                (
                    f"resource {call.resource!r} ({type_name}) has no attribute "
                    f"{call.attribute!r}; attributes: {', '.join(names)}"
                ),
            )
        )


def dependencies(template: Template) -> dict[str, frozenset[str]]:
    """Resource -> resources it needs first (references and depends_on).

    Needs no parameter values: references are literal in HOT, so a stored
    template's graph can be rebuilt (e.g. to delete the stack).
    """
    names = set(template.resources)
    return {
        name: frozenset(
            (resource.references() & names)
            | {d for d in resource.depends_on if d in names and d != name}
        )
        for name, resource in template.resources.items()
    }


def static_properties(
    template: Template,
    resource_name: str,
    parameter_values: Mapping[str, Any],
    pseudo_parameters: Mapping[str, str],
) -> dict[str, Any]:
    """A resource's properties as known before any resource exists.

    Values that depend on other resources are :data:`DEFERRED`.  The engine
    uses this where a flow's shape depends on a property (how many members a
    scaling group starts with).
    """
    errors: list[TemplateError] = []
    resolved = functions.resolve_each(
        template.resources[resource_name].properties,
        _ValidationEnv(parameter_values, pseudo_parameters),
        errors,
    )
    if errors:
        raise TemplateInvalid(errors=template.with_lines(errors))
    return resolved if isinstance(resolved, dict) else {}
