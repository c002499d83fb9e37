"""The Template structure, and the checks that need nothing but the template itself.

:func:`parse` and :func:`from_mapping` check sections, keys, the version,
function calls (names and argument shapes for the version), parameter schemas
and their defaults, and collect every problem before raising one
:class:`TemplateInvalid`.  Checks that need the resource types or the user's
parameter values live in :mod:`flowstack.template.validator`.
"""

from __future__ import annotations

import copy
import datetime
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowstack.exceptions import TemplateError, TemplateInvalid
from flowstack.schema.properties import kind_of
from flowstack.template import bounds, functions, loader, paths, versions
from flowstack.template import files as template_files
from flowstack.template import parameters as params
from flowstack.template.parameters import ParameterSchema

SECTIONS: tuple[str, ...] = (
    "heat_template_version",
    "description",
    "parameter_groups",
    "parameters",
    "resources",
    "outputs",
)
RESOURCE_KEYS: tuple[str, ...] = ("type", "properties", "metadata", "depends_on", "description")
OUTPUT_KEYS: tuple[str, ...] = ("value", "description")
GROUP_KEYS: tuple[str, ...] = ("label", "description", "parameters")

# What Heat has and flowstack does not do: named apart so the message says so.
_UNSUPPORTED_SECTIONS = ("conditions",)
_UNSUPPORTED_RESOURCE_KEYS = ("deletion_policy", "update_policy", "condition", "external_id")
_UNSUPPORTED_OUTPUT_KEYS = ("condition",)
_CFN_SECTIONS = ("AWSTemplateFormatVersion", "HeatTemplateFormatVersion", "Resources")


@dataclass(frozen=True)
class ResourceDefinition:
    """A resource as written; ``properties`` and ``metadata`` are parsed snippets."""

    name: str
    type: str
    properties: dict[str, Any]
    depends_on: list[str]
    metadata: dict[str, Any]
    description: str = ""

    def references(self) -> frozenset[str]:
        """Resources named by get_resource/get_attr in properties and metadata."""
        return frozenset(
            functions.referenced_resources(self.properties)
            | functions.referenced_resources(self.metadata)
        )


@dataclass(frozen=True)
class OutputDefinition:
    """An output as written; ``value`` is a parsed snippet."""

    name: str
    value: Any
    description: str = ""


@dataclass(frozen=True)
class ParameterGroup:
    """A ``parameter_groups`` entry; it only orders parameters for user interfaces."""

    label: str | None
    description: str | None
    parameters: tuple[str, ...]


@dataclass(frozen=True)
class Template:
    """A parsed, structurally valid HOT template."""

    version: str
    description: str
    parameters: dict[str, ParameterSchema]
    resources: dict[str, ResourceDefinition]
    outputs: dict[str, OutputDefinition]
    parameter_groups: tuple[ParameterGroup, ...] = ()
    #: Paths (``parameters.NAME``, ``resources.NAME``) whose definitions have errors
    #: already reported: later checks skip them rather than report them again.
    damaged: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _data: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _lines: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    #: What is computed once per template (e.g. which resources are tainted by secrets).
    memo: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def to_mapping(self) -> dict[str, Any]:
        """The original data, JSON-safe, for storage; :func:`from_mapping` reads it back."""
        return copy.deepcopy(self._data)

    def output_dependencies(self) -> frozenset[str]:
        """Resources the outputs refer to, which must exist to show them."""
        found: set[str] = set()
        for output in self.outputs.values():
            found |= functions.referenced_resources(output.value)
        return frozenset(found)

    def line_of(self, path: str) -> int | None:
        """Source line of a path (or of its nearest parent); None when not parsed from text."""
        return paths.line_of(self._lines, path)

    def with_lines(self, errors: list[TemplateError]) -> list[TemplateError]:
        """The errors, each with the source line of its path when known."""
        return paths.with_lines(errors, self._lines)


def parse(
    text: str, files: Mapping[str, Any] | None = None, limits: bounds.Limits | None = None
) -> Template:
    """Parse YAML or JSON template text and check its structure.

    With ``files`` (the files map a client sent), ``get_file`` calls are
    replaced by the files' contents first.  ``limits`` bound the data the
    text may expand to (:mod:`flowstack.template.bounds`).

    :raises TemplateInvalid: with every problem found, each with its line.
    """
    tmpl, errors = parse_collecting(text, files, limits)
    if errors or tmpl is None:
        raise TemplateInvalid(errors=errors)
    return tmpl


def parse_collecting(
    text: str, files: Mapping[str, Any] | None = None, limits: bounds.Limits | None = None
) -> tuple[Template | None, list[TemplateError]]:
    """Like :func:`parse`, but return the structure errors with what could be built.

    So that the checks that need resource types and parameter values can run
    too, and a user gets every error in one answer.  The template is None
    when nothing could be built (not YAML, not a map, out of bounds);
    definitions with errors are listed in its ``damaged``.
    """
    try:
        data, lines = loader.load(text, limits)
    except TemplateInvalid as exc:
        return None, exc.errors
    errors: list[TemplateError] = []
    if files is not None:
        data, errors = template_files.inline(data, files)
    tmpl, found = _build(data, lines)
    return tmpl, paths.with_lines(errors, lines) + found


def from_mapping(data: Mapping[str, Any]) -> Template:
    """Check and wrap a template already loaded (e.g. stored as JSON); no line numbers.

    :raises TemplateInvalid: with every problem found.
    """
    tmpl, errors = _build(data, {})
    if errors or tmpl is None:
        raise TemplateInvalid(errors=errors)
    return tmpl


def _build(data: Any, lines: dict[str, int]) -> tuple[Template | None, list[TemplateError]]:
    version_value = data.get("heat_template_version") if isinstance(data, Mapping) else None
    if isinstance(version_value, datetime.date):  # another YAML loader read an unquoted date
        data = {**data, "heat_template_version": version_value.isoformat()}
    errors = loader.check_plain(data)
    if not errors and not isinstance(data, Mapping):
        errors.append(
            TemplateError("", f"a template must be a map of sections, got {kind_of(data)}")
        )
    if errors:
        return None, paths.with_lines(errors, lines)
    _check_sections(data, errors)
    version = _version(data, errors)
    description = data.get("description") or ""
    if not isinstance(description, str):
        errors.append(TemplateError("description", f"must be a string, got {kind_of(description)}"))
        description = ""
    parameters, found = params.parse_section(data.get("parameters"), version)
    errors.extend(found)
    groups = _parameter_groups(data.get("parameter_groups"), data.get("parameters"), errors)
    resources = _resources(data.get("resources"), version, errors)
    outputs = _outputs(data.get("outputs"), version, errors)
    damaged = _damaged(errors, data.get("parameters"), resources)
    tmpl = Template(
        version=version.date,
        description=description,
        parameters=parameters,
        resources=resources,
        outputs=outputs,
        parameter_groups=groups,
        damaged=damaged,
        _data=copy.deepcopy(dict(data)),
        _lines=lines,
    )
    return tmpl, paths.with_lines(errors, lines)


def _damaged(
    errors: list[TemplateError], declared: Any, resources: Mapping[str, ResourceDefinition]
) -> frozenset[str]:
    """What the errors are about: ``parameters.NAME``, ``resources.NAME`` (its type or
    shape), or just ``resources.NAME.properties.KEY`` (one property's value)."""
    found = set()
    for name in declared if isinstance(declared, Mapping) else ():
        where = paths.child("parameters", name)
        if any(paths.is_within(error.path, where) for error in errors):
            found.add(where)
    for name, resource in resources.items():
        where = paths.child("resources", name)
        properties = paths.child(where, "properties")
        metadata = paths.child(where, "metadata")
        for error in errors:
            if not paths.is_within(error.path, where) or paths.is_within(error.path, metadata):
                continue
            key = next(
                (
                    k
                    for k in resource.properties
                    if paths.is_within(error.path, paths.child(properties, k))
                ),
                None,
            )
            found.add(paths.child(properties, key) if key is not None else where)
    return frozenset(found)


def _invalid_key(key: Any, valid: tuple[str, ...], unsupported: tuple[str, ...], what: str) -> str:
    if key in unsupported:
        return f"{key!r} is not supported by flowstack; valid {what}: {', '.join(valid)}"
    close = difflib.get_close_matches(str(key), valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{key!r} is not a valid {what[:-1]}{hint}; valid {what}: {', '.join(valid)}"


def _check_sections(data: Mapping[str, Any], errors: list[TemplateError]) -> None:
    for key in data:
        if key in SECTIONS:
            continue
        message = _invalid_key(key, SECTIONS, _UNSUPPORTED_SECTIONS, "sections")
        if key in _CFN_SECTIONS:
            message += " (CloudFormation-format templates are not supported)"
        errors.append(TemplateError(paths.child("", key), message))


def _version(data: Mapping[str, Any], errors: list[TemplateError]) -> versions.Version:
    if "heat_template_version" not in data:
        errors.append(
            TemplateError("heat_template_version", f"is required; accepted: {versions.accepted()}")
        )
        return versions.Version(versions.LATEST)
    try:
        return versions.normalise(data["heat_template_version"])
    except ValueError as exc:
        errors.append(TemplateError("heat_template_version", str(exc)))
        # Check the rest with the most permissive rules rather than stop here.
        return versions.Version(versions.LATEST)


def _section(data: Any, name: str, errors: list[TemplateError]) -> Mapping[Any, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        errors.append(TemplateError(name, f"must be a map, got {kind_of(data)}"))
        return {}
    return data


def _parameter_groups(
    data: Any, declared: Any, errors: list[TemplateError]
) -> tuple[ParameterGroup, ...]:
    if data is None:
        return ()
    if not isinstance(data, list):
        errors.append(TemplateError("parameter_groups", "must be a list of groups"))
        return ()
    known = set(declared) if isinstance(declared, Mapping) else set()
    seen: dict[str, str] = {}
    groups = []
    for index, group in enumerate(data):
        path = paths.item("parameter_groups", index)
        if not isinstance(group, Mapping):
            errors.append(
                TemplateError(path, "a group must be a map with label, description and parameters")
            )
            continue
        for key in group:
            if key not in GROUP_KEYS:
                errors.append(
                    TemplateError(paths.child(path, key), _invalid_key(key, GROUP_KEYS, (), "keys"))
                )
        for key in ("label", "description"):
            if group.get(key) is not None and not isinstance(group[key], str):
                errors.append(TemplateError(paths.child(path, key), "must be a string"))
        names = group.get("parameters")
        names_path = paths.child(path, "parameters")
        if not isinstance(names, list):
            errors.append(TemplateError(names_path, "a group needs a list of parameter names"))
            continue
        for position, name in enumerate(names):
            where = paths.item(names_path, position)
            if not isinstance(name, str) or name not in known:
                errors.append(TemplateError(where, f"{name!r} is not a parameter of this template"))
            elif name in seen:
                errors.append(
                    TemplateError(
                        where,
                        f"parameter {name!r} is already in group "
                        f"{seen[name]}; a parameter belongs to one group",
                    )
                )
            else:
                seen[name] = str(group.get("label") or path)
        groups.append(ParameterGroup(group.get("label"), group.get("description"), tuple(names)))
    return tuple(groups)


def _snippet_map(
    data: Any, path: str, version: versions.Version, errors: list[TemplateError]
) -> dict[Any, Any]:
    """A properties/metadata map, its calls parsed; a call in place of the map is refused."""
    if data is None:
        return {}
    if not isinstance(data, Mapping) or (
        len(data) == 1 and functions.is_function_name(next(iter(data)))
    ):
        got = "a function call" if isinstance(data, Mapping) else kind_of(data)
        errors.append(TemplateError(path, f"must be a map of names to values, got {got}"))
        return {}
    return functions.parse(dict(data), path, version, errors)


def _resources(
    data: Any, version: versions.Version, errors: list[TemplateError]
) -> dict[str, ResourceDefinition]:
    resources: dict[str, ResourceDefinition] = {}
    for name, definition in _section(data, "resources", errors).items():
        path = paths.child("resources", name)
        if not isinstance(name, str) or not name:
            errors.append(TemplateError(path, "resource names must be non-empty strings"))
            continue
        if not isinstance(definition, Mapping):
            errors.append(TemplateError(path, "a resource definition must be a map with a 'type'"))
            continue
        for key in definition:
            if key not in RESOURCE_KEYS:
                errors.append(
                    TemplateError(
                        paths.child(path, key),
                        _invalid_key(
                            key, RESOURCE_KEYS, _UNSUPPORTED_RESOURCE_KEYS, "resource keys"
                        ),
                    )
                )
        type_name = definition.get("type")
        if not isinstance(type_name, str) or not type_name:
            got = "missing" if type_name is None else f"{kind_of(type_name)}, not a type name"
            errors.append(
                TemplateError(paths.child(path, "type"), f"a resource type is required ({got})")
            )
            type_name = ""
        description = definition.get("description") or ""
        if not isinstance(description, str):
            errors.append(TemplateError(paths.child(path, "description"), "must be a string"))
        resources[name] = ResourceDefinition(
            name=name,
            type=type_name,
            properties=_snippet_map(
                definition.get("properties"), paths.child(path, "properties"), version, errors
            ),
            depends_on=_depends_on(
                definition.get("depends_on"), paths.child(path, "depends_on"), errors
            ),
            metadata=_snippet_map(
                definition.get("metadata"), paths.child(path, "metadata"), version, errors
            ),
            description=description if isinstance(description, str) else "",
        )
    return resources


def _depends_on(data: Any, path: str, errors: list[TemplateError]) -> list[str]:
    if data is None:
        return []
    names = [data] if isinstance(data, str) else data
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        errors.append(TemplateError(path, "must be a resource name or a list of resource names"))
        return []
    return list(dict.fromkeys(names))


def _outputs(
    data: Any, version: versions.Version, errors: list[TemplateError]
) -> dict[str, OutputDefinition]:
    outputs: dict[str, OutputDefinition] = {}
    for name, definition in _section(data, "outputs", errors).items():
        path = paths.child("outputs", name)
        if not isinstance(name, str) or not name:
            errors.append(TemplateError(path, "output names must be non-empty strings"))
            continue
        if not isinstance(definition, Mapping) or "value" not in definition:
            errors.append(TemplateError(path, "an output definition must be a map with a 'value'"))
            continue
        for key in definition:
            if key not in OUTPUT_KEYS:
                errors.append(
                    TemplateError(
                        paths.child(path, key),
                        _invalid_key(key, OUTPUT_KEYS, _UNSUPPORTED_OUTPUT_KEYS, "output keys"),
                    )
                )
        description = definition.get("description") or ""
        if not isinstance(description, str):
            errors.append(TemplateError(paths.child(path, "description"), "must be a string"))
            description = ""
        value = functions.parse(definition["value"], paths.child(path, "value"), version, errors)
        outputs[name] = OutputDefinition(name, value, description)
    return outputs
