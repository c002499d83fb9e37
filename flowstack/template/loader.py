"""Template text to plain data, remembering the source line of every node.

YAML is read like Heat reads it (safe loader, unquoted dates kept as strings,
so ``heat_template_version: 2016-10-14`` works unquoted) and JSON is accepted
too.  The line of each mapping key and list item is recorded by path, so any
later error can point at the line to fix.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import yaml

from flowstack.exceptions import TemplateError, TemplateInvalid
from flowstack.template import bounds, paths

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):
    """Safe loader that keeps timestamps as the strings they were written as."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


def _strict(kind: str, construct: Any) -> Any:
    """A scalar constructor whose refusals are YAML errors with a line, not bare
    ValueError/KeyError (``!!float abc``, ``!!bool maybe``, an int of 5,000 digits)."""

    def read(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, KeyError):
            text = str(node.value)
            if kind == "integer" and len(text) > sys.get_int_max_str_digits():
                problem = (
                    f"an integer of {len(text)} characters is too long; quote it to make it "
                    "a string"
                )
            else:
                shown = text if len(text) <= 40 else text[:37] + "..."
                problem = f"{shown!r} is not a valid {kind}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None

    return read


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
for _tag, _kind in (("int", "integer"), ("float", "number"), ("bool", "boolean")):
    _Loader.add_constructor(
        f"tag:yaml.org,2002:{_tag}",
        _strict(_kind, getattr(yaml.SafeLoader, f"construct_yaml_{_tag}")),
    )


def load(text: str, limits: bounds.Limits | None = None) -> tuple[Any, dict[str, int]]:
    """Parse YAML (or JSON) text; returns (data, line of each path).

    The data is built only once its size is known to be within ``limits``
    (see :mod:`flowstack.template.bounds`).

    :raises TemplateInvalid: the text is neither, or out of bounds, with the line of the problem.
    """
    limits = limits or bounds.Limits()
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TemplateInvalid(
                errors=TemplateError("", f"the template is not UTF-8 text ({exc.reason})")
            ) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            bounds.check_yaml(node, limits)
        data = None if node is None else loader.construct_document(node)
        lines: dict[str, int] = {}
        if node is not None:
            _record(loader, node, "", lines, set())
    except bounds.OutOfBounds as exc:
        raise TemplateInvalid(errors=TemplateError("", str(exc), exc.line)) from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        # ValueError: a YAML scalar Python cannot hold (e.g. an int of 5,000 digits);
        # RecursionError: the pure-Python composer on deep nesting.
        return _as_json(text, exc, limits), {}
    finally:
        loader.dispose()
    return data, lines


def _as_json(text: str, yaml_error: BaseException, limits: bounds.Limits) -> Any:
    """The text as JSON, which YAML parsers refuse in places; else YAML's error."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise TemplateInvalid(errors=_syntax_error(yaml_error)) from None
    try:
        bounds.check_data(data, limits, "the template")
    except bounds.OutOfBounds as exc:
        raise TemplateInvalid(errors=TemplateError("", str(exc))) from None
    return data


def _syntax_error(exc: BaseException) -> TemplateError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if isinstance(exc, RecursionError):
        detail = "lists and maps nest too deeply"
    elif problem:
        detail = f"{problem} ({context})" if context else str(problem)
    else:
        detail = (str(exc).splitlines() or [type(exc).__name__])[0]
    line = mark.line + 1 if mark is not None else None
    return TemplateError("", f"invalid YAML: {detail}", line)


def _record(
    loader: yaml.SafeLoader, node: yaml.Node, path: str, lines: dict[str, int], seen: set[int]
) -> None:
    """Lines of the paths below ``node``; an alias's own content is visited once only.

    Paths through a later alias get the alias's line (``paths.line_of`` finds
    the nearest recorded ancestor), so aliases cost nothing here.
    """
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            try:
                key = loader.construct_object(key_node, deep=True)
            except yaml.YAMLError:
                key = getattr(key_node, "value", "?")
            where = paths.child(path, key)
            lines.setdefault(where, key_node.start_mark.line + 1)
            _record(loader, value_node, where, lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, value_node in enumerate(node.value):
            where = paths.item(path, index)
            lines.setdefault(where, value_node.start_mark.line + 1)
            _record(loader, value_node, where, lines, seen)


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
