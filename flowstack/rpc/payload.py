"""Checks of an RPC payload before the engine acts on it.

A message on the bus is only JSON: any field may be missing, extra or of
the wrong type.  Each manager method declares its fields; :func:`check`
refuses a payload that does not fit with
:class:`~flowstack.exceptions.InvalidRequest` naming the method and the
field, before anything is read or written.  What the engine checks anyway
(stack names, template size and content, parameters) stays with the engine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from flowstack import exceptions

# How JSON calls the Python types a payload can hold.
_JSON_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    dict: "an object",
    list: "an array",
    type(None): "null",
}


@dataclasses.dataclass(frozen=True)
class Field:
    kind: type
    required: bool = True
    default: Any = None
    max_length: int | None = None
    minimum: int | None = None

    def check(self, method: str, name: str, value: Any) -> Any:
        if value is None and not self.required:
            return self.default
        # bool is an int in Python, never in a payload.
        if not isinstance(value, self.kind) or (self.kind is int and isinstance(value, bool)):
            raise _invalid(
                method,
                name,
                f"must be {_JSON_NAMES[self.kind]}, not {_JSON_NAMES.get(type(value), 'that')}",
            )
        if self.max_length is not None and len(value) > self.max_length:
            raise _invalid(method, name, f"is longer than {self.max_length} characters")
        if self.minimum is not None and value < self.minimum:
            raise _invalid(method, name, f"must be at least {self.minimum}")
        if self.kind is dict and not all(isinstance(key, str) for key in value):
            raise _invalid(method, name, "must have string keys")
        return value


def required(kind: type, **limits: Any) -> Field:
    return Field(kind, required=True, **limits)


def optional(kind: type, default: Any = None, **limits: Any) -> Field:
    return Field(kind, required=False, default=default, **limits)


# The fields several methods share.
STACK = required(str, max_length=255)  # a stack's name or id
TEMPLATE = required(str)  # its size is the engine's check ([engine] max_template_size)
PARAMETERS = optional(dict, default=None)
FLOW = required(str, max_length=64)  # a flow's id


def check(method: str, payload: Mapping[str, Any], fields: Mapping[str, Field]) -> dict[str, Any]:
    """The payload's values by field name, defaults filled in; or InvalidRequest."""
    unexpected = sorted(set(payload) - set(fields))
    if unexpected:
        raise exceptions.InvalidRequest(
            f"{method}: unexpected field {', '.join(map(repr, unexpected))}",
            field=unexpected[0],
        )
    checked = {}
    for name, field in fields.items():
        if name not in payload:
            if field.required:
                raise _invalid(method, name, "is required")
            checked[name] = field.default
            continue
        checked[name] = field.check(method, name, payload[name])
    return checked


def _invalid(method: str, name: str, problem: str) -> exceptions.InvalidRequest:
    return exceptions.InvalidRequest(f"{method}: field {name!r} {problem}", field=name)
