"""Parsing of command-line arguments shared by several commands."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from flowstack import exceptions
from flowstack.resources import template_types
from flowstack.template import files as get_file
from flowstack.template import loader


def parse_parameters(items: list[str] | None) -> dict[str, str]:
    """``KEY=VALUE`` arguments as a dict; the value may itself contain '='."""
    parameters: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise exceptions.InvalidParameterArgument(f"--parameter {item!r}: expected KEY=VALUE")
        parameters[key.strip()] = value
    return parameters


def read_template(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise exceptions.InvalidInput(f"cannot read template {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise exceptions.InvalidInput(f"template {path} is not UTF-8 text") from None


def template_files(path: str, text: str) -> dict[str, str]:
    """The files a template needs, read next to it (as Heat's client does).

    Those it uses as resource types (``type: lb_server.yaml``, of a
    resource or of a scaling group's members) and those it reads with
    ``get_file`` (in it, or in such a type's file), each relative to the
    directory of the file that names it, sent in the files map under the
    name written.  A template that does not load is sent as it is: the
    engine names what is wrong with it.
    """
    try:
        data, _ = loader.load(text)
    except exceptions.TemplateInvalid:
        return {}
    base = os.path.dirname(os.path.abspath(path))
    files: dict[str, str] = {}
    for name in sorted(template_types.file_types_in(data)):
        files[name] = _read_named(path, base, name)
        try:
            nested, _ = loader.load(files[name])
        except exceptions.TemplateInvalid:
            continue
        where = os.path.dirname(os.path.join(base, name))
        for wanted in sorted(get_file.names(nested) - set(files)):
            files[wanted] = _read_named(name, where, wanted)
    for name in sorted(get_file.names(data) - set(files)):
        files[name] = _read_named(path, base, name)
    return files


def _read_named(named_by: str, base: str, name: str) -> str:
    where = name if os.path.isabs(name) else os.path.join(base, name)
    try:
        with open(where, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise exceptions.InvalidInput(
            f"{named_by} needs {name} but {where} cannot be read: {exc.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise exceptions.InvalidInput(f"{where} is not UTF-8 text") from None


def integer(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``low`` to ``high``, checked before any call."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            allowed = f"{low} or more" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"{value} is out of range ({allowed})")
        return value

    return parse
