"""Attribute schemas of resource plugins: what ``get_attr`` may ask a resource for.

A plugin declares ``attributes_schema: ClassVar[dict[str, Attribute]]``.  Every
resource type also answers ``show`` (its whole physical representation, as in
Heat) without declaring it.  ``secret`` marks a sensitive value (for example
the generated string of ``OS::Heat::RandomString``): the plugin stores it
encrypted, and it never goes into logs, events or TaskFlow results; the
template code keeps it out of error messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

SHOW = "show"
"""The attribute every resource type has: its full physical representation."""


@dataclass(frozen=True)
class Attribute:
    """One attribute a resource exposes to ``get_attr``."""

    description: str
    secret: bool = field(default=False, kw_only=True)


def attribute_names(schema: Mapping[str, Attribute]) -> list[str]:
    """All names ``get_attr`` accepts for a type with this schema, ``show`` included."""
    return sorted({*schema, SHOW})


def is_secret(schema: Mapping[str, Attribute], name: str) -> bool:
    """Whether the named attribute carries a sensitive value."""
    attribute = schema.get(name)
    return attribute is not None and attribute.secret
