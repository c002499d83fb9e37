"""Template files as resource types (Heat's ``type: lb_server.yaml`` with a files map).

A client sends the files its template names as types, as Heat's clients do;
the file's parameters become the type's properties and its outputs the
type's attributes.  :class:`FileTypes` answers type lookups for one stack:
its built-in types and its files.  Files are checked once, when the stack is
created (:func:`check_files`), so that a lookup later never fails on them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

from flowstack.exceptions import TemplateError, TemplateInvalid
from flowstack.resources.base import Resource
from flowstack.resources.types.template_resource import STACK_ID, TemplateResource
from flowstack.schema import attributes
from flowstack.schema import properties as p
from flowstack.template import Template, parse, secrecy, validate
from flowstack.template import files as template_files
from flowstack.template import parameters as params

SUFFIXES = (".yaml", ".yml", ".template", ".json")

_PROPERTY_TYPES = {
    params.STRING: p.Schema.STRING,
    params.NUMBER: p.Schema.NUMBER,
    params.BOOLEAN: p.Schema.BOOLEAN,
    params.LIST: p.Schema.LIST,
    params.JSON: p.Schema.MAP,
}


def is_template_name(type_name: str) -> bool:
    """A type written as a file name: it must come with the files map."""
    return type_name.lower().endswith(SUFFIXES)


class FileTypes:
    """The built-in resource types, and each file of a files map as a type."""

    def __init__(self, registry: Any, files: Mapping[str, str]) -> None:
        self._registry = registry
        self._files = dict(files)

    def get(self, type_name: str) -> type[Resource]:
        text = self._files.get(type_name)
        if text is None:
            return self._registry.get(type_name)
        return plugin_for(type_name, text, self._registry)

    def types(self) -> list[str]:
        return sorted([*self._registry.types(), *self._files])


def types_for(registry: Any, files: Mapping[str, str] | None) -> Any:
    """What a stack's resources may be: the registry, with the stack's files if any."""
    return FileTypes(registry, files) if files else registry


@functools.lru_cache(maxsize=64)
def plugin_for(name: str, text: str, registry: Any) -> type[Resource]:
    """The resource class of a template file (one per distinct text, cached).

    An output that draws on a hidden parameter or a secret value is a
    secret attribute: it is stored encrypted, like the value it came from.
    """
    tmpl = parse(text)
    properties = {key: _property(schema) for key, schema in tmpl.parameters.items()}
    outputs = {
        key: attributes.Attribute(
            output.description or f"Output {key} of {name}.",
            secret=secrecy.is_sensitive(output.value, tmpl, registry),
        )
        for key, output in tmpl.outputs.items()
    }
    outputs[STACK_ID] = attributes.Attribute("Id of the nested stack.")
    return type(
        f"TemplateResource[{name}]",
        (TemplateResource,),
        {
            "type_name": name,
            "description": tmpl.description or f"Template file {name}",
            "properties_schema": properties,
            "attributes_schema": outputs,
            "template": tmpl,
        },
    )


def _property(schema: params.ParameterSchema) -> p.Schema:
    data_type = _PROPERTY_TYPES[schema.type]
    return p.Schema(
        data_type,
        schema.description,
        required=schema.default is None,
        default=schema.default,
        constraints=[c for c in schema.constraints if data_type in c.valid_types],
    )


def referenced_files(tmpl: Template) -> set[str]:
    """File names a template uses as types, for its resources or its groups' members."""
    return _file_types(
        (resource.type, resource.properties.get("resource")) for resource in tmpl.resources.values()
    )


def file_types_in(data: Any) -> set[str]:
    """The same, from a template's plain data (a client reading files to send)."""
    resources = data.get("resources") if isinstance(data, Mapping) else None
    if not isinstance(resources, Mapping):
        return set()
    found = []
    for resource in resources.values():
        if isinstance(resource, Mapping):
            properties = resource.get("properties")
            member = properties.get("resource") if isinstance(properties, Mapping) else None
            found.append((resource.get("type"), member))
    return _file_types(found)


def _file_types(pairs: Any) -> set[str]:
    found = set()
    for kind, member in pairs:
        member_kind = member.get("type") if isinstance(member, Mapping) else None
        for name in (kind, member_kind):
            if isinstance(name, str) and is_template_name(name):
                found.add(name)
    return found


def check_files(
    tmpl: Template,
    files: Mapping[str, Any],
    registry: Any,
    custom_constraints: Mapping[str, Callable[[Any], None]] | None = None,
) -> dict[str, str]:
    """The files the template uses, each checked; raises TemplateInvalid naming the file.

    A file's own resources must be built-in types: a template file inside a
    template file is refused.
    """
    errors: list[TemplateError] = []
    used: dict[str, str] = {}
    for name in sorted(referenced_files(tmpl)):
        text = files.get(name)
        if not isinstance(text, str):
            given = ", ".join(sorted(files)) or "none"
            errors.append(
                TemplateError(
                    f"files.{name}",
                    f"the template uses {name!r} as a resource type but the files map does "
                    f"not hold it (files given: {given})",
                )
            )
            continue
        try:
            nested = parse(text, files)
        except TemplateInvalid as exc:
            errors.extend(_in_file(name, exc.errors))
            continue
        inner = sorted(r.type for r in nested.resources.values() if is_template_name(r.type))
        if inner:
            errors.append(
                TemplateError(
                    f"files.{name}",
                    f"uses template file {inner[0]!r} as a type; template files cannot "
                    "nest in flowstack (use built-in types inside a template file)",
                )
            )
            continue
        try:
            validate(
                nested,
                {},
                registry,
                pseudo_parameters={},
                custom_constraints=custom_constraints,
                values_later=True,
            )
        except TemplateInvalid as exc:
            errors.extend(_in_file(name, exc.errors))
            continue
        # Kept with its get_file calls in place (as JSON, which is YAML too): the
        # files it read are not stored.
        used[name] = json.dumps(nested.to_mapping()) if template_files.GET_FILE in text else text
    if errors:
        raise TemplateInvalid(errors=errors)
    return used


def _in_file(name: str, errors: list[TemplateError]) -> list[TemplateError]:
    return [
        TemplateError(f"files.{name}:{e.path}" if e.path else f"files.{name}", e.message, e.line)
        for e in errors
    ]
