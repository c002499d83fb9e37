"""The one exception tree of flowstack.

Every error a user can cause or see is a :class:`FlowstackError`; the edges
(CLI, RPC, HTTP) map these classes to exit codes or status codes, and nothing
inside the package does.  The tree::

    FlowstackError
    ├── InvalidInput                 the caller sent something wrong (HTTP 400)
    │   ├── TemplateInvalid          one or more TemplateError, all reported at once
    │   ├── ResolutionError          a template function cannot produce a value (path, reason)
    │   ├── InvalidParameterArgument a --parameter argument is not KEY=VALUE
    │   └── InvalidRequest           an RPC/API payload is malformed
    ├── NotFound                     (HTTP 404)
    │   ├── StackNotFound
    │   ├── ResourceNotFound
    │   ├── OutputNotFound
    │   ├── FlowNotFound
    │   ├── GroupNotFound
    │   ├── PolicyNotFound
    │   ├── WebhookNotFound          unknown and disabled tokens alike
    │   └── ScaleEventNotFound
    ├── Conflict                     (HTTP 409)
    │   ├── StackExists
    │   ├── StackBusy                another flow is working on the stack
    │   ├── GroupBusy                the group cannot change now (creating, deleting)
    │   └── IllegalFlowTransition    an operator verb that does not apply to the flow now
    ├── FlowCancelled                an operator cancelled the flow (fails its next step)
    ├── FencedOut                    this runner's claim was taken over: it stops writing
    ├── DatabaseUnavailable          the configured database cannot be reached
    ├── ResourceFailure              a resource action failed; names resource and reason
    ├── ConfigError                  the configuration cannot work
    │   └── TaskFlowIncompatible     the installed TaskFlow changed an internal we rely on
    ├── EngineError                  an RPC call got no usable answer from the engine
    │   ├── EngineUnavailable        no engine answered in time
    │   ├── EngineVersionUnsupported the engine is older than the call needs
    │   └── EngineInternalError      the engine failed unexpectedly (see its log)
    ├── NovaError                    a Nova call failed (``detail``, ``status``)
    │   ├── NovaTransientError       a retry may succeed; Nova may have acted
    │   │   └── NovaUnreachable      no connection could be opened: Nova did nothing
    │   └── NovaRequestError         Nova refused the request; it changed nothing
    │       └── NovaNotFound         (HTTP 404), or a name matching several
    ├── OctaviaError                 an Octavia call failed (``detail``, ``status``)
    │   ├── OctaviaTransientError    a retry may succeed
    │   └── OctaviaRequestError      Octavia refused the request
    │       ├── OctaviaNotFound
    │       └── OctaviaConflict      (HTTP 409) immutable load balancer, duplicate member
    └── ResourceNotReady             not an error: a wait task's "poll again" signal,
                                     defined in ``flows.tasks.retries`` (its name is
                                     persisted in flows' retry histories)

The cloud simulator (:mod:`flowstack.nova_sim`) imports nothing of flowstack
and has its own tree, rooted at ``SimulatorError`` in its ``errors`` module.

Construction follows the Nova/Heat pattern, which is also the shape
oslo.messaging rebuilds a remote exception with (``cls(*args, **kwargs)``):
the keyword arguments are the error's domain values (JSON-safe) and build the
message from the class's ``msg_fmt``; a first positional argument, when given,
is the message itself::

    StackNotFound(name_or_id="web")          # "Stack not found: web"
    ConfigError("[nova] auth_url is not set")

``args`` is always ``(message,)`` and ``kwargs`` keeps the domain values, so
an exception raised in flowstack-engine reaches an RPC caller as the same
class with the same message and values.

:class:`TemplateError` is a value, not an exception: validation collects every
problem before raising one :class:`TemplateInvalid` so that a user fixes a
template in one round trip instead of one error at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class FlowstackError(Exception):
    """Base of every error flowstack raises on purpose.

    A subclass sets ``msg_fmt``, a :meth:`str.format` template over its
    keyword arguments, or overrides :meth:`format_message` when the message
    needs more than substitution.
    """

    msg_fmt = "An unexpected flowstack error occurred."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs: dict[str, Any] = kwargs
        if message is None:
            message = self.format_message(**kwargs)
        super().__init__(message)

    def format_message(self, **kwargs: Any) -> str:
        """The message built from the keyword arguments (when none was given)."""
        try:
            return self.msg_fmt.format(**kwargs)
        except KeyError as exc:
            raise TypeError(
                f"{type(self).__name__} needs the keyword argument {exc.args[0]!r}"
            ) from None

    @property
    def message(self) -> str:
        """The message alone (``str()`` of a remote exception also carries its traceback)."""
        return str(self.args[0]) if self.args else ""


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

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "message": self.message, "line": self.line}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TemplateError:
        return cls(path=data["path"], message=data["message"], line=data.get("line"))


class TemplateInvalid(InvalidInput):
    """A template (or its parameters) failed validation; carries every error found.

    ``errors`` may be given as :class:`TemplateError` values or as their
    dicts (``path``, ``message``, ``line``); ``kwargs["errors"]`` holds the
    dicts (what travels over RPC) and :attr:`errors` the values.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Iterable[TemplateError | Mapping[str, Any]] | TemplateError = (),
        **kwargs: Any,
    ) -> None:
        if isinstance(errors, TemplateError):
            errors = [errors]
        self.errors: list[TemplateError] = [
            e if isinstance(e, TemplateError) else TemplateError.from_dict(e) for e in errors
        ]
        if message is None and not self.errors:
            raise ValueError("TemplateInvalid needs at least one error")
        super().__init__(message, errors=[e.to_dict() for e in self.errors], **kwargs)

    def format_message(self, **kwargs: Any) -> str:
        if len(self.errors) == 1:
            return f"Invalid template: {self.errors[0]}"
        lines = [f"Invalid template ({len(self.errors)} errors):"]
        lines.extend(f"  - {error}" for error in self.errors)
        return "\n".join(lines)


class ResolutionError(InvalidInput):
    """A template function cannot produce a value; ``path`` is the place of the call."""

    msg_fmt = "{path}: {reason}"

    @property
    def path(self) -> str:
        return str(self.kwargs["path"])

    @property
    def reason(self) -> str:
        return str(self.kwargs["reason"])

    def error(self) -> TemplateError:
        """This problem as a TemplateError."""
        return TemplateError(self.path, self.reason)


class InvalidParameterArgument(InvalidInput):
    """A ``--parameter`` argument is not of the form KEY=VALUE."""


class InvalidRequest(InvalidInput):
    """A request payload (RPC or API) is malformed; the message names the field.

    ``field`` (a keyword argument, when given) is the name of the offending field.
    """


class NotFound(FlowstackError):
    """The named thing does not exist (or belongs to another project)."""


class StackNotFound(NotFound):
    msg_fmt = "Stack not found: {name_or_id}"


class ResourceNotFound(NotFound):
    msg_fmt = "Resource {resource!r} not found in stack {stack}"


class OutputNotFound(NotFound):
    """``available`` lists the outputs the stack does have."""

    msg_fmt = "Output {output!r} not found in stack {stack} (outputs: {known})"

    def format_message(self, **kwargs: Any) -> str:
        known = ", ".join(sorted(kwargs.get("available") or [])) or "none"
        return super().format_message(**kwargs, known=known)


class FlowNotFound(NotFound):
    msg_fmt = "Flow not found: {flow_id}"


class GroupNotFound(NotFound):
    msg_fmt = "Scaling group not found: {group}"


class PolicyNotFound(NotFound):
    msg_fmt = "Scaling policy {policy!r} not found in stack {stack}"


class WebhookNotFound(NotFound):
    """Unknown, disabled and deleted webhooks look alike: nothing to probe.

    Never carries the token (or its hash): the message is the same for all.
    """

    msg_fmt = "Webhook not found"


class ScaleEventNotFound(NotFound):
    msg_fmt = "Scale event not found: {receipt}"


class Conflict(FlowstackError):
    """The request clashes with the current state."""


class StackExists(Conflict):
    msg_fmt = "A stack named {name!r} already exists in this project"


class StackBusy(Conflict):
    msg_fmt = "Stack {name!r} is {status}; wait for the running operation to finish"


class GroupBusy(Conflict):
    msg_fmt = "Scaling group {group!r} is {state}: {why}"


class IllegalFlowTransition(Conflict):
    msg_fmt = "Cannot {verb} flow {flow_id}: {why}"


class FlowCancelled(FlowstackError):
    msg_fmt = "Flow {flow_id} cancelled by {by}"


class DatabaseUnavailable(FlowstackError):
    """The database cannot be reached; the message names it without its password."""


class ResourceFailure(FlowstackError):
    """A resource action failed; the message says which resource and why."""

    msg_fmt = "{action} of resource {resource!r} failed: {reason}"

    @property
    def resource(self) -> str | None:
        return self.kwargs.get("resource")

    @property
    def action(self) -> str | None:
        return self.kwargs.get("action")

    @property
    def reason(self) -> str:
        return self.kwargs.get("reason", self.message)


class ConfigError(FlowstackError):
    """The configuration cannot work; the message names the option."""


class TaskFlowIncompatible(ConfigError):
    """The installed TaskFlow changed an internal flowstack relies on."""

    msg_fmt = (
        "TaskFlow {version} changed internals flowstack relies on: {changed}. "
        "Install a supported release (taskflow{supported})"
    )


class FencedOut(FlowstackError):
    """This runner's claim on the flow was taken over; it must stop writing.

    Deliberately not a TaskFlow StorageFailure: TaskFlow retries those (three
    times, five seconds apart), and a fenced write must fail at once.
    """


class EngineError(FlowstackError):
    """An RPC call to flowstack-engine got no usable answer (raised by the RPC client)."""


class EngineUnavailable(EngineError):
    msg_fmt = (
        "No flowstack-engine answered {method} within {timeout} s "
        "(is one running, and is [rpc] call_timeout long enough?)"
    )


class EngineVersionUnsupported(EngineError):
    msg_fmt = (
        "{method} needs RPC API version {version}, which {where} does not support; "
        "upgrade the engine first (or lower [rpc] version_cap on the caller)"
    )


class EngineInternalError(EngineError):
    msg_fmt = (
        "flowstack-engine failed while handling {method}: {error} "
        "(request {request_id}; the engine's log has the details)"
    )


# -- the clouds flowstack drives ---------------------------------------------------


class NovaError(FlowstackError):
    """A Nova call failed; ``detail`` is Nova's own message when it sent one."""

    maybe_done: bool = True

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        self.detail = detail
        self.status = status
        super().__init__(self._render())

    def _render(self) -> str:
        if self.status is None:
            return self.detail
        return f"Nova answered HTTP {self.status}: {self.detail}"


class NovaTransientError(NovaError):
    """A retry may succeed; Nova may or may not have done what was asked."""


class NovaUnreachable(NovaTransientError):
    """No connection could be opened (refused, no route, name not resolved)."""

    maybe_done = False


class NovaRequestError(NovaError):
    """Nova refused the request (bad input, quota, policy); it changed nothing."""

    maybe_done = False


class NovaNotFound(NovaRequestError):
    """The thing asked for does not exist (HTTP 404), or a name matches several."""


class OctaviaError(FlowstackError):
    """An Octavia call failed; ``detail`` is Octavia's own message when it sent one."""

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        self.detail = detail
        self.status = status
        super().__init__(
            self.detail if status is None else f"Octavia answered HTTP {status}: {detail}"
        )


class OctaviaTransientError(OctaviaError):
    """A retry may succeed; Octavia may or may not have done what was asked."""


class OctaviaRequestError(OctaviaError):
    """Octavia refused the request; it changed nothing."""


class OctaviaNotFound(OctaviaRequestError):
    """The object (or its pool, or its load balancer) does not exist."""


class OctaviaConflict(OctaviaRequestError):
    """HTTP 409: the load balancer is immutable right now, or a duplicate member."""

    @property
    def immutable(self) -> bool:
        """Busy (PENDING_*) or in ERROR: the same request may succeed later."""
        return "immutable" in self.detail.lower()
