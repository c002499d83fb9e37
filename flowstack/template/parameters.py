"""The ``parameters`` section: parameter schemas, and the values a user gives them.

Types and coercion follow Heat's HOT parameters: ``number`` takes "5" as 5 and
"2.5" as 2.5, ``boolean`` takes the strings Heat does ("true", "yes", "on",
"1", ... in any case), ``comma_delimited_list`` splits a string on commas
(without trimming, like Heat) or takes a list (items become strings), ``json``
takes a JSON string or a list/map.  Constraints are the shared classes of
``flowstack.schema.properties``.  A hidden parameter's value never appears
in a message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowstack.exceptions import TemplateError
from flowstack.schema import properties as props
from flowstack.template import bounds, paths
from flowstack.template.versions import FEATURES, Version

STRING, NUMBER, JSON, LIST, BOOLEAN = "string", "number", "json", "comma_delimited_list", "boolean"
TYPES: tuple[str, ...] = (STRING, NUMBER, JSON, LIST, BOOLEAN)

# The property type whose constraint rules apply to each parameter type (as in Heat).
_AS_SCHEMA_TYPE = {
    STRING: props.Schema.STRING,
    NUMBER: props.Schema.NUMBER,
    JSON: props.Schema.MAP,
    LIST: props.Schema.LIST,
    BOOLEAN: props.Schema.BOOLEAN,
}

PSEUDO_PARAMETERS: tuple[str, ...] = ("OS::stack_name", "OS::stack_id", "OS::project_id")

_KEYS = ("type", "default", "description", "label", "hidden", "constraints", "immutable")
_VERSIONED_KEYS = {"tags": "parameter_tags"}
_CONSTRAINT_KINDS = ("length", "range", "allowed_values", "allowed_pattern", "custom_constraint")
_VERSIONED_KINDS = {"modulo": "modulo"}

_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")
_HIDDEN_NOTE = "the value is not shown because the parameter is hidden"


@dataclass(frozen=True)
class ParameterSchema:
    """One declared parameter; ``default`` is already of the parameter's type."""

    name: str
    type: str
    default: Any = None
    description: str = ""
    label: str | None = None
    hidden: bool = False
    constraints: tuple[props.Constraint, ...] = ()
    immutable: bool = False
    tags: tuple[str, ...] = ()

    def __repr__(self) -> str:
        default = "<hidden>" if self.hidden and self.default is not None else repr(self.default)
        return (
            f"ParameterSchema(name={self.name!r}, type={self.type!r}, default={default}, "
            f"hidden={self.hidden})"
        )

    @property
    def required(self) -> bool:
        """A parameter without a default needs a value from the user."""
        return self.default is None


# -- values ------------------------------------------------------------------------------


def coerce(param_type: str, value: Any) -> Any:
    """Convert a given value (a CLI string or already typed) to the parameter type.

    :raises properties.CoercionError: saying what was expected.
    """
    if param_type == STRING:
        if isinstance(value, str | int | float):  # bool included: Heat renders True as "True"
            return str(value)
        raise props.CoercionError("a string")
    if param_type == NUMBER:
        if isinstance(value, bool):
            raise props.CoercionError("a number")
        return props.to_number(value)
    if param_type == BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).lower() if isinstance(value, str | int) else None
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise props.CoercionError(f"a boolean ({', '.join(_TRUE + _FALSE)})")
    if param_type == LIST:
        if isinstance(value, list | tuple):
            return [str(item) for item in value]
        if isinstance(value, str):
            return value.split(",") if value else []
        raise props.CoercionError("a comma-delimited list (a string or a list)")
    return _coerce_json(value)


def _coerce_json(value: Any) -> Any:
    """JSON text or data, within the bounds of a template's data (nodes, depth)."""
    try:
        if not isinstance(value, str):
            bounds.check_data(value, bounds.Limits(), "the value")
            return json.loads(json.dumps(value))
        if not value:
            return {}
        typed = json.loads(value)
        bounds.check_data(typed, bounds.Limits(), "the value")
        return typed
    except (RecursionError, bounds.OutOfBounds):
        raise props.CoercionError(
            f"JSON of at most {bounds.MAX_NODES} values nested at most "
            f"{bounds.MAX_DEPTH} levels deep"
        ) from None
    except (TypeError, ValueError) as exc:
        raise props.CoercionError(f"valid JSON ({exc})") from None


def check_value(
    schema: ParameterSchema,
    value: Any,
    path: str,
    custom: Mapping[str, props.CustomCheck] | None = None,
    *,
    run_custom: bool = True,
) -> tuple[Any, list[TemplateError], list[str]]:
    """Coerce and check one value; returns (typed value, errors, warnings)."""
    show = not schema.hidden
    try:
        typed = coerce(schema.type, value)
    except props.CoercionError as exc:
        shown = props.show_value(value) if show else f"{props.kind_of(value)} ({_HIDDEN_NOTE})"
        return value, [TemplateError(path, f"expected {exc.expected}, got {shown}")], []
    errors, warnings = props.check_constraints(
        schema.constraints,
        typed,
        _AS_SCHEMA_TYPE[schema.type],
        path,
        custom,
        show=show,
        run_custom=run_custom,
    )
    return typed, errors, warnings


def validate_values(
    schemas: Mapping[str, ParameterSchema],
    given: Mapping[str, Any],
    custom: Mapping[str, props.CustomCheck] | None = None,
) -> tuple[dict[str, Any], list[TemplateError], list[str]]:
    """Typed values of every parameter (defaults applied); returns (values, errors, warnings).

    Parameters whose value is wrong are left out of the values, so that the
    caller does not report the same problem again where they are used.
    """
    values: dict[str, Any] = {}
    errors: list[TemplateError] = []
    warnings: list[str] = []
    for name in given:
        if name not in schemas:
            known = ", ".join(sorted(schemas)) or "none"
            errors.append(
                TemplateError(
                    paths.child("parameters", name),
                    f"unknown parameter {name!r}; the template defines: {known}",
                )
            )
    for name, schema in schemas.items():
        path = paths.child("parameters", name)
        raw = given.get(name)
        if raw is None:
            raw = schema.default
        if raw is None:
            errors.append(
                TemplateError(path, f"parameter {name!r} needs a value (it has no default)")
            )
            continue
        typed, found, warned = check_value(schema, raw, path, custom)
        errors.extend(found)
        warnings.extend(warned)
        if not found:
            values[name] = typed
    return values, errors, warnings


# -- schemas -----------------------------------------------------------------------------


def parse_section(
    section: Any, version: Version
) -> tuple[dict[str, ParameterSchema], list[TemplateError]]:
    """Parse the ``parameters`` section, checking every schema and default."""
    errors: list[TemplateError] = []
    schemas: dict[str, ParameterSchema] = {}
    if section is None:
        return schemas, errors
    if not isinstance(section, Mapping):
        errors.append(
            TemplateError("parameters", "must be a map of parameter names to definitions")
        )
        return schemas, errors
    for name, definition in section.items():
        path = paths.child("parameters", name)
        if not isinstance(name, str):
            errors.append(TemplateError(path, "parameter names must be strings"))
            continue
        schema = _parse_one(name, definition, path, version, errors)
        if schema is not None:
            schemas[name] = schema
    return schemas, errors


def _parse_one(
    name: str, definition: Any, path: str, version: Version, errors: list[TemplateError]
) -> ParameterSchema | None:
    if not isinstance(definition, Mapping):
        errors.append(TemplateError(path, "a parameter definition must be a map with a 'type'"))
        return None
    allowed = list(_KEYS) + [k for k, f in _VERSIONED_KEYS.items() if version.has(f)]
    for key in definition:
        if key in allowed:
            continue
        if key in _VERSIONED_KEYS:
            since = FEATURES[_VERSIONED_KEYS[key]]
            message = f"{key!r} is available from heat_template_version {since} (this is {version})"
        else:
            message = f"{key!r} is not a valid parameter key; valid keys: {', '.join(allowed)}"
        errors.append(TemplateError(paths.child(path, key), message))
    start = len(errors)
    param_type = definition.get("type")
    if param_type not in TYPES:
        got = "no type" if param_type is None else f"type {props.show_value(param_type)}"
        errors.append(
            TemplateError(
                paths.child(path, "type"), f"{got}; the type must be one of: {', '.join(TYPES)}"
            )
        )
        return None
    description = _text(definition, "description", path, errors) or ""
    label = _text(definition, "label", path, errors)
    hidden = _flag(definition, "hidden", path, errors)
    immutable = _flag(definition, "immutable", path, errors)
    tags = _tags(definition.get("tags"), paths.child(path, "tags"), errors)
    constraints = _constraints(definition.get("constraints"), param_type, path, version, errors)
    schema = ParameterSchema(
        name, param_type, None, description, label, hidden, tuple(constraints), immutable, tags
    )
    if definition.get("default") is not None and len(errors) == start:
        default, found, _ = check_value(
            schema, definition["default"], paths.child(path, "default"), run_custom=False
        )
        errors.extend(found)
        if not found:
            return ParameterSchema(
                name,
                param_type,
                default,
                description,
                label,
                hidden,
                tuple(constraints),
                immutable,
                tags,
            )
    return schema


def _text(
    definition: Mapping[str, Any], key: str, path: str, errors: list[TemplateError]
) -> str | None:
    value = definition.get(key)
    if value is not None and not isinstance(value, str):
        errors.append(
            TemplateError(paths.child(path, key), f"must be a string, got {props.kind_of(value)}")
        )
        return None
    return value


def _flag(definition: Mapping[str, Any], key: str, path: str, errors: list[TemplateError]) -> bool:
    value = definition.get(key, False)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        errors.append(
            TemplateError(
                paths.child(path, key), f"must be true or false, got {props.show_value(value)}"
            )
        )
        return False
    return value


def _tags(value: Any, path: str, errors: list[TemplateError]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        errors.append(TemplateError(path, "must be a list of strings"))
        return ()
    return tuple(value)


def _constraints(
    value: Any, param_type: str, path: str, version: Version, errors: list[TemplateError]
) -> list[props.Constraint]:
    path = paths.child(path, "constraints")
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(TemplateError(path, "must be a list of constraints"))
        return []
    kinds = list(_CONSTRAINT_KINDS) + [k for k, f in _VERSIONED_KINDS.items() if version.has(f)]
    found: list[props.Constraint] = []
    for index, definition in enumerate(value):
        where = paths.item(path, index)
        constraint = _constraint(definition, where, kinds, version, errors)
        if constraint is None:
            continue
        schema_type = _AS_SCHEMA_TYPE[param_type]
        if schema_type not in constraint.valid_types:
            errors.append(
                TemplateError(
                    paths.child(where, constraint.keyword),
                    f"the {constraint.keyword} constraint cannot apply to a {param_type} parameter",
                )
            )
            continue
        found.append(constraint)
    return found


def _constraint(
    definition: Any, path: str, kinds: list[str], version: Version, errors: list[TemplateError]
) -> props.Constraint | None:
    if not isinstance(definition, Mapping):
        errors.append(
            TemplateError(path, f"a constraint must be a map with one of: {', '.join(kinds)}")
        )
        return None
    description = definition.get("description")
    if description is not None and not isinstance(description, str):
        errors.append(TemplateError(paths.child(path, "description"), "must be a string"))
        description = None
    named = [key for key in definition if key != "description"]
    for key in named:
        if key not in kinds:
            if key in _VERSIONED_KINDS:
                since = FEATURES[_VERSIONED_KINDS[key]]
                message = (
                    f"the {key} constraint is available from heat_template_version "
                    f"{since} (this is {version})"
                )
            else:
                message = (
                    f"{key!r} is not a valid constraint; valid constraints: {', '.join(kinds)}"
                )
            errors.append(TemplateError(paths.child(path, key), message))
    valid = [key for key in named if key in kinds]
    if len(valid) != 1:
        if not named:
            errors.append(TemplateError(path, f"a constraint needs one of: {', '.join(kinds)}"))
        elif len(valid) > 1:
            errors.append(
                TemplateError(path, f"one constraint per list item, found {', '.join(valid)}")
            )
        return None
    kind = valid[0]
    where = paths.child(path, kind)
    try:
        return _build(kind, definition[kind], description)
    except ValueError as exc:
        errors.append(TemplateError(where, str(exc)))
        return None


def _build(kind: str, spec: Any, description: str | None) -> props.Constraint:
    if kind in ("length", "range", "modulo"):
        keys = ("step", "offset") if kind == "modulo" else ("min", "max")
        if not isinstance(spec, Mapping):
            raise ValueError(f"must be a map with {' and/or '.join(keys)}")
        unknown = [k for k in spec if k not in keys]
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r}; valid keys: {', '.join(keys)}")
        low, high = (_number(spec.get(k), kind, k) for k in keys)
        if kind == "length":
            return props.Length(low, high, description)  # type: ignore[arg-type]
        if kind == "range":
            return props.Range(low, high, description)
        if low is None or high is None:
            raise ValueError("a modulo constraint needs both step and offset")
        return props.Modulo(low, high, description)  # type: ignore[arg-type]
    if kind == "allowed_values":
        return props.AllowedValues(spec, description)
    if kind == "allowed_pattern":
        return props.AllowedPattern(spec, description)
    return props.CustomConstraint(spec, description)


def _number(value: Any, kind: str, key: str) -> int | float | None:
    """Heat accepts bounds written as strings ("5"); so do we."""
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise props.CoercionError("a number")
        return props.to_number(value)
    except props.CoercionError:
        raise ValueError(f"{kind} {key} must be a number, got {props.show_value(value)}") from None
