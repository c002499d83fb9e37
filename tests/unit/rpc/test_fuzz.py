"""Fuzzing the engine's front door: no input wedges, bloats or breaks it.

A seeded mutator (the same cases on every run) sends template texts,
parameter values and whole RPC payloads through the real client, channel,
payload checks and engine (:class:`~flowstack.rpc.local.LocalChannel`, see
``tests/engines.py``) on a real SQLite database, and asserts for every case:

- the caller gets a value or one of the caller's errors (invalid input, not
  found, conflict), never an internal error or a stray exception;
- no single call takes more than a few seconds (a regex or alias bomb takes
  minutes or forever);
- memory stays bounded across the run (tracemalloc's peak).

``FLOWSTACK_FUZZ_SCALE`` multiplies the number of cases (default 1: about
4,000 cases in a few seconds).
"""

from __future__ import annotations

import json
import os
import random
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from flowstack import exceptions
from flowstack.rpc.manager import EngineManager
from tests.unit.conftest import Engine

SCALE = int(os.environ.get("FLOWSTACK_FUZZ_SCALE", "1"))
#: Longest one call may take; generous for a loaded 2-core machine, far below a bomb's.
SLOWEST_CALL_S = 10.0
#: Most memory the whole run may hold at once (tracemalloc's peak).
MOST_BYTES = 150 * 2**20
#: What a caller may get back: its own mistakes, never the engine's.
CALLERS_ERRORS = (exceptions.InvalidInput, exceptions.NotFound, exceptions.Conflict)

SEEDS = [
    """
heat_template_version: 2018-08-31
description: a web tier
parameters:
  flavor: {type: string, default: m1.small, constraints: [{allowed_pattern: "[a-z0-9.]+"}]}
  count: {type: number, default: 2, constraints: [{range: {min: 1, max: 10}}]}
  tags: {type: comma_delimited_list, default: "a,b"}
  config: {type: json, default: {"a": [1, 2, {"b": null}]}}
  debug: {type: boolean, default: false}
  secret: {type: string, hidden: true, default: s3cret, constraints: [{length: {min: 4}}]}
resources:
  random: {type: OS::Heat::RandomString, properties: {length: 8}}
  app:
    type: OS::Heat::TestResource
    properties:
      value: {str_replace: {template: "$f-$s", params: {$f: {get_param: flavor}, $s: x}}}
  joined:
    type: OS::Heat::None
    depends_on: [app]
    properties: {v: {list_join: [",", [{get_attr: [app, output]}, {get_resource: random}]]}}
outputs:
  out: {value: {get_attr: [app, output]}, description: the value}
""",
    """
heat_template_version: 2015-10-15
parameters:
  names: {type: comma_delimited_list}
resources:
  a: &def {type: OS::Heat::None, properties: {x: &x [1, 2, {y: *x}]}}
  b: *def
  c:
    type: OS::Heat::TestResource
    properties: {value: {get_param: [names, 0]}, wait_secs: 0}
outputs:
  o: {value: {get_resource: c}}
""",
    '{"heat_template_version": "2016-10-14", "resources": {"n": {"type": "OS::Heat::None"}}}',
]
HOSTILE = [
    "&a [*a]",
    "*nowhere",
    "!!float x",
    "!!bool maybe",
    "!!binary ===",
    "!!python/object:os.system x",
    "9" * 5000,
    "[" * 300,
    "{" * 120 + "}" * 120,
    '"\\ud800"',
    "(a+)+$",
    "{get_atrr: [app, output]}",
    "{get_paramm: flavor}",
    "{str_split: [',', a]}",
    "{allowed_pattern: '(a)\\1'}",
    "{allowed_pattern: '(x+x+)+y'}",
    "x" * 3000 + "!",
    "\t",
    "\x00",
    "\u2028",
    "? [a]\n: b",
    "<<: *def",
    "&l [*l, *l, *l]",
    "{get_file: missing.txt}",
]
STRUCTURE = b"{}[]:,&*!|>-'\"\\\n #%@`?0123456789abcxyz_.\t\x00\xff\xc3"


def _mutate(rng: random.Random, text: str) -> str:
    """A few random edits: bytes, hostile snippets, lines moved or repeated."""
    data = bytearray(text.encode())
    for _ in range(rng.randint(1, 5)):
        where = rng.randrange(len(data) + 1)
        roll = rng.random()
        if roll < 0.3 and data:
            data[min(where, len(data) - 1)] = rng.choice(STRUCTURE)
        elif roll < 0.5:
            data[where:where] = bytes([rng.choice(STRUCTURE)])
        elif roll < 0.6 and data:
            del data[where : where + rng.randint(1, 8)]
        elif roll < 0.85:
            data[where:where] = rng.choice(HOSTILE).encode("utf-8", "surrogatepass")
        else:
            lines = bytes(data).split(b"\n")
            line = rng.choice(lines)
            lines.insert(rng.randrange(len(lines) + 1), line * rng.randint(1, 3))
            data = bytearray(b"\n".join(lines))
    return bytes(data).decode("utf-8", "replace")


def _value(rng: random.Random, depth: int = 0) -> Any:
    """A JSON value of any shape, hostile ones included."""
    roll = rng.random()
    if depth > 3 or roll < 0.45:
        return rng.choice(
            [
                None,
                True,
                0,
                -1,
                10**30,
                2**63,
                1.5,
                1e308,
                "",
                "x",
                "7",
                "true",
                "a,b,,c",
                "[1, 2]",
                '{"k": [1, {"j": null}]}',
                "[" * 5000 + "]" * 5000,
                "9" * 5000,
                "a" * 73 + "!",
                "\u00e9\u2603",
                "x" * 100000,
            ]
        )
    if roll < 0.6:
        deep: Any = "leaf"
        for _ in range(rng.choice([5, 99, 150, 2000])):
            deep = [deep] if rng.random() < 0.5 else {"k": deep}
        return deep
    if roll < 0.8:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["a", "", "k", "flavor", "0"]): _value(rng, depth + 1) for _ in range(3)}


def _shown(value: Any) -> str:
    """A case, short enough for a failure message (some are too deep for json)."""
    try:
        return json.dumps(value)[:300]
    except (TypeError, ValueError, RecursionError):
        return f"<{type(value).__name__} too deep to show>"


class _Run:
    """Makes each call, checks what it gave, and counts."""

    def __init__(self) -> None:
        self.cases = 0
        self.slowest = 0.0

    def __call__(self, label: str, call: Callable[[], Any]) -> None:
        self.cases += 1
        started = time.monotonic()
        try:
            call()
        except CALLERS_ERRORS as exc:
            assert exc.message, f"{label}: an error without a message"
        except Exception as exc:  # the finding: report the case that produced it
            pytest.fail(f"{label}: {type(exc).__name__}: {str(exc)[:300]}")
        elapsed = time.monotonic() - started
        self.slowest = max(self.slowest, elapsed)
        assert elapsed < SLOWEST_CALL_S, f"{label}: took {elapsed:.1f} s"


class _Nowhere:
    """A dispatcher that runs nothing: the fuzz is about the front door."""

    def dispatch(self, flow_id: str) -> None:
        pass


@pytest.fixture
def run(engine: Engine) -> Iterator[_Run]:
    engine.route.target = _Nowhere()
    tracemalloc.start()
    checker = _Run()
    try:
        yield checker
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MOST_BYTES, f"{peak / 2**20:.0f} MiB at the peak"
    print(f"\nfuzz: {checker.cases} cases, slowest {checker.slowest:.2f} s")


def test_template_texts(engine: Engine, run: _Run) -> None:
    rng = random.Random(13)
    for number in range(2000 * SCALE):
        text = _mutate(rng, rng.choice(SEEDS))
        run(
            f"template case {number}: {text!r}",
            lambda text=text: engine.service.validate_template(engine.ctx, text),
        )


def test_parameter_values(engine: Engine, run: _Run) -> None:
    rng = random.Random(31)
    names = ["flavor", "count", "tags", "config", "debug", "secret", "unknown"]
    for number in range(1000 * SCALE):
        given = {rng.choice(names): _value(rng) for _ in range(rng.randint(1, 3))}
        run(
            f"parameters case {number}: {_shown(given)}",
            lambda given=given: engine.service.validate_template(engine.ctx, SEEDS[0], given),
        )


def _methods() -> dict[str, dict[str, Any]]:
    return {
        name: getattr(EngineManager, name).rpc_fields
        for name in dir(EngineManager)
        if hasattr(getattr(EngineManager, name), "rpc_fields")
    }


def test_rpc_payloads(engine: Engine, run: _Run) -> None:
    rng = random.Random(7)
    methods = _methods()
    client = engine.service
    for number in range(1000 * SCALE):
        method = rng.choice(sorted(methods))
        fields = [*methods[method], "extra"]
        args = {
            field: (rng.choice([SEEDS[0], _mutate(rng, SEEDS[1])]) if field == "template" else None)
            for field in fields
            if rng.random() < 0.7
        }
        for field in args:
            if args[field] is None or rng.random() < 0.3:
                args[field] = _value(rng)
        if rng.random() < 0.8:
            args.pop("extra", None)
        run(
            f"payload case {number}: {method} {_shown(args)}",
            lambda method=method, args=args: client._call(engine.ctx, method, "1.4", **args),
        )
