"""Dotted paths into a template (``resources.web.properties.networks[0].port``).

Every error names its place with such a path; the loader records the source
line of each path, and :func:`with_lines` gives an error the line of its path
or, for a key that is missing, of the nearest enclosing node.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from flowstack.exceptions import TemplateError


def child(path: str, key: Any) -> str:
    """Path of a mapping key below ``path``."""
    return f"{path}.{key}" if path else str(key)


def item(path: str, index: int) -> str:
    """Path of a list item below ``path``."""
    return f"{path}[{index}]"


def parent(path: str) -> str | None:
    """The enclosing path, or None at the root."""
    if not path:
        return None
    if path.endswith("]"):
        return path[: path.rindex("[")]
    head, dot, _ = path.rpartition(".")
    return head if dot else ""


def is_within(path: str, ancestor: str) -> bool:
    """Whether ``path`` is ``ancestor`` or below it."""
    return path == ancestor or path.startswith((ancestor + ".", ancestor + "["))


def line_of(lines: Mapping[str, int], path: str) -> int | None:
    """Line of ``path``, or of its nearest ancestor the loader saw."""
    current: str | None = path
    while current is not None:
        if current in lines:
            return lines[current]
        current = parent(current)
    return None


def with_lines(errors: Iterable[TemplateError], lines: Mapping[str, int]) -> list[TemplateError]:
    """Give each error without a line the line of its path, when known."""
    if not lines:
        return list(errors)
    return [
        e if e.line is not None else dataclasses.replace(e, line=line_of(lines, e.path))
        for e in errors
    ]
