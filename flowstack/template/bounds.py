"""How many values, and how deep, a template's data may be: measured before it is built.

A YAML alias repeats what its anchor names without repeating its text, so
630 bytes of "billion laughs" (anchors of nine aliases of anchors of nine
aliases...) build a billion strings, and ``&a [*a]`` builds a list that
holds itself.  The loader therefore measures the composed YAML graph first,
each node once with its expansion remembered, and builds the data only when
it fits.  JSON has no aliases but may nest deeper than Python recurses, so
JSON data (a template, a ``json`` parameter's value) is measured too.

Everything here walks with an explicit stack: the point is to survive input
that recursion would not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

#: Values (scalars, lists, maps, and map keys) a template may expand to.
MAX_NODES = 100_000
#: Levels of lists and maps inside one another.
MAX_DEPTH = 100


@dataclass(frozen=True)
class Limits:
    """The bounds to apply; ``source`` names where ``max_nodes`` is set, for the message."""

    max_nodes: int = MAX_NODES
    max_depth: int = MAX_DEPTH
    source: str = ""

    def too_many(self, what: str) -> str:
        where = f" ({self.source})" if self.source else ""
        return (
            f"{what} expands to more than {self.max_nodes} values (lists, maps, keys and "
            f"scalars, YAML aliases counted as what they repeat){where}"
        )

    def too_deep(self, what: str) -> str:
        return f"{what} nests lists and maps more than {self.max_depth} levels deep"


class OutOfBounds(ValueError):
    """The data is too large, too deep or refers to itself; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def check_yaml(root: yaml.Node, limits: Limits, what: str = "the template") -> None:
    """Raise OutOfBounds if the composed graph expands past ``limits`` or holds itself.

    Linear in the number of distinct nodes: each alias counts its anchor's
    expansion, computed once.
    """
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    open_nodes: set[int] = set()
    work: list[tuple[yaml.Node, bool]] = [(root, False)]
    while work:
        node, finished = work.pop()
        key = id(node)
        children = _yaml_children(node)
        if finished:
            open_nodes.discard(key)
            size = 1 + sum(sizes[id(child)] for child in children)
            depth = 1 + max((depths[id(child)] for child in children), default=0)
            if size > limits.max_nodes:
                raise OutOfBounds(limits.too_many(what), _line(node))
            if depth > limits.max_depth:
                raise OutOfBounds(limits.too_deep(what), _line(node))
            sizes[key], depths[key] = size, depth
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise OutOfBounds(
                "a YAML alias refers to a node that contains it (recursive aliases are "
                "not supported)",
                _line(node),
            )
        open_nodes.add(key)
        work.append((node, True))
        work.extend((child, False) for child in children if id(child) not in sizes)


def _yaml_children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _line(node: yaml.Node) -> int | None:
    mark = getattr(node, "start_mark", None)
    return None if mark is None else mark.line + 1


def check_data(value: Any, limits: Limits, what: str) -> None:
    """Raise OutOfBounds if plain data (JSON-like) has too many values or nests too deep.

    Shared objects are counted each time they appear, as JSON would write
    them, so a container that holds itself is refused as endless.
    """
    count = 0
    work: list[tuple[Any, int]] = [(value, 1)]
    while work:
        item, depth = work.pop()
        count += 1
        if count > limits.max_nodes:
            raise OutOfBounds(limits.too_many(what))
        if depth > limits.max_depth:
            raise OutOfBounds(limits.too_deep(what))
        if isinstance(item, Mapping):
            children = [part for pair in item.items() for part in pair]
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        work.extend((child, depth + 1) for child in children)
