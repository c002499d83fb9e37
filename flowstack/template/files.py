"""``get_file``: a file's contents, put in place when the template is loaded.

As in Heat, the client sends the files a template reads with ``get_file``
(a server's ``user_data`` script, say) in the files map, and the engine
replaces each call with the file's text before anything else looks at the
template: what is stored, validated and resolved later holds the text, so
the files are not needed again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowstack.exceptions import TemplateError
from flowstack.schema.properties import kind_of
from flowstack.template import paths

GET_FILE = "get_file"


def inline(data: Any, files: Mapping[str, Any], path: str = "") -> tuple[Any, list[TemplateError]]:
    """The data with every ``{get_file: NAME}`` replaced by ``files[NAME]``; and the errors."""
    errors: list[TemplateError] = []
    return _inline(data, files, path, errors), errors


def _inline(data: Any, files: Mapping[str, Any], path: str, errors: list[TemplateError]) -> Any:
    if isinstance(data, Mapping):
        if len(data) == 1 and GET_FILE in data:
            return _contents(data[GET_FILE], files, paths.child(path, GET_FILE), errors)
        return {k: _inline(v, files, paths.child(path, k), errors) for k, v in data.items()}
    if isinstance(data, list):
        return [_inline(v, files, paths.item(path, i), errors) for i, v in enumerate(data)]
    return data


def _contents(name: Any, files: Mapping[str, Any], where: str, errors: list[TemplateError]) -> Any:
    if not isinstance(name, str) or not name:
        errors.append(TemplateError(where, f"get_file needs a file name, got {kind_of(name)}"))
        return ""  # reported: later checks see text, as they would with the file
    text = files.get(name)
    if not isinstance(text, str):
        given = ", ".join(sorted(files)) or "none"
        errors.append(
            TemplateError(
                where,
                f"get_file: {name!r} is not in the files map (files given: {given}); "
                "the flowstack CLI sends the files a template names, read next to it",
            )
        )
        return ""
    return text


def names(data: Any) -> set[str]:
    """The file names a template's ``get_file`` calls read."""
    if isinstance(data, Mapping):
        if len(data) == 1 and isinstance(data.get(GET_FILE), str):
            return {data[GET_FILE]}
        return set().union(*(names(v) for v in data.values())) if data else set()
    if isinstance(data, list):
        return set().union(*(names(v) for v in data)) if data else set()
    return set()
