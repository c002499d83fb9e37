"""Fault injection rules: what goes wrong, when, and how often.

A fault configuration is plain JSON (the same document in the config file, in
``NovaSimulator(faults=...)``, ``set_faults()`` and ``/_admin/faults``)::

    {
      "seed": 42,
      "quota": {"instances": 10, "cores": null, "ram": null},
      "build_errors":   [{"every_nth": 3, "message": "No valid host was found."}],
      "api_errors":     [{"method": "POST", "path": "/servers$", "status": 503, "times": 2}],
      "delete_errors":  [{"status": 500, "times": 2}],
      "delete_hangs":   [{"seconds": null, "name_regex": "^stuck-"}],
      "lost_responses": [{"mode": "error", "times": 1}],
      "lb_errors":      [{"method": "POST", "path": "/members$", "status": 503, "times": 1}],
      "lb_immutable":   [{"resource": "member", "operation": "delete", "times": 2}],
      "lb_provisioning_errors": [{"resource": "member", "address": "10.0.0.9"}]
    }

Every rule takes the same *selectors* and *triggers*:

``name_regex`` / ``metadata``
    only servers whose name matches (``re.search``) / whose metadata contains
    every given key and value; rules that act on a plain request
    (``api_errors``) have ``method`` (``*`` for any) and ``path`` (``re.search``
    on the URL path) instead, and ``lost_responses`` have both.
``every_nth``
    fire on the Nth, 2Nth, ... event the selectors matched;
``rate``
    fire with this probability, drawn from an RNG seeded by ``seed`` and the
    rule's position, so a run is reproducible;
``times``
    fire at most this many times (``null``: no limit). A rule with no trigger
    fires on every matching event.

Kinds:

``build_errors``
    the server is created (202) but its build ends in ERROR with a Nova fault
    ``{"code", "message", "created"[, "details"]}`` instead of ACTIVE.
``api_errors``
    the request is answered with ``status`` (500, 503, ...) and a Nova fault
    body *before* it does anything.
``quota``
    creates past the limit answer Nova's 403 ``Quota exceeded for instances:
    Requested 1, but already used 10 of 10 instances``.
``delete_errors``
    ``mode: "api"`` (default): the DELETE answers ``status`` and changes
    nothing; ``mode: "async"``: the DELETE answers 204 but after the delete
    delay the server is ERROR with a fault instead of gone (what Nova does when
    the compute host fails the delete).
``delete_hangs``
    the DELETE answers 204 but the server stays in task_state ``deleting`` for
    ``seconds`` (``null``: forever) instead of the delete delay.
``lost_responses``
    the request (by default ``POST /servers``) IS carried out, then the client
    gets ``mode: "error"`` a 500, ``"drop"`` a closed connection with no answer,
    or ``"delay"`` the answer only after ``delay`` seconds (past its timeout).
    They apply to load-balancer paths too when their ``path`` matches.

Load-balancer (Octavia) kinds; ``api_errors`` never touch ``/load-balancer``:

``lb_errors``
    like ``api_errors`` for ``/load-balancer`` paths: ``method``/``path``
    select, the answer is ``status`` with an Octavia fault body.
``lb_immutable``
    a mutating call answers 409 ``Load Balancer <id> is immutable and cannot
    be updated.`` as if another change were in progress. Selected by
    ``resource`` (``loadbalancer``, ``pool``, ``member`` or ``*``),
    ``operation`` (``create``, ``update``, ``delete`` or ``*``), ``address``
    (a member's, exact) and ``name_regex``.
``lb_provisioning_errors``
    same selectors; the call is accepted but the object ends in
    provisioning_status ERROR instead of ACTIVE (or instead of gone, for a
    delete). ``operation`` defaults to ``create``.

Faults are runtime settings: they are not written to the state file.
"""

from __future__ import annotations

import dataclasses
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from flowstack.nova_sim.errors import SimulatorConfigError

DEFAULT_BUILD_MESSAGE = "No valid host was found. There are not enough hosts available."
DEFAULT_API_MESSAGES = {
    500: (
        "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ "
        "and attach the Nova API log if possible.\n"
        "<class 'flowstack.nova_sim.InjectedFault'>"
    ),
    503: "The server is currently unavailable. Please try again at a later time.",
}
DEFAULT_DELETE_ASYNC_MESSAGE = "Failed to terminate instance: injected by flowstack-nova-sim"


@dataclass(frozen=True)
class Subject:
    """The server a decision is about (name and metadata are what rules select on)."""

    name: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class _Rule:
    """Selectors, trigger and budget shared by every rule kind."""

    name_regex: str | None = None
    metadata: dict[str, str] | None = None
    every_nth: int | None = None
    rate: float | None = None
    times: int | None = None
    # Runtime counters, reported by to_dict() but not accepted by from_dict().
    seen: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)

    _counters: ClassVar[tuple[str, ...]] = ("seen", "fired")

    def __post_init__(self) -> None:
        self._rng = random.Random(0)
        self._name_re = None
        if self.name_regex is not None:
            self._name_re = self._compile(self.name_regex, "name_regex")
        if self.every_nth is not None and (
            not isinstance(self.every_nth, int) or self.every_nth < 1
        ):
            raise SimulatorConfigError("every_nth must be an integer >= 1")
        if self.rate is not None and not (
            isinstance(self.rate, int | float) and 0.0 <= self.rate <= 1.0
        ):
            raise SimulatorConfigError("rate must be a number between 0 and 1")
        if self.times is not None and (not isinstance(self.times, int) or self.times < 0):
            raise SimulatorConfigError("times must be an integer >= 0 or null")
        if self.metadata is not None and not isinstance(self.metadata, dict):
            raise SimulatorConfigError("metadata must be an object of key/value strings")

    @staticmethod
    def _compile(pattern: str, what: str) -> re.Pattern[str]:
        try:
            return re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise SimulatorConfigError(f"{what} {pattern!r} is not a valid regex: {exc}") from exc

    def seed(self, seed: int, position: str) -> None:
        self._rng = random.Random(f"{seed}:{position}")

    def selects(self, subject: Subject | None) -> bool:
        if self._name_re is None and not self.metadata:
            return True
        if subject is None:
            return False
        if self._name_re is not None and not (
            subject.name is not None and self._name_re.search(subject.name)
        ):
            return False
        return all(subject.metadata.get(k) == v for k, v in (self.metadata or {}).items())

    def trigger(self) -> bool:
        """Count one matching event and say whether the rule fires on it."""
        self.seen += 1
        if self.times is not None and self.fired >= self.times:
            return False
        if self.every_nth is not None and self.seen % self.every_nth != 0:
            return False
        if self.rate is not None and self._rng.random() >= self.rate:
            return False
        self.fired += 1
        return True

    @classmethod
    def from_dict(cls, data: Any, kind: str) -> _Rule:
        if not isinstance(data, dict):
            raise SimulatorConfigError(f"faults.{kind}: each rule must be an object")
        names = {f.name for f in dataclasses.fields(cls)} - set(cls._counters)
        unknown = sorted(set(data) - names)
        if unknown:
            raise SimulatorConfigError(
                f"faults.{kind}: unknown key(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(names))}"
            )
        try:
            return cls(**data)
        except SimulatorConfigError as exc:
            raise SimulatorConfigError(f"faults.{kind}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass
class BuildErrorRule(_Rule):
    message: str = DEFAULT_BUILD_MESSAGE
    code: int = 500
    details: str | None = None


@dataclass
class ApiErrorRule(_Rule):
    method: str = "*"
    path: str = ""
    status: int = 500
    message: str | None = None
    retry_after: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self._path_re = self._compile(self.path, "path")
        if not isinstance(self.status, int) or not 400 <= self.status <= 599:
            raise SimulatorConfigError("status must be an HTTP error code (400-599)")

    def selects_request(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and bool(self._path_re.search(path))


@dataclass
class DeleteErrorRule(_Rule):
    status: int = 500
    message: str | None = None
    mode: str = "api"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode not in ("api", "async"):
            raise SimulatorConfigError("mode must be 'api' or 'async'")


@dataclass
class DeleteHangRule(_Rule):
    seconds: float | None = None


@dataclass
class LostResponseRule(ApiErrorRule):
    method: str = "POST"
    path: str = r"/servers$"
    mode: str = "error"
    delay: float = 30.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode not in ("error", "drop", "delay"):
            raise SimulatorConfigError("mode must be 'error', 'drop' or 'delay'")


@dataclass
class LbErrorRule(ApiErrorRule):
    """An injected HTTP error on a load-balancer path (``lb_errors``)."""


_LB_RESOURCES = ("*", "loadbalancer", "pool", "member")
_LB_OPERATIONS = ("*", "create", "update", "delete")


@dataclass(frozen=True)
class LbSubject:
    """The load-balancer object a decision is about and what is done to it."""

    resource: str
    operation: str
    name: str | None = None
    address: str | None = None


@dataclass
class LbImmutableRule(_Rule):
    """Answer 409 "immutable" to a matching mutation (``lb_immutable``)."""

    resource: str = "*"
    operation: str = "*"
    address: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.resource not in _LB_RESOURCES:
            raise SimulatorConfigError(f"resource must be one of {', '.join(_LB_RESOURCES)}")
        if self.operation not in _LB_OPERATIONS:
            raise SimulatorConfigError(f"operation must be one of {', '.join(_LB_OPERATIONS)}")

    def selects_lb(self, subject: LbSubject) -> bool:
        return (
            self.resource in ("*", subject.resource)
            and self.operation in ("*", subject.operation)
            and (self.address is None or self.address == subject.address)
            and self.selects(Subject(subject.name))
        )


@dataclass
class LbProvisioningErrorRule(LbImmutableRule):
    """End a matching change in provisioning_status ERROR (``lb_provisioning_errors``)."""

    operation: str = "create"


@dataclass
class QuotaLimits:
    instances: int | None = None
    cores: int | None = None
    ram: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> QuotaLimits:
        if data is None:
            return cls()
        if not isinstance(data, dict) or set(data) - {"instances", "cores", "ram"}:
            raise SimulatorConfigError(
                "faults.quota must be an object with instances, cores and/or ram"
            )
        for key, value in data.items():
            if value is not None and (not isinstance(value, int) or value < 0):
                raise SimulatorConfigError(f"faults.quota.{key} must be an integer >= 0 or null")
        return cls(**data)


_RULE_KINDS: dict[str, type[_Rule]] = {
    "build_errors": BuildErrorRule,
    "api_errors": ApiErrorRule,
    "delete_errors": DeleteErrorRule,
    "delete_hangs": DeleteHangRule,
    "lost_responses": LostResponseRule,
    "lb_errors": LbErrorRule,
    "lb_immutable": LbImmutableRule,
    "lb_provisioning_errors": LbProvisioningErrorRule,
}
_KIND_NAMES: dict[type[_Rule], str] = {rule: kind for kind, rule in _RULE_KINDS.items()}
R = TypeVar("R", bound=_Rule)


@dataclass
class FaultConfig:
    """Every injected fault, as one JSON-able value (see the module docstring)."""

    seed: int = 0
    quota: QuotaLimits = field(default_factory=QuotaLimits)
    build_errors: list[BuildErrorRule] = field(default_factory=list)
    api_errors: list[ApiErrorRule] = field(default_factory=list)
    delete_errors: list[DeleteErrorRule] = field(default_factory=list)
    delete_hangs: list[DeleteHangRule] = field(default_factory=list)
    lost_responses: list[LostResponseRule] = field(default_factory=list)
    lb_errors: list[LbErrorRule] = field(default_factory=list)
    lb_immutable: list[LbImmutableRule] = field(default_factory=list)
    lb_provisioning_errors: list[LbProvisioningErrorRule] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any) -> FaultConfig:
        if data is None:
            return cls()
        if isinstance(data, FaultConfig):
            return cls.from_dict(data.to_dict(counters=False))
        if not isinstance(data, dict):
            raise SimulatorConfigError("faults must be a JSON object")
        allowed = {"seed", "quota", *_RULE_KINDS}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise SimulatorConfigError(
                f"faults: unknown key(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        seed = data.get("seed", 0)
        if not isinstance(seed, int):
            raise SimulatorConfigError("faults.seed must be an integer")
        config = cls(seed=seed, quota=QuotaLimits.from_dict(data.get("quota")))
        for kind, rule_cls in _RULE_KINDS.items():
            rules = data.get(kind) or []
            if not isinstance(rules, list):
                raise SimulatorConfigError(f"faults.{kind} must be a list of rules")
            setattr(config, kind, [rule_cls.from_dict(rule, kind) for rule in rules])
        config.reseed()
        return config

    def reseed(self) -> None:
        for kind in _RULE_KINDS:
            for index, rule in enumerate(getattr(self, kind)):
                rule.seed(self.seed, f"{kind}:{index}")

    def to_dict(self, counters: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"seed": self.seed, "quota": self.quota.to_dict()}
        for kind in _RULE_KINDS:
            rules = [rule.to_dict() for rule in getattr(self, kind)]
            if not counters:
                for rule in rules:
                    rule.pop("seen")
                    rule.pop("fired")
            data[kind] = rules
        return data


def merge_fault_dicts(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``PATCH`` semantics: rule lists are appended, ``seed``/``quota`` replaced."""
    if not isinstance(update, dict):
        raise SimulatorConfigError("faults must be a JSON object")
    merged = dict(base)
    for key, value in update.items():
        if key in _RULE_KINDS and isinstance(value, list):
            merged[key] = list(merged.get(key) or []) + value
        elif key == "quota" and isinstance(value, dict):
            merged[key] = {**(merged.get("quota") or {}), **value}
        else:
            merged[key] = value
    return merged


class FaultInjector:
    """Thread-safe decisions over the current :class:`FaultConfig`."""

    def __init__(self, config: FaultConfig | dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig.from_dict(config)

    # -- configuration -------------------------------------------------------
    def set(self, config: FaultConfig | dict[str, Any] | None) -> None:
        new = FaultConfig.from_dict(config)
        with self._lock:
            self._config = new

    def update(self, partial: dict[str, Any]) -> None:
        """Append rules / replace seed and quota, keeping existing rules' counters."""
        with self._lock:
            current = self._config
            merged = FaultConfig.from_dict(
                merge_fault_dicts(current.to_dict(counters=False), partial)
            )
            for kind in _RULE_KINDS:
                for old, new in zip(getattr(current, kind), getattr(merged, kind), strict=False):
                    new.seen, new.fired, new._rng = old.seen, old.fired, old._rng
            self._config = merged

    def clear(self) -> None:
        self.set(None)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self._config.to_dict()

    @property
    def quota(self) -> QuotaLimits:
        with self._lock:
            return dataclasses.replace(self._config.quota)

    # -- decisions -----------------------------------------------------------
    def _first(self, kind: type[R], predicate: Callable[[R], bool]) -> R | None:
        with self._lock:
            for rule in getattr(self._config, _KIND_NAMES[kind]):
                if isinstance(rule, kind) and predicate(rule) and rule.trigger():
                    return rule
        return None

    def api_error(self, method: str, path: str) -> ApiErrorRule | None:
        return self._first(ApiErrorRule, lambda r: r.selects_request(method, path))

    def build_error(self, subject: Subject) -> BuildErrorRule | None:
        return self._first(BuildErrorRule, lambda r: r.selects(subject))

    def delete_error(self, subject: Subject) -> DeleteErrorRule | None:
        return self._first(DeleteErrorRule, lambda r: r.selects(subject))

    def delete_hang(self, subject: Subject) -> DeleteHangRule | None:
        return self._first(DeleteHangRule, lambda r: r.selects(subject))

    def lost_response(
        self, method: str, path: str, subject: Subject | None
    ) -> LostResponseRule | None:
        return self._first(
            LostResponseRule,
            lambda r: r.selects_request(method, path) and r.selects(subject),
        )

    def lb_error(self, method: str, path: str) -> LbErrorRule | None:
        return self._first(LbErrorRule, lambda r: r.selects_request(method, path))

    def lb_immutable(self, subject: LbSubject) -> LbImmutableRule | None:
        return self._first(LbImmutableRule, lambda r: r.selects_lb(subject))

    def lb_provisioning_error(self, subject: LbSubject) -> LbProvisioningErrorRule | None:
        return self._first(LbProvisioningErrorRule, lambda r: r.selects_lb(subject))
