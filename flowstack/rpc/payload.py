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
import json
import re
from collections.abc import Mapping
from typing import Any

from flowstack import exceptions
from flowstack.template import bounds

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
    max_length: int | None = None  # characters of a string, keys of an object
    minimum: int | None = None
    maximum: int | None = None
    #: A string must match this whole; ``shape`` says how, in a refusal.
    pattern: re.Pattern[str] | None = None
    shape: str = ""
    #: The most characters an object or array may take once written as JSON.
    max_json: int | None = None
    #: How deep an object or array may nest, and how many values it may hold in all.
    max_depth: int | None = None
    max_nodes: int | None = None

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
        return self._within_limits(method, name, value)

    def _within_limits(self, method: str, name: str, value: Any) -> Any:
        """``value``, of the field's kind, checked against its limits."""
        if self.max_length is not None and len(value) > self.max_length:
            raise _invalid(method, name, f"is longer than {self.max_length} characters")
        if self.minimum is not None and self.kind is list and len(value) < self.minimum:
            raise _invalid(method, name, f"must hold at least {self.minimum} item(s)")
        if self.minimum is not None and self.kind is not list and value < self.minimum:
            raise _invalid(method, name, f"must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise _invalid(method, name, f"must be at most {self.maximum}")
        if self.pattern is not None and not self.pattern.fullmatch(value):
            # The value is not quoted: it may be a secret's hash.
            raise _invalid(method, name, f"must be {self.shape}")
        if self.max_depth is not None or self.max_nodes is not None:
            limits = bounds.Limits(
                max_nodes=self.max_nodes or bounds.MAX_NODES,
                max_depth=self.max_depth or bounds.MAX_DEPTH,
            )
            try:
                bounds.check_data(value, limits, "its value")
            except bounds.OutOfBounds as exc:
                raise _invalid(method, name, f"is out of bounds: {exc}") from None
        if self.max_json is not None and len(json.dumps(value, default=str)) > self.max_json:
            raise _invalid(method, name, f"is larger than {self.max_json} characters as JSON")
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
#: Parameter values: a json parameter's value may be a document, within a template's bounds.
PARAMETERS = optional(dict, default=None, max_depth=bounds.MAX_DEPTH + 1)
#: File name -> text; each checked like a template, their number and size by the engine.
FILES = optional(dict, default=None, max_depth=2)
#: A stack operation's time limit (the engine checks the same bound).
MAX_TIMEOUT_MINS = 525_600
TIMEOUT_MINS = optional(int, minimum=1, maximum=MAX_TIMEOUT_MINS)
FLOW = required(str, max_length=64)  # a flow's id
# A scaling group: its id, "STACK/RESOURCE", or a resource name.
GROUP = required(str, max_length=2 * 255 + 1)
GROUP_FILTER = optional(str, max_length=GROUP.max_length)
STACK_FILTER = optional(str, max_length=255)
NAME = required(str, max_length=255)  # a policy's or a webhook's name or id
RECEIPT = required(str, max_length=64)  # a scale event's id
IDEMPOTENCY_KEY = optional(str, max_length=255)
MAX_LIMIT = 1000  # rows one listing call returns at most
#: A scaling request's target size; at most what an SQL INTEGER holds (the group clamps it).
CAPACITY = required(int, minimum=0, maximum=2**31 - 1)
#: The lowercase hex sha256 of a webhook's token: the API hashes, the token stays there.
TOKEN_HASH = required(
    str, pattern=re.compile(r"[0-9a-f]{64}"), shape="64 lowercase hexadecimal characters"
)
SIGNAL_SOURCE = required(str, max_length=32)  # who signalled, e.g. "webhook" (its column)
#: What a signal carried (an alarm's name and state...): a little, never a document.
SIGNAL_DETAILS = required(dict, max_length=32, max_json=4096)


#: The most webhook calls one signal_webhooks call carries (flowstack-api's batch).
MAX_SIGNALS = 256
SIGNALS = required(list, minimum=1, max_length=MAX_SIGNALS)
SIGNAL_FIELDS = {
    "token_hash": TOKEN_HASH,
    "idempotency_key": IDEMPOTENCY_KEY,
    "source": SIGNAL_SOURCE,
    "details": SIGNAL_DETAILS,
}


def check_signals(method: str, calls: list[Any]) -> list[dict[str, Any]]:
    """Each webhook call of a batch, checked like signal_webhook's payload."""
    checked = []
    for index, call in enumerate(calls):
        if not isinstance(call, dict):
            raise _invalid(method, f"calls[{index}]", "must be an object")
        checked.append(check(f"{method} calls[{index}]", call, SIGNAL_FIELDS))
    return checked


def limit(default: int) -> Field:
    """How many rows a listing call may ask for: 1 to MAX_LIMIT, ``default`` when left out."""
    return optional(int, default=default, minimum=1, maximum=MAX_LIMIT)


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
