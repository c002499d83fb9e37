"""Property schemas of resource plugins, and the constraints shared with parameters.

A plugin declares ``properties_schema: ClassVar[dict[str, Schema]]``.  The
template validator checks a resource's properties twice with
:func:`validate_properties`: before the stack exists, when values that only
exist at run time (``get_resource``, ``get_attr``) are :data:`DEFERRED`, and at
run time with every value resolved.  Template parameters use the very same
constraint classes (``flowstack.template.parameters``), so a ``range`` or an
``allowed_pattern`` behaves identically wherever it is written.

Coercion follows OpenStack Heat so that Heat templates validate the same way:
``"5"`` is an integer, ``"true"``/``"false"`` are booleans, integers and
booleans become strings where a string is expected, and a string is never a
list.  Where Heat silently accepts nonsense (``5.7`` truncated to the integer
``5``, ``True`` taken as the integer ``1``) flowstack rejects it.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from flowstack.exceptions import TemplateError
from flowstack.schema import patterns

CustomCheck = Callable[[Any], None]
"""A custom constraint: raises ``ValueError(message)`` when the value is invalid."""


class _Deferred:
    """Type of :data:`DEFERRED`; a single instance that survives copying."""

    _instance: ClassVar[_Deferred | None] = None

    def __new__(cls) -> _Deferred:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DEFERRED"

    def __copy__(self) -> _Deferred:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Deferred:
        return self


DEFERRED: Any = _Deferred()
"""A value only known at run time (e.g. a ``get_attr`` result during validation)."""


def contains_deferred(value: Any) -> bool:
    """Whether ``value`` is, or holds anywhere inside, :data:`DEFERRED`."""
    if value is DEFERRED:
        return True
    if isinstance(value, Mapping):
        return any(contains_deferred(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_deferred(v) for v in value)
    return False


def show_value(value: Any) -> str:
    """Render a value for an error message, cut short so a message stays readable."""
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        try:
            text = repr(value)
        except (ValueError, RecursionError):  # an int of more digits than str() converts
            text = f"<{kind_of(value)}>"
    return text if len(text) <= 80 else text[:77] + "..."


def kind_of(value: Any) -> str:
    """Name the kind of a value the way a template author thinks of it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def got(value: Any, show: bool) -> str:
    """Describe what was received, without the value itself when it is secret."""
    if show:
        return show_value(value)
    return f"{kind_of(value)} (the value is not shown because it is secret)"


# -- constraints -------------------------------------------------------------------------

_STRING, _INTEGER, _NUMBER, _BOOLEAN, _LIST, _MAP = (
    "string",
    "integer",
    "number",
    "boolean",
    "list",
    "map",
)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bounds(low: Any, high: Any) -> str:
    if low is None:
        return f"at most {high}"
    if high is None:
        return f"at least {low}"
    return f"between {low} and {high}"


class Constraint:
    """A rule on a value; ``description`` replaces the default message, as in Heat."""

    keyword: ClassVar[str]
    valid_types: ClassVar[frozenset[str]]

    def __init__(self, description: str | None = None) -> None:
        self.description = description

    def _fields(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._fields() == self._fields()

    def __hash__(self) -> int:
        return hash((type(self), self.description))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._fields().items() if v is not None)
        return f"{type(self).__name__}({args})"

    def check(self, value: Any, data_type: str, *, show: bool = True) -> str | None:
        """Return why ``value`` (already of ``data_type``) violates the rule, or None."""
        if self._is_valid(value, data_type):
            return None
        return self.description or self._message(value, show)

    def _is_valid(self, value: Any, data_type: str) -> bool:
        raise NotImplementedError

    def _message(self, value: Any, show: bool) -> str:
        raise NotImplementedError


class Range(Constraint):
    """The value of a number lies within [min, max] (either bound optional)."""

    keyword = "range"
    valid_types = frozenset({_INTEGER, _NUMBER})

    def __init__(
        self, min: float | None = None, max: float | None = None, description: str | None = None
    ) -> None:
        super().__init__(description)
        _check_bounds(min, max, "range", _is_number, "numbers")
        self.min, self.max = min, max

    def _is_valid(self, value: Any, data_type: str) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def _message(self, value: Any, show: bool) -> str:
        what = show_value(value) if show else "the value"
        return f"{what} is not {_bounds(self.min, self.max)}"


class Length(Constraint):
    """The length of a string, list or map lies within [min, max]."""

    keyword = "length"
    valid_types = frozenset({_STRING, _LIST, _MAP})

    def __init__(
        self, min: int | None = None, max: int | None = None, description: str | None = None
    ) -> None:
        super().__init__(description)
        _check_bounds(
            min, max, "length", lambda v: isinstance(v, int) and not isinstance(v, bool), "integers"
        )
        self.min, self.max = min, max

    def _is_valid(self, value: Any, data_type: str) -> bool:
        try:
            size = len(value)
        except TypeError:  # a json parameter may hold a number
            return False
        return (self.min is None or size >= self.min) and (self.max is None or size <= self.max)

    def _message(self, value: Any, show: bool) -> str:
        if not hasattr(value, "__len__"):
            return (
                f"{kind_of(value)} has no length; the length must be {_bounds(self.min, self.max)}"
            )
        if show:
            return f"length {len(value)} is not {_bounds(self.min, self.max)}"
        return f"the length of the value is not {_bounds(self.min, self.max)}"


class Modulo(Constraint):
    """The value is ``offset`` more than a multiple of ``step`` (Heat 2017-02-24)."""

    keyword = "modulo"
    valid_types = frozenset({_INTEGER, _NUMBER})

    def __init__(self, step: int, offset: int, description: str | None = None) -> None:
        super().__init__(description)
        for name, number in (("step", step), ("offset", offset)):
            if not _is_number(number) or int(number) != number:
                raise ValueError(f"modulo {name} must be an integer, got {show_value(number)}")
        if step == 0:
            raise ValueError("modulo step must not be 0")
        if abs(offset) >= abs(step):
            raise ValueError("modulo offset must be smaller than step (in absolute value)")
        if step * offset < 0:
            raise ValueError("modulo step and offset must have the same sign")
        self.step, self.offset = int(step), int(offset)

    def _is_valid(self, value: Any, data_type: str) -> bool:
        return value % self.step == self.offset

    def _message(self, value: Any, show: bool) -> str:
        what = show_value(value) if show else "the value"
        return f"{what} is not a multiple of {self.step} plus {self.offset}"


class AllowedValues(Constraint):
    """The value (each item, for a list) is one of a fixed set."""

    keyword = "allowed_values"
    valid_types = frozenset({_STRING, _INTEGER, _NUMBER, _BOOLEAN, _LIST})

    def __init__(self, values: Sequence[Any], description: str | None = None) -> None:
        super().__init__(description)
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise ValueError(f"allowed_values must be a list, got {kind_of(values)}")
        self.values = tuple(values)

    def _is_valid(self, value: Any, data_type: str) -> bool:
        if isinstance(value, list):
            texts = {str(v) for v in self.values}
            return all(item in self.values or str(item) in texts for item in value)
        return value in {_normalise(v, data_type) for v in self.values if _hashable(v)}

    def _message(self, value: Any, show: bool) -> str:
        allowed = ", ".join(show_value(v) for v in self.values)
        what = show_value(value) if show else "the value"
        return f"{what} is not one of the allowed values: {allowed}"


class AllowedPattern(Constraint):
    """The string matches a regular expression from its start to its end (as in Heat).

    Matched in time linear in the value's length (:mod:`flowstack.schema.patterns`).
    """

    keyword = "allowed_pattern"
    valid_types = frozenset({_STRING})

    def __init__(self, pattern: str, description: str | None = None) -> None:
        super().__init__(description)
        if not isinstance(pattern, str):
            raise ValueError(f"allowed_pattern must be a string, got {kind_of(pattern)}")
        try:
            self._regex = patterns.Pattern(pattern)
        except ValueError as exc:
            raise ValueError(f"allowed_pattern {show_value(pattern)} {exc}") from None
        self.pattern = pattern

    def _is_valid(self, value: Any, data_type: str) -> bool:
        return self._regex.matches(value)

    def _message(self, value: Any, show: bool) -> str:
        what = show_value(value) if show else "the value"
        return f"{what} does not match the pattern {self.pattern!r}"


class CustomConstraint(Constraint):
    """Checked by a callable the engine supplies by name (e.g. ``nova.flavor``)."""

    keyword = "custom_constraint"
    valid_types = frozenset({_STRING, _INTEGER, _NUMBER, _BOOLEAN, _LIST})

    def __init__(self, name: str, description: str | None = None) -> None:
        super().__init__(description)
        if not isinstance(name, str) or not name:
            raise ValueError("custom_constraint must be a non-empty string naming the constraint")
        self.name = name

    def run(self, value: Any, check: CustomCheck, *, show: bool = True) -> str | None:
        """Apply ``check`` (to each item of a list) and return why it failed, or None."""
        for item in value if isinstance(value, list) else [value]:
            try:
                check(item)
            except ValueError as exc:
                if self.description:
                    return self.description
                if show:
                    return str(exc) or f"{show_value(item)} is not a valid {self.name}"
                return (
                    f"the value is not a valid {self.name} (it is not shown because it is secret)"
                )
        return None


def _check_bounds(low: Any, high: Any, what: str, ok: Callable[[Any], bool], kind: str) -> None:
    if low is None and high is None:
        raise ValueError(f"a {what} constraint needs a min and/or a max")
    for bound in (low, high):
        if bound is not None and not ok(bound):
            raise ValueError(f"{what} min and max must be {kind}, got {show_value(bound)}")
    if low is not None and high is not None and low > high:
        raise ValueError(f"{what} min {low} is greater than max {high}")


# Heat (oslo strutils) reads these as true wherever a boolean is parsed leniently.
_TRUE_WORDS = ("1", "t", "true", "on", "y", "yes")


def _hashable(value: Any) -> bool:
    return not isinstance(value, list | dict)


def _normalise(value: Any, data_type: str) -> Any:
    """Bring an allowed value to the type being checked, so 1 and "1" compare equal."""
    try:
        if data_type in (_INTEGER, _NUMBER):
            return to_number(value)
        if data_type == _BOOLEAN:
            return value if isinstance(value, bool) else str(value).lower() in _TRUE_WORDS
        if data_type == _STRING:
            return str(value)
    except ValueError:
        pass
    return value


def check_constraints(
    constraints: Sequence[Constraint],
    value: Any,
    data_type: str,
    path: str,
    custom: Mapping[str, CustomCheck] | None,
    *,
    show: bool = True,
    run_custom: bool = True,
) -> tuple[list[TemplateError], list[str]]:
    """Check a value that already has ``data_type``; returns (errors, warnings).

    Values holding :data:`DEFERRED` are only checked for length, the one thing
    known about them.  Custom constraints missing from ``custom`` are reported
    as warnings, never as errors: the engine may not know every name a Heat
    template uses.
    """
    errors: list[TemplateError] = []
    warnings: list[str] = []
    deferred = contains_deferred(value)
    for constraint in constraints:
        if isinstance(constraint, CustomConstraint):
            if not run_custom or deferred:
                continue
            check = (custom or {}).get(constraint.name)
            if check is None:
                warnings.append(f"{path}: custom constraint {constraint.name!r} is not checked")
                continue
            message = constraint.run(value, check, show=show)
        elif deferred and not isinstance(constraint, Length):
            continue
        else:
            message = constraint.check(value, data_type, show=show)
        if message:
            errors.append(TemplateError(path, message))
    return errors, warnings


# -- coercion ----------------------------------------------------------------------------


class CoercionError(ValueError):
    """The value cannot be taken as the expected type; ``expected`` says what was wanted."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def to_number(value: Any) -> int | float:
    """Heat's number rule: numbers as they are, strings as int if they can be, else float."""
    if _is_number(value):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                raise CoercionError("a number") from None
    else:
        raise CoercionError("a number")
    if isinstance(number, float) and not math.isfinite(number):
        raise CoercionError("a finite number")
    return number


def _to_integer(value: Any) -> int:
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise CoercionError("an integer") from None
    if _is_number(value) and int(value) == value:
        return int(value)
    raise CoercionError("an integer")


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):  # bool is an int: Heat renders True as "True"
        return str(value)
    raise CoercionError("a string")


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise CoercionError('a boolean (true or false, or the strings "true" or "false")')


def _to_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    raise CoercionError("a list")


def _to_map(value: Any) -> dict[Any, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    raise CoercionError("a map")


_COERCE: dict[str, Callable[[Any], Any]] = {
    _STRING: _to_string,
    _INTEGER: _to_integer,
    _NUMBER: to_number,
    _BOOLEAN: _to_boolean,
    _LIST: _to_list,
    _MAP: _to_map,
}


# -- schema ------------------------------------------------------------------------------


class Schema:
    """How one property (or one list item / map key of a property) must look.

    ``schema`` describes the items of a LIST (one Schema) or the known keys of
    a MAP (name -> Schema; any other key is then an error).  A bad schema is a
    plugin bug, so the constructor raises ``ValueError`` at import time.
    """

    STRING: ClassVar[str] = _STRING
    INTEGER: ClassVar[str] = _INTEGER
    NUMBER: ClassVar[str] = _NUMBER
    BOOLEAN: ClassVar[str] = _BOOLEAN
    LIST: ClassVar[str] = _LIST
    MAP: ClassVar[str] = _MAP
    TYPES: ClassVar[tuple[str, ...]] = (_STRING, _INTEGER, _NUMBER, _BOOLEAN, _LIST, _MAP)

    def __init__(
        self,
        data_type: str,
        /,
        description: str = "",
        *,
        required: bool = False,
        default: Any = None,
        constraints: Sequence[Constraint] = (),
        schema: Schema | Mapping[str, Schema] | None = None,
    ) -> None:
        if data_type not in self.TYPES:
            raise ValueError(f"unknown property type {data_type!r}; use one of {self.TYPES}")
        self.type = data_type
        self.description = description
        self.required = required
        self.constraints = tuple(constraints)
        for constraint in self.constraints:
            if data_type not in constraint.valid_types:
                raise ValueError(
                    f"the {constraint.keyword} constraint cannot apply to a {data_type} property"
                )
        self.schema = _check_nested(data_type, schema)
        if required and default is not None:
            raise ValueError("a required property cannot have a default")
        self.default = None if default is None else self._checked_default(default)

    def _checked_default(self, default: Any) -> Any:
        errors: list[TemplateError] = []
        value = _Checker(None, errors, []).value(self, default, "default", show=True)
        if errors:
            raise ValueError("; ".join(str(e) for e in errors))
        return value

    def __repr__(self) -> str:
        return f"Schema({self.type!r}, required={self.required}, default={self.default!r})"


def _check_nested(
    data_type: str, schema: Schema | Mapping[str, Schema] | None
) -> Schema | dict[str, Schema] | None:
    if schema is None:
        return None
    if data_type == _LIST and isinstance(schema, Schema):
        return schema
    if (
        data_type == _MAP
        and isinstance(schema, Mapping)
        and all(isinstance(s, Schema) for s in schema.values())
    ):
        return dict(schema)
    raise ValueError(
        "schema describes list items (one Schema) or map keys (a dict of Schema), "
        f"not a {data_type} property"
    )


class _Checker:
    """Walks values against schemas, collecting errors and warnings."""

    def __init__(
        self,
        custom: Mapping[str, CustomCheck] | None,
        errors: list[TemplateError],
        warnings: list[str],
    ) -> None:
        self.custom = custom
        self.errors = errors
        self.warnings = warnings

    def keys(
        self,
        schemas: Mapping[str, Schema],
        values: Mapping[str, Any],
        path: str,
        concealed: frozenset[str] | None,
        *,
        top: bool,
    ) -> dict[str, Any]:
        noun = "property" if top else "key"
        for key in values:
            if key not in schemas:
                self.errors.append(TemplateError(f"{path}.{key}", _unknown(noun, key, schemas)))
        result: dict[str, Any] = {}
        for key, schema in schemas.items():
            raw = values.get(key)
            where = f"{path}.{key}"
            if raw is None:
                if schema.required:
                    self.errors.append(TemplateError(where, f"{noun} {key!r} is required"))
                result[key] = copy.deepcopy(schema.default)
                continue
            show = concealed is None or key not in concealed
            result[key] = self.value(schema, raw, where, show=show)
        return result

    def value(self, schema: Schema, raw: Any, path: str, *, show: bool) -> Any:
        if raw is DEFERRED:
            return DEFERRED
        try:
            value = _COERCE[schema.type](raw)
        except CoercionError as exc:
            self.errors.append(
                TemplateError(path, f"expected {exc.expected}, got {got(raw, show)}")
            )
            return raw
        if schema.type == _LIST and isinstance(schema.schema, Schema):
            item_schema = schema.schema
            value = [
                item if item is None else self.value(item_schema, item, f"{path}[{i}]", show=show)
                for i, item in enumerate(value)
            ]
        elif schema.type == _MAP and isinstance(schema.schema, dict):
            value = self.keys(
                schema.schema, value, path, None if show else frozenset(value), top=False
            )
        errors, warnings = check_constraints(
            schema.constraints, value, schema.type, path, self.custom, show=show
        )
        self.errors.extend(errors)
        self.warnings.extend(warnings)
        return value


def _unknown(noun: str, key: str, known: Mapping[str, Any]) -> str:
    if not known:
        return f"unknown {noun} {key!r}: there are none here"
    close = difflib.get_close_matches(str(key), list(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown {noun} {key!r}; {hint}known: {', '.join(sorted(known))}"


def validate_properties(
    schema: Mapping[str, Schema],
    values: Mapping[str, Any] | None,
    path: str,
    custom: Mapping[str, CustomCheck] | None = None,
    *,
    concealed: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], list[TemplateError], list[str]]:
    """Check property values against a plugin's schema.

    Returns (values with defaults applied and coerced, errors, warnings).  Every
    property of the schema is in the result (None when unset without default),
    as in Heat where an unset property reads as None.  :data:`DEFERRED` values,
    also nested ones, pass through unchecked.  ``concealed`` names properties
    whose values must not appear in messages (they come from a hidden parameter
    or a secret attribute).  A None value counts as not given.
    """
    errors: list[TemplateError] = []
    warnings: list[str] = []
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        errors.append(TemplateError(path, f"properties must be a map, got {kind_of(values)}"))
        return {}, errors, warnings
    result = _Checker(custom, errors, warnings).keys(schema, values, path, concealed, top=True)
    return result, errors, warnings
