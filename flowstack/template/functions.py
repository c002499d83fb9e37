"""HOT intrinsic functions: parsing calls, finding references, resolving values.

flowstack supports ``get_param``, ``get_resource``, ``get_attr``,
``str_replace`` and ``list_join`` with Heat's semantics for each template
version (``get_file`` is replaced by the file's text when the template is
loaded, see :mod:`flowstack.template.files`).  As in Heat, a map with a
single key that names a function is a call and any other map is plain
data; a call to one of Heat's other functions (or a CloudFormation one) is
rejected with the list of supported functions, so a template never silently
means something else here than in Heat.

Parsing turns each call into a small immutable object; resolving evaluates
them through an :class:`Env`, which is how validation (where other resources
are :data:`DEFERRED`) and run time (where they exist) differ.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from flowstack.exceptions import ResolutionError, TemplateError
from flowstack.schema.properties import DEFERRED, contains_deferred, kind_of
from flowstack.template import function_names, paths, versions
from flowstack.template.versions import FEATURES, Version

SUPPORTED: tuple[str, ...] = ("get_attr", "get_param", "get_resource", "list_join", "str_replace")

# Every other function Heat knows in HOT templates (any version), so that a call
# to one is an error rather than plain data.  Condition-only functions (equals,
# not, and, or) are data outside `conditions` in Heat too, and stay data here.
_HEAT_ONLY = frozenset(function_names.HEAT_FUNCTIONS) - frozenset(SUPPORTED)
_CFN_HINTS = {
    "Ref": "get_resource or get_param",
    "Fn::GetAtt": "get_attr",
    "Fn::Join": "list_join",
    "Fn::Replace": "str_replace",
}


FAN_OUT = "__flowstack_members__"
"""Key of an attribute value that spreads over a group's members (see GetAttr)."""


class Env(Protocol):
    """Where functions get their inputs; ``where`` is the call's place, for errors."""

    def param(self, name: str, where: str) -> Any: ...

    def ref(self, name: str, where: str) -> Any: ...

    def attr(self, resource: str, attribute: str, where: str) -> Any: ...


def is_function_name(key: Any) -> bool:
    """Whether a single-key map with this key is a function call (in Heat's eyes)."""
    return isinstance(key, str) and (
        key in SUPPORTED or key in _HEAT_ONLY or key == "Ref" or key.startswith("Fn::")
    )


# -- function objects --------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    """A parsed call; ``where`` is its place, ending with the function name."""

    name: ClassVar[str]
    where: str

    def arguments(self) -> Iterator[Any]:
        """The argument snippets, which may hold further calls."""
        return iter(())

    def evaluate(self, env: Env) -> Any:
        raise NotImplementedError

    def fail(self, message: str) -> ResolutionError:
        return ResolutionError(path=self.where, reason=f"{self.name}: {message}")


@dataclass(frozen=True)
class GetParam(Function):
    """``get_param: NAME`` or ``[NAME, key-or-index, ...]``; a missing key gives "" as in Heat."""

    name: ClassVar[str] = "get_param"
    parameter: str
    path: tuple[Any, ...] = ()

    def arguments(self) -> Iterator[Any]:
        return iter(self.path)

    def evaluate(self, env: Env) -> Any:
        value = env.param(self.parameter, self.where)
        keys = [resolve(key, env) for key in self.path]
        if value is DEFERRED or contains_deferred(keys):
            return DEFERRED
        for key in keys:
            found, value = _select(value, key)
            if not found:
                return ""
        return value


@dataclass(frozen=True)
class GetResource(Function):
    """``get_resource: NAME``: the physical id of a resource of this stack."""

    name: ClassVar[str] = "get_resource"
    resource: str

    def evaluate(self, env: Env) -> Any:
        return env.ref(self.resource, self.where)


@dataclass(frozen=True)
class GetAttr(Function):
    """``get_attr: [RESOURCE, ATTRIBUTE, key-or-index, ...]``.

    A path into a missing key or index is an error naming the place; a null
    value (an attribute not available, or ``OS::Heat::None``) stays null
    whatever the path, as in Heat.
    """

    name: ClassVar[str] = "get_attr"
    resource: str
    attribute: str
    path: tuple[Any, ...] = ()

    def arguments(self) -> Iterator[Any]:
        return iter(self.path)

    def evaluate(self, env: Env) -> Any:
        value = env.attr(self.resource, self.attribute, self.where)
        keys = [resolve(key, env) for key in self.path]
        if value is DEFERRED or contains_deferred(keys):
            return DEFERRED
        walked = f"{self.resource}.{self.attribute}"
        if isinstance(value, Mapping) and FAN_OUT in value:
            return self._fan_out(value[FAN_OUT], keys, walked)
        return self._walk(value, keys, walked)

    def _walk(self, value: Any, keys: list[Any], walked: str) -> Any:
        for key in keys:
            if value is None:
                return None
            found, selected = _select(value, key)
            if not found:
                raise self.fail(_missing(walked, value, key))
            walked += f"[{key!r}]"
            value = selected
        return value

    def _fan_out(self, spread: Mapping[str, Any], keys: list[Any], walked: str) -> Any:
        """A group's ``outputs``/``outputs_list``: the path applies to each member."""
        if not keys:
            raise self.fail(
                f"{walked} needs the name of a member attribute, e.g. [..., first_address]"
            )
        results = {
            name: self._walk(attributes, keys, f"{walked}[{name!r}]")
            for name, attributes in spread["members"]
        }
        return list(results.values()) if spread["as"] == "list" else results


@dataclass(frozen=True)
class StrReplace(Function):
    """``str_replace: {template: ..., params: {...}}``.

    Longer placeholders are replaced first, equal lengths in lexical order, and
    replaced text is never scanned again: Heat's order.  Lists and maps as
    values are written as JSON from 2015-10-15.
    """

    name: ClassVar[str] = "str_replace"
    template: Any
    params: Any
    json_values: bool = True

    def arguments(self) -> Iterator[Any]:
        return iter((self.template, self.params))

    def evaluate(self, env: Env) -> Any:
        template = resolve(self.template, env)
        params = resolve(self.params, env)
        if contains_deferred(template) or contains_deferred(params):
            return DEFERRED
        if not isinstance(template, str):
            raise self.fail(f"template must be a string, got {kind_of(template)}")
        if not isinstance(params, Mapping):
            raise self.fail(f"params must be a map, got {kind_of(params)}")
        pairs = []
        for key, value in params.items():
            if not isinstance(key, str) or not key:
                raise self.fail(f"placeholders must be non-empty strings, got {key!r}")
            pairs.append((key, self._text(key, value)))
        pairs.sort(key=lambda pair: (-len(pair[0]), pair[0]))
        return _substitute(template, pairs)

    def _text(self, key: str, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, list | Mapping) and self.json_values:
            return json.dumps(value, sort_keys=True)
        allowed = "a string, number, list or map" if self.json_values else "a string or number"
        raise self.fail(f"the value of param {key!r} must be {allowed}, got {kind_of(value)}")


def _substitute(text: str, pairs: list[tuple[str, str]]) -> str:
    if not pairs:
        return text
    (placeholder, value), rest = pairs[0], pairs[1:]
    return value.join(_substitute(piece, rest) for piece in text.split(placeholder))


@dataclass(frozen=True)
class ListJoin(Function):
    """``list_join: [DELIMITER, LIST, ...]``; several lists and JSON items from 2015-10-15."""

    name: ClassVar[str] = "list_join"
    delimiter: Any
    lists: tuple[Any, ...]
    json_items: bool = True

    def arguments(self) -> Iterator[Any]:
        return iter((self.delimiter, *self.lists))

    def evaluate(self, env: Env) -> Any:
        delimiter = resolve(self.delimiter, env)
        lists = [resolve(part, env) for part in self.lists]
        if contains_deferred(delimiter) or contains_deferred(lists):
            return DEFERRED
        if not isinstance(delimiter, str):
            raise self.fail(f"the delimiter must be a string, got {kind_of(delimiter)}")
        items: list[Any] = []
        for number, part in enumerate(lists, start=1):
            if part is None or part == []:
                continue
            if not isinstance(part, list):
                raise self.fail(f"can only join lists; argument {number + 1} is {kind_of(part)}")
            items.extend(part)
        return delimiter.join(self._text(index, item) for index, item in enumerate(items))

    def _text(self, index: int, item: Any) -> str:
        if item is None:
            return ""
        if isinstance(item, str):
            return item
        if isinstance(item, list | Mapping) and self.json_items:
            return json.dumps(item, sort_keys=True)
        allowed = "strings, lists or maps" if self.json_items else "strings"
        raise self.fail(f"items to join must be {allowed}; item {index} is {kind_of(item)}")


def _select(value: Any, key: Any) -> tuple[bool, Any]:
    """One step of a get_param/get_attr path: (found, selected value)."""
    if isinstance(value, Mapping):
        return (True, value[key]) if key in value else (False, None)
    if isinstance(value, list) and not isinstance(key, bool):
        try:
            index = int(key)
        except (TypeError, ValueError):
            return False, None
        if -len(value) <= index < len(value):
            return True, value[index]
    return False, None


def _missing(walked: str, value: Any, key: Any) -> str:
    if isinstance(value, Mapping):
        return f"{walked} has no key {key!r}"
    if isinstance(value, list):
        return f"{walked} has no index {key!r} (it has {len(value)} items)"
    return f"{walked} is {kind_of(value)}; {key!r} cannot be looked up in it"


# -- walking -----------------------------------------------------------------------------


def resolve(snippet: Any, env: Env) -> Any:
    """Evaluate every call in a parsed snippet."""
    if isinstance(snippet, Function):
        return snippet.evaluate(env)
    if isinstance(snippet, Mapping):
        return {key: resolve(value, env) for key, value in snippet.items()}
    if isinstance(snippet, list):
        return [resolve(value, env) for value in snippet]
    return snippet


def resolve_each(
    snippets: Mapping[str, Any], env: Env, errors: list[TemplateError]
) -> dict[str, Any]:
    """Resolve each entry on its own, so one bad entry does not hide the others.

    An entry that cannot be resolved is reported in ``errors`` and left DEFERRED.
    """
    resolved: dict[str, Any] = {}
    for key, snippet in snippets.items():
        try:
            resolved[key] = resolve(snippet, env)
        except ResolutionError as exc:
            errors.append(exc.error())
            resolved[key] = DEFERRED
    return resolved


def iter_functions(snippet: Any) -> Iterator[Function]:
    """Every call in a parsed snippet, nested calls included."""
    if isinstance(snippet, Function):
        yield snippet
        for argument in snippet.arguments():
            yield from iter_functions(argument)
    elif isinstance(snippet, Mapping):
        for value in snippet.values():
            yield from iter_functions(value)
    elif isinstance(snippet, list):
        for value in snippet:
            yield from iter_functions(value)


def referenced_resources(snippet: Any) -> set[str]:
    """Names of the resources a snippet needs (get_resource and get_attr targets)."""
    found: set[str] = set()
    for function in iter_functions(snippet):
        if isinstance(function, GetResource | GetAttr):
            found.add(function.resource)
    return found


# -- parsing -----------------------------------------------------------------------------


class _Shape(ValueError):
    """The arguments of a call have the wrong shape."""


def parse(data: Any, path: str, version: Version, errors: list[TemplateError]) -> Any:
    """Turn plain data into a snippet with Function objects, collecting errors."""
    if isinstance(data, Mapping):
        if len(data) == 1:
            ((key, args),) = data.items()
            if is_function_name(key):
                return _parse_call(key, args, path, version, errors)
            intended = function_names.meant(key) if isinstance(key, str) else None
            if intended is not None:
                errors.append(_misspelt(key, intended, paths.child(path, key), version))
                return None
        return {
            key: parse(value, paths.child(path, key), version, errors)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [parse(value, paths.item(path, i), version, errors) for i, value in enumerate(data)]
    return data


def _parse_call(
    name: str, args: Any, path: str, version: Version, errors: list[TemplateError]
) -> Function | None:
    where = paths.child(path, name)
    if name not in SUPPORTED:
        hint = f"; HOT templates use {_CFN_HINTS[name]}" if name in _CFN_HINTS else ""
        since = function_names.HEAT_FUNCTIONS.get(name, versions.FIRST)
        if since > version.date:
            problem = (
                f"function {name!r} is available from heat_template_version {since} "
                f"(this is {version}), and flowstack does not support it"
            )
        else:
            problem = f"function {name!r} is not supported{hint}"
        errors.append(
            TemplateError(where, f"{problem}; supported functions: {', '.join(SUPPORTED)}")
        )
        return None
    parsed = parse(args, where, version, errors)
    try:
        return _BUILDERS[name](where, parsed, version)
    except _Shape as exc:
        errors.append(TemplateError(where, f"{name}: {exc}"))
        return None


def _misspelt(key: str, intended: str, where: str, version: Version) -> TemplateError:
    since = function_names.HEAT_FUNCTIONS[intended]
    newer = (
        f" (available from heat_template_version {since}; this is {version})"
        if since > version.date
        else ""
    )
    return TemplateError(
        where,
        f"{key!r} is not a function: did you mean {intended!r}?{newer} A map whose only "
        "key names a function is a call; to keep this map as data, give it another key",
    )


def _is_key(value: Any) -> bool:
    return isinstance(value, Function) or (
        isinstance(value, str | int) and not isinstance(value, bool)
    )


def _build_get_param(where: str, args: Any, version: Version) -> Function:
    if isinstance(args, str) and args:
        return GetParam(where, args)
    if isinstance(args, list) and args and isinstance(args[0], str) and args[0]:
        if not all(_is_key(key) for key in args[1:]):
            raise _Shape("path items must be keys (strings) or indexes (integers)")
        return GetParam(where, args[0], tuple(args[1:]))
    raise _Shape("takes a parameter name, or a list [name, key or index, ...]")


def _build_get_resource(where: str, args: Any, version: Version) -> Function:
    if isinstance(args, str) and args:
        return GetResource(where, args)
    raise _Shape(f"takes the name of a resource (a string), got {kind_of(args)}")


def _build_get_attr(where: str, args: Any, version: Version) -> Function:
    form = "takes a list [resource_name, attribute_name, key or index, ...]"
    if not isinstance(args, list) or not args:
        raise _Shape(form)
    if len(args) == 1:
        raise _Shape(
            f"{form}; the form with only a resource name (all attributes) is not "
            "supported, name the attribute"
        )
    resource, attribute, *rest = args
    if not isinstance(resource, str) or not resource:
        raise _Shape(f"the resource name must be a string, got {kind_of(resource)}")
    if not isinstance(attribute, str) or not attribute:
        raise _Shape(f"the attribute name must be a string, got {kind_of(attribute)}")
    if not all(_is_key(key) for key in rest):
        raise _Shape("path items must be keys (strings) or indexes (integers)")
    return GetAttr(where, resource, attribute, tuple(rest))


def _build_str_replace(where: str, args: Any, version: Version) -> Function:
    form = "takes a map with 'template' (a string) and 'params' (a map of placeholder: value)"
    if not isinstance(args, Mapping) or "template" not in args or "params" not in args:
        raise _Shape(form)
    extra = sorted(str(key) for key in args if key not in ("template", "params"))
    if extra:
        raise _Shape(f"unknown key {extra[0]!r}; {form}")
    template, params = args["template"], args["params"]
    if not isinstance(template, str | Function):
        raise _Shape(f"template must be a string, got {kind_of(template)}")
    json_values = version.has("str_replace_json")
    if isinstance(params, Mapping):
        for key, value in params.items():
            if not isinstance(key, str) or not key:
                raise _Shape(f"placeholders must be non-empty strings, got {key!r}")
            if isinstance(value, list | Mapping) and not json_values:
                raise _Shape(
                    f"the value of param {key!r} is {kind_of(value)}; lists and maps "
                    f"need heat_template_version {FEATURES['str_replace_json']} or "
                    f"later (this is {version})"
                )
    elif not isinstance(params, Function):
        raise _Shape(f"params must be a map, got {kind_of(params)}")
    return StrReplace(where, template, params, json_values)


def _build_list_join(where: str, args: Any, version: Version) -> Function:
    form = "takes a list [delimiter, list_of_strings, ...]"
    if not isinstance(args, list) or len(args) < 2:
        raise _Shape(form)
    multiple = version.has("list_join_multiple")
    if len(args) > 2 and not multiple:
        raise _Shape(
            f"joining several lists needs heat_template_version "
            f"{FEATURES['list_join_multiple']} or later (this is {version})"
        )
    delimiter, *lists = args
    if not isinstance(delimiter, str | Function):
        raise _Shape(f"the delimiter must be a string, got {kind_of(delimiter)}")
    for number, part in enumerate(lists, start=2):
        if not isinstance(part, list | Function):
            raise _Shape(f"argument {number} must be a list, got {kind_of(part)}")
    return ListJoin(where, delimiter, tuple(lists), multiple)


_BUILDERS = {
    "get_param": _build_get_param,
    "get_resource": _build_get_resource,
    "get_attr": _build_get_attr,
    "str_replace": _build_str_replace,
    "list_join": _build_list_join,
}
