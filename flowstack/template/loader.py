"""Template text to plain data, remembering the source line of every node.

YAML is read like Heat reads it (safe loader, unquoted dates kept as strings,
so ``heat_template_version: 2016-10-14`` works unquoted) and JSON is accepted
too.  The line of each mapping key and list item is recorded by path, so any
later error can point at the line to fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

from flowstack.exceptions import TemplateError, TemplateInvalid
from flowstack.template import paths

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):
    """Safe loader that keeps timestamps as the strings they were written as."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def load(text: str) -> tuple[Any, dict[str, int]]:
    """Parse YAML (or JSON) text; returns (data, line of each path).

    :raises TemplateInvalid: the text is neither, with the line of the problem.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
        lines: dict[str, int] = {}
        if node is not None:
            _record(loader, node, "", lines, set())
    except yaml.YAMLError as exc:
        try:
            return json.loads(text), {}
        except ValueError:
            raise TemplateInvalid(errors=_syntax_error(exc)) from None
    finally:
        loader.dispose()
    return data, lines


def _syntax_error(exc: yaml.YAMLError) -> TemplateError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem:
        detail = f"{problem} ({context})" if context else str(problem)
    else:
        detail = str(exc).splitlines()[0]
    line = mark.line + 1 if mark is not None else None
    return TemplateError("", f"invalid YAML: {detail}", line)


def _record(
    loader: yaml.SafeLoader, node: yaml.Node, path: str, lines: dict[str, int], active: set[int]
) -> None:
    if id(node) in active:  # a recursive alias; check_plain reports it
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            try:
                key = loader.construct_object(key_node, deep=True)
            except yaml.YAMLError:
                key = getattr(key_node, "value", "?")
            where = paths.child(path, key)
            lines.setdefault(where, key_node.start_mark.line + 1)
            _record(loader, value_node, where, lines, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, value_node in enumerate(node.value):
            where = paths.item(path, index)
            lines.setdefault(where, value_node.start_mark.line + 1)
            _record(loader, value_node, where, lines, active)
    active.discard(id(node))


_SCALARS = (str, int, float, bool, type(None))


def check_plain(data: Any, path: str = "") -> list[TemplateError]:
    """Errors for anything that is not plain JSON data (YAML sets, binary, cycles)."""
    errors: list[TemplateError] = []
    _check_plain(data, path, errors, set())
    return errors


def _check_plain(data: Any, path: str, errors: list[TemplateError], active: set[int]) -> None:
    if isinstance(data, _SCALARS):
        return
    if not isinstance(data, Mapping | list):
        errors.append(
            TemplateError(path, f"values of type {type(data).__name__} are not supported")
        )
        return
    if id(data) in active:
        errors.append(TemplateError(path, "recursive YAML aliases are not supported"))
        return
    active.add(id(data))
    if isinstance(data, Mapping):
        for key, value in data.items():
            if not isinstance(key, _SCALARS):
                errors.append(TemplateError(path, f"map keys must be scalars, got {key!r}"))
                continue
            _check_plain(value, paths.child(path, key), errors, active)
    else:
        for index, value in enumerate(data):
            _check_plain(value, paths.item(path, index), errors, active)
    active.discard(id(data))
