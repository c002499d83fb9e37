"""The one exception tree of flowstack.

Every error a user can cause or see is a :class:`FlowstackError`; the edges
(CLI, RPC, HTTP) map these classes to exit codes or status codes, and nothing
inside the package does.  The tree::

    FlowstackError
    ├── InvalidInput                 the caller sent something wrong (HTTP 400)
    │   ├── TemplateInvalid          one or more TemplateError, all reported at once
    │   ├── InvalidParameterArgument a --parameter argument is not KEY=VALUE
    │   └── InvalidRequest           an RPC/API payload is malformed
    ├── NotFound                     (HTTP 404)
    │   ├── StackNotFound
    │   ├── ResourceNotFound
    │   ├── OutputNotFound
    │   └── FlowNotFound
    ├── Conflict                     (HTTP 409)
    │   ├── StackExists
    │   └── StackBusy                another flow is working on the stack
    ├── DatabaseUnavailable          the configured database cannot be reached
    ├── ResourceFailure              a resource action failed; names resource and reason
    └── ConfigError                  the configuration cannot work

:class:`TemplateError` is a value, not an exception: validation collects every
problem before raising one :class:`TemplateInvalid` so that a user fixes a
template in one round trip instead of one error at a time.
"""

from __future__ import annotations

from dataclasses import dataclass


class FlowstackError(Exception):
    """Base of every error flowstack raises on purpose."""


class InvalidInput(FlowstackError):
    """The caller sent something flowstack cannot accept."""


@dataclass(frozen=True)
class TemplateError:
    """One problem in a template: where it is and what is wrong.

    ``path`` is dotted from the template root (``resources.web.properties.flavor``);
    ``line`` is the 1-based line of the YAML source when it is known.
    """

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path or "template"
        if self.line is not None:
            where = f"{where} (line {self.line})"
        return f"{where}: {self.message}"


class TemplateInvalid(InvalidInput):
    """A template (or its parameters) failed validation; carries every error found."""

    def __init__(self, errors: list[TemplateError] | TemplateError) -> None:
        if isinstance(errors, TemplateError):
            errors = [errors]
        if not errors:
            raise ValueError("TemplateInvalid needs at least one error")
        self.errors: list[TemplateError] = list(errors)
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.errors) == 1:
            return f"Invalid template: {self.errors[0]}"
        lines = [f"Invalid template ({len(self.errors)} errors):"]
        lines.extend(f"  - {error}" for error in self.errors)
        return "\n".join(lines)


class InvalidParameterArgument(InvalidInput):
    """A ``--parameter`` argument is not of the form KEY=VALUE."""


class InvalidRequest(InvalidInput):
    """A request payload (RPC or API) is malformed; the message names the field."""


class NotFound(FlowstackError):
    """The named thing does not exist (or belongs to another project)."""


class StackNotFound(NotFound):
    def __init__(self, name_or_id: str) -> None:
        self.name_or_id = name_or_id
        super().__init__(f"Stack not found: {name_or_id}")


class ResourceNotFound(NotFound):
    def __init__(self, stack: str, resource: str) -> None:
        super().__init__(f"Resource {resource!r} not found in stack {stack}")


class OutputNotFound(NotFound):
    def __init__(self, stack: str, output: str, available: list[str]) -> None:
        known = ", ".join(sorted(available)) or "none"
        super().__init__(f"Output {output!r} not found in stack {stack} (outputs: {known})")


class FlowNotFound(NotFound):
    def __init__(self, flow_id: str) -> None:
        super().__init__(f"Flow not found: {flow_id}")


class Conflict(FlowstackError):
    """The request clashes with the current state."""


class StackExists(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"A stack named {name!r} already exists in this project")


class StackBusy(Conflict):
    def __init__(self, name: str, status: str) -> None:
        super().__init__(f"Stack {name!r} is {status}; wait for the running operation to finish")


class DatabaseUnavailable(FlowstackError):
    """The database cannot be reached; the message names it without its password."""


class ResourceFailure(FlowstackError):
    """A resource action failed; the message says which resource and why."""

    def __init__(self, resource: str, action: str, reason: str) -> None:
        self.resource = resource
        self.action = action
        self.reason = reason
        super().__init__(f"{action} of resource {resource!r} failed: {reason}")


class ConfigError(FlowstackError):
    """The configuration cannot work; the message names the option."""
