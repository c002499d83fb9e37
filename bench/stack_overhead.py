"""Orchestration overhead per resource: flowstack against stock TaskFlow.

A benchmark that prints figures; it is not a test and asserts nothing about
time.  For each shape and size it creates a stack of ``OS::Heat::None``
resources through flowstack's real embedded code path (validate, persist,
run the TaskFlow graph with flowstack's persistence backend, record
resource states), checks the stack reached CREATE_COMPLETE, deletes it and
checks DELETE_COMPLETE.  Each run uses a fresh SQLite file in a temporary
directory, and a fresh runtime that is closed afterwards.

Shapes:

* ``wide``: N independent resources;
* ``chain``: each resource ``depends_on`` the previous one.

The reference is a stock TaskFlow graph flow of N trivial tasks of the same
shape, persisted with TaskFlow's stock SQLAlchemy backend on SQLite, run by
the parallel engine with ``max_workers=16``.

Usage::

    .venv/bin/python bench/stack_overhead.py                 # 50, 200, 1000
    .venv/bin/python bench/stack_overhead.py --quick         # 50, 200 only
    .venv/bin/python bench/stack_overhead.py --json out.json
    .venv/bin/python bench/stack_overhead.py --profile chain:1000

See ``bench/README.rst``.
"""

from __future__ import annotations

# flowstack first: it blocks eventlet before TaskFlow (or anything else) probes for it.
from flowstack import threads_only

threads_only.enforce()  # before TaskFlow loads


# isort: split

import argparse
import contextlib
import cProfile
import gc
import io
import json
import logging
import os
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any

import futurist
import taskflow.engines
from taskflow import task
from taskflow.patterns import graph_flow
from taskflow.persistence import backends as tf_backends
from taskflow.persistence import models as tf_models

from flowstack import context
from flowstack.conf import loading
from flowstack.db import migration
from flowstack.engine.stack_service import StackService
from flowstack.execution import runner
from flowstack.execution.dispatch import InProcessDispatcher
from flowstack.runtime.container import Runtime

SHAPES = ("wide", "chain")
DEFAULT_SIZES = (50, 200, 1000)
QUICK_SIZES = (50, 200)
REFERENCE_SIZES = (50, 200)
LARGE = 1000  # sizes from here on use --large-repeat
STOCK_MAX_WORKERS = 16
WARMUP_SIZE = 10

# The targets, as the product states them.
TARGET_MS_PER_RESOURCE = 3.0
TARGET_MS_AT = 200
TARGET_SPEEDUP = 10.0
TARGET_SCALING = 1.5  # per-resource cost at N=1000 over N=200


class BenchFailure(Exception):
    """A run did not reach the state it must reach; the figures would be wrong."""


def ms_per(seconds: float, n: int) -> float:
    return 1000.0 * seconds / n


def template_text(shape: str, n: int) -> str:
    lines = ["heat_template_version: 2018-08-31", "resources:"]
    for i in range(n):
        lines.append(f"  r{i}:")
        lines.append("    type: OS::Heat::None")
        if shape == "chain" and i:
            lines.append(f"    depends_on: r{i - 1}")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def scratch_dir(tag: str) -> Iterator[str]:
    path = tempfile.mkdtemp(prefix=f"flowstack-bench-{tag}-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- flowstack ---------------------------------------------------------------------------


@contextlib.contextmanager
def flowstack_runtime(tmpdir: str) -> Iterator[Runtime]:
    """A runtime on a fresh SQLite file in ``tmpdir``, installed, then closed."""
    conf = loading.load([], config_files=[], state_path=tmpdir)
    rt = Runtime.from_conf(conf)
    try:
        migration.sync(rt.db)
        yield rt
    finally:
        rt.close()


def _stack_status(svc: StackService, ctx: Any, stack_id: str) -> str:
    return svc.show_stack(ctx, stack_id)["stack_status"]


def run_flowstack(shape: str, n: int, name: str, timeout: float) -> dict[str, Any]:
    """Create then delete one stack; seconds and CPU seconds of each phase."""
    text = template_text(shape, n)
    with scratch_dir("fs") as tmpdir, flowstack_runtime(tmpdir) as rt:
        dispatcher = InProcessDispatcher(rt)
        svc = StackService(rt, dispatcher)
        ctx = context.embedded()
        gc.collect()

        c0, t0 = time.process_time(), time.perf_counter()
        stack = svc.create_stack(ctx, name, text)
        t1 = time.perf_counter()
        outcome = dispatcher.wait(stack["flow_id"], timeout)
        t2, c2 = time.perf_counter(), time.process_time()
        if outcome is None:
            raise BenchFailure(f"{name}: create flow still running after {timeout:.0f} s")
        got = _stack_status(svc, ctx, stack["id"])
        if got != "CREATE_COMPLETE":
            raise BenchFailure(f"{name}: stack is {got} (flow {outcome}), not CREATE_COMPLETE")

        gc.collect()
        c3, t3 = time.process_time(), time.perf_counter()
        deleting = svc.delete_stack(ctx, stack["id"])
        outcome = dispatcher.wait(deleting["flow_id"], timeout)
        t4, c4 = time.perf_counter(), time.process_time()
        if outcome is None:
            raise BenchFailure(f"{name}: delete flow still running after {timeout:.0f} s")
        got = _stack_status(svc, ctx, stack["id"])
        if got != "DELETE_COMPLETE":
            raise BenchFailure(f"{name}: stack is {got} (flow {outcome}), not DELETE_COMPLETE")
    return {
        "submit_s": t1 - t0,
        "run_s": t2 - t1,
        "create_s": t2 - t0,
        "create_cpu_s": c2 - c0,
        "delete_s": t4 - t3,
        "delete_cpu_s": c4 - c3,
    }


# -- stock TaskFlow ----------------------------------------------------------------------


class TrivialTask(task.Task):
    """Returns a small dict (and takes the previous task's, in a chain)."""

    def execute(self, **inputs: Any) -> dict[str, Any]:
        return {"name": self.name, "ok": True}


def stock_flow(shape: str, n: int) -> graph_flow.Flow:
    flow = graph_flow.Flow(f"ref-{shape}-{n}")
    for i in range(n):
        requires = [f"v{i - 1}"] if shape == "chain" and i else None
        flow.add(TrivialTask(name=f"t{i}", provides=f"v{i}", requires=requires))
    return flow


def run_stock(shape: str, n: int) -> dict[str, Any]:
    """Run one stock TaskFlow graph flow of ``n`` trivial tasks, persisted on SQLite."""
    with scratch_dir("tf") as tmpdir:
        url = "sqlite:///" + os.path.join(tmpdir, "ref.sqlite")
        backend = tf_backends.fetch({"connection": url})
        try:
            with contextlib.closing(backend.get_connection()) as conn:
                conn.upgrade()
            flow = stock_flow(shape, n)
            gc.collect()

            c0, t0 = time.process_time(), time.perf_counter()
            book = tf_models.LogBook(f"ref-{shape}-{n}")
            flow_detail = tf_models.FlowDetail(flow.name, str(uuid.uuid4()))
            book.add(flow_detail)
            with contextlib.closing(backend.get_connection()) as conn:
                conn.save_logbook(book)
            engine = taskflow.engines.load(
                flow,
                flow_detail=flow_detail,
                book=book,
                backend=backend,
                engine="parallel",
                max_workers=STOCK_MAX_WORKERS,
            )
            done: list[float] = []  # when the flow's SUCCESS state was saved
            engine.notifier.register("SUCCESS", lambda *_, **__: done.append(time.perf_counter()))
            engine.run()
            t1, c1 = time.perf_counter(), time.process_time()
            state = engine.storage.get_flow_state()
        finally:
            backend.close()
    if state != "SUCCESS":
        raise BenchFailure(f"stock {shape} N={n}: flow ended {state}, not SUCCESS")
    if not done:
        raise BenchFailure(f"stock {shape} N={n}: no SUCCESS notification (listener failed?)")
    return {
        "total_s": t1 - t0,
        "cpu_s": c1 - c0,
        # From the flow's SUCCESS (saved) to engine.run() returning: the engine
        # shutting down the thread pool it made for this run.
        "tail_s": t1 - done[0],
        "total_excl_tail_s": done[0] - t0,
    }


# -- the measurement loop ----------------------------------------------------------------


def median_min(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values)}


def measure_flowstack(shape: str, n: int, repeat: int, timeout: float) -> dict[str, Any]:
    runs = []
    for i in range(repeat):
        name = f"bench-{shape}-{n}-{i}-{uuid.uuid4().hex[:8]}"
        runs.append(run_flowstack(shape, n, name, timeout))
        r = runs[-1]
        print(
            f"  flowstack {shape:5} N={n:<5} run {i + 1}/{repeat}: "
            f"create {r['create_s']:.2f} s ({ms_per(r['create_s'], n):.2f} ms/res), "
            f"delete {r['delete_s']:.2f} s",
            file=sys.stderr,
            flush=True,
        )
    per_res = {
        key: median_min([ms_per(r[key], n) for r in runs])
        for key in ("submit_s", "run_s", "create_s", "create_cpu_s", "delete_s", "delete_cpu_s")
    }
    return {"runs": runs, "ms_per_resource": per_res}


def measure_stock(shape: str, n: int, repeat: int) -> dict[str, Any]:
    runs = []
    for i in range(repeat):
        runs.append(run_stock(shape, n))
        r = runs[-1]
        print(
            f"  stock     {shape:5} N={n:<5} run {i + 1}/{repeat}: "
            f"{r['total_s']:.2f} s ({ms_per(r['total_s'], n):.2f} ms/task, "
            f"tail {r['tail_s']:.2f} s)",
            file=sys.stderr,
            flush=True,
        )
    per_task = {
        key: median_min([ms_per(r[key], n) for r in runs])
        for key in ("total_s", "total_excl_tail_s", "cpu_s")
    }
    return {"runs": runs, "ms_per_task": per_task}


def warm_up(with_stock: bool, timeout: float) -> None:
    """One small untimed run of each, so imports and first-use costs are not measured."""
    for shape in SHAPES:
        run_flowstack(shape, WARMUP_SIZE, f"warmup-{shape}-{uuid.uuid4().hex[:8]}", timeout)
        if with_stock:
            run_stock(shape, WARMUP_SIZE)


# -- report ------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str = "8.2f") -> str:
    return format(value, spec) if value is not None else format("-", ">" + spec.split(".")[0])


def _ratio(case: dict[str, Any], key: str = "total_s") -> float | None:
    """Stock TaskFlow's median ms/task over flowstack's median create ms/resource."""
    stock = case.get("stock")
    if not stock:
        return None
    return (
        stock["ms_per_task"][key]["median"]
        / case["flowstack"]["ms_per_resource"]["create_s"]["median"]
    )


# (group title, column name, format spec) of each column of the table
COLUMNS = (
    ("", "shape", "<6"),
    ("", "N", ">5"),
    ("", "runs", ">4"),
    ("flowstack create", "median", ">6"),
    ("", "min", ">6"),
    ("", "submit", ">6"),
    ("", "run", ">6"),
    ("", "CPU", ">6"),
    ("delete", "median", ">6"),
    ("", "CPU", ">6"),
    ("stock TaskFlow", "median", ">6"),
    ("", "CPU", ">6"),
    ("", "-tail", ">6"),
    ("stock/flowstack", "ratio", ">7"),
    ("", "-tail", ">7"),
)


def _table_line(cells: list[str]) -> tuple[str, list[int]]:
    """The row, and where each column starts in it."""
    text, starts = "", []
    for i, (cell, (title, _, spec)) in enumerate(zip(cells, COLUMNS, strict=True)):
        if i:
            text += " | " if title else " "
        starts.append(len(text))
        text += format(cell, spec)
    return text, starts


def print_table(cases: list[dict[str, Any]]) -> None:
    names, starts = _table_line([name for _, name, _ in COLUMNS])
    header = [" "] * len(names)
    for (title, _, _), start in zip(COLUMNS, starts, strict=True):
        if title:
            header[start : start + len(title)] = title
    print("".join(header).rstrip())
    print(names)
    print("-" * len(names))
    for case in cases:
        fs = case["flowstack"]["ms_per_resource"]
        st = case["stock"]["ms_per_task"] if case.get("stock") else None
        ratio, ratio_excl = _ratio(case), _ratio(case, "total_excl_tail_s")
        print(
            _table_line(
                [
                    case["shape"],
                    str(case["n"]),
                    str(len(case["flowstack"]["runs"])),
                    f"{fs['create_s']['median']:.2f}",
                    f"{fs['create_s']['min']:.2f}",
                    f"{fs['submit_s']['median']:.2f}",
                    f"{fs['run_s']['median']:.2f}",
                    f"{fs['create_cpu_s']['median']:.2f}",
                    f"{fs['delete_s']['median']:.2f}",
                    f"{fs['delete_cpu_s']['median']:.2f}",
                    f"{st['total_s']['median']:.2f}" if st else "-",
                    f"{st['cpu_s']['median']:.2f}" if st else "-",
                    f"{st['total_excl_tail_s']['median']:.2f}" if st else "-",
                    f"{ratio:.1f}x" if ratio is not None else "-",
                    f"{ratio_excl:.1f}x" if ratio_excl is not None else "-",
                ]
            )[0]
        )
    print()
    print(
        "All figures are milliseconds per resource (flowstack) or per task (stock), medians\n"
        "over the runs except 'min'.  create = submit (validate + persist, until create_stack\n"
        "returns) + run (the flow, until its thread ends).  CPU = process CPU time, all\n"
        "threads.  Stock '-tail' leaves out the time from the flow's SUCCESS to\n"
        "engine.run() returning (up to 1 s): the engine shuts down the thread pool it made, and\n"
        "futurist's idle workers only notice once a second."
    )


def check_targets(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_key = {(c["shape"], c["n"]): c for c in cases}
    shapes = list(dict.fromkeys(c["shape"] for c in cases))

    def create_median(shape: str, n: int) -> float | None:
        case = by_key.get((shape, n))
        return case["flowstack"]["ms_per_resource"]["create_s"]["median"] if case else None

    checks: list[dict[str, Any]] = []
    for shape in shapes:
        value = create_median(shape, TARGET_MS_AT)
        checks.append(
            {
                "target": f"<= {TARGET_MS_PER_RESOURCE:g} ms/resource at N={TARGET_MS_AT}",
                "shape": shape,
                "met": None if value is None else value <= TARGET_MS_PER_RESOURCE,
                "detail": (
                    f"N={TARGET_MS_AT} not run"
                    if value is None
                    else f"{value:.2f} ms/resource (median create)"
                ),
            }
        )
    for shape in shapes:
        ratios = [
            (c["n"], _ratio(c), _ratio(c, "total_excl_tail_s"))
            for c in cases
            if c["shape"] == shape and _ratio(c) is not None
        ]
        checks.append(
            {
                "target": f">= {TARGET_SPEEDUP:g}x faster than stock TaskFlow",
                "shape": shape,
                "met": None if not ratios else all(r >= TARGET_SPEEDUP for _, r, _ in ratios),
                "detail": (
                    "no stock reference run"
                    if not ratios
                    else ", ".join(
                        f"{r:.1f}x at N={n} ({rx:.1f}x without stock's pool-shutdown tail)"
                        for n, r, rx in ratios
                    )
                ),
            }
        )
    for shape in shapes:
        small, large = create_median(shape, TARGET_MS_AT), create_median(shape, LARGE)
        if small is None or large is None:
            met, detail = None, f"N={TARGET_MS_AT} and N={LARGE} not both run"
        else:
            met = large <= TARGET_SCALING * small
            detail = (
                f"{large:.2f} vs {small:.2f} ms/resource = {large / small:.2f}x "
                f"(limit {TARGET_SCALING:g}x)"
            )
        checks.append(
            {
                "target": (
                    f"N={LARGE} within {TARGET_SCALING:g}x of N={TARGET_MS_AT} per resource"
                ),
                "shape": shape,
                "met": met,
                "detail": detail,
            }
        )
    return checks


def print_targets(checks: list[dict[str, Any]]) -> None:
    print("Targets (reported, not asserted):")
    width = max(len(c["target"]) for c in checks)
    for c in checks:
        verdict = {True: "MET", False: "NOT MET", None: "NOT CHECKED"}[c["met"]]
        print(f"  {c['target']:{width}}  {c['shape']:5}  {verdict:11}  {c['detail']}")


def environment() -> dict[str, Any]:
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": {
            d: version(d) for d in ("flowstack", "taskflow", "SQLAlchemy", "futurist", "oslo.db")
        },
    }


# -- profile -----------------------------------------------------------------------------


class _CapturingDispatcher:
    """Keeps the flow id instead of starting a thread, so the flow runs here."""

    flow_id: str | None = None

    def dispatch(self, flow_id: str) -> None:
        self.flow_id = flow_id


class _ProfilingExecutor(futurist.ThreadPoolExecutor):
    """A task pool whose threads each keep a profile of the work they ran."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max_workers)
        self._local = threading.local()
        self.profiles: list[cProfile.Profile] = []
        self._profiles_lock = threading.Lock()

    def _profiled(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            prof = getattr(self._local, "prof", None)
            if prof is None:
                prof = self._local.prof = cProfile.Profile()
                with self._profiles_lock:
                    self.profiles.append(prof)
            prof.enable()
            try:
                return fn(*args, **kwargs)
            finally:
                prof.disable()

        return call

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return super().submit(self._profiled(fn), *args, **kwargs)


def _print_stats(title: str, profiles: list[cProfile.Profile], top: int) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiles[0], stream=out)
    for prof in profiles[1:]:
        stats.add(prof)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"== {title} ==")
    print(out.getvalue().rstrip())
    print()


def profile_create(shape: str, n: int, top: int = 25) -> None:
    """One create under cProfile: the engine's own thread, and its task threads."""
    text = template_text(shape, n)
    with scratch_dir("prof") as tmpdir, flowstack_runtime(tmpdir) as rt:
        executor = _ProfilingExecutor(rt.conf.engine.max_workers)
        rt.__dict__["executor"] = executor  # replaces the cached pool; closed by rt.close()
        capture = _CapturingDispatcher()
        svc = StackService(rt, capture)
        ctx = context.embedded()
        main = cProfile.Profile()
        t0 = time.perf_counter()
        main.enable()
        stack = svc.create_stack(ctx, f"profile-{shape}-{n}", text)
        if capture.flow_id is None:
            raise BenchFailure("create_stack dispatched no flow")
        runner.run(rt, capture.flow_id)
        main.disable()
        elapsed = time.perf_counter() - t0
        got = _stack_status(svc, ctx, stack["id"])
        if got != "CREATE_COMPLETE":
            raise BenchFailure(f"profile {shape} N={n}: stack is {got}, not CREATE_COMPLETE")
    print(
        f"profile: create {shape} N={n} in {elapsed:.2f} s under cProfile "
        f"({ms_per(elapsed, n):.2f} ms/resource, inflated by profiling)\n"
    )
    _print_stats(
        f"calling thread (validate, persist, TaskFlow engine loop) - top {top} cumulative",
        [main],
        top,
    )
    if executor.profiles:
        _print_stats(
            f"task threads ({len(executor.profiles)}, merged) - top {top} cumulative",
            executor.profiles,
            top,
        )


# -- main --------------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of sizes: {text}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be positive integers: {text}")
    return sizes


def _profile_spec(text: str) -> tuple[str, int]:
    shape, _, n = text.partition(":")
    if shape not in SHAPES or not n.isdigit() or int(n) < 1:
        raise argparse.ArgumentTypeError(f"expected SHAPE:N with SHAPE in {SHAPES}: {text}")
    return shape, int(n)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="flowstack orchestration overhead per resource, against stock TaskFlow.",
    )
    parser.add_argument(
        "--sizes", type=_sizes, default=None, help="comma-separated N (default 50,200,1000)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="sizes 50,200 only (unless --sizes is given)"
    )
    parser.add_argument(
        "--shapes",
        type=lambda s: [x for x in s.split(",") if x],
        default=list(SHAPES),
        help="comma-separated shapes: wide,chain (default both)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (default 3)")
    parser.add_argument(
        "--large-repeat",
        type=int,
        default=None,
        help=f"runs per case for N >= {LARGE} (default: --repeat); N={LARGE} chain "
        "takes ~13 s per create and as much per delete",
    )
    parser.add_argument(
        "--stock-sizes",
        type=_sizes,
        default=None,
        help="sizes at which to run the stock TaskFlow reference (default 50,200 among --sizes)",
    )
    parser.add_argument(
        "--stock-all",
        action="store_true",
        help="run the stock reference at every size, including 1000 (slow: ~40 ms/task)",
    )
    parser.add_argument("--no-stock", action="store_true", help="skip the stock reference")
    parser.add_argument(
        "--stock-repeat", type=int, default=None, help="runs per stock case (default: --repeat)"
    )
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="longest wait for one flow, seconds"
    )
    parser.add_argument("--json", metavar="FILE", help="write the raw numbers to FILE")
    parser.add_argument(
        "--profile",
        type=_profile_spec,
        metavar="SHAPE:N",
        help="only run one create under cProfile and print the top 25 cumulative entries",
    )
    args = parser.parse_args(argv)
    bad = [s for s in args.shapes if s not in SHAPES]
    if bad or not args.shapes:
        parser.error(f"unknown shape(s) {bad}; choose from {SHAPES}")
    for name in ("repeat", "large_repeat", "stock_repeat"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.sizes is None:
        args.sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if args.large_repeat is None:
        args.large_repeat = args.repeat
    if args.stock_repeat is None:
        args.stock_repeat = args.repeat
    if args.no_stock:
        args.stock_sizes = []
    elif args.stock_all:
        args.stock_sizes = list(args.sizes)
    elif args.stock_sizes is None:
        args.stock_sizes = [s for s in args.sizes if s in REFERENCE_SIZES]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger().setLevel(logging.WARNING)

    if args.profile:
        try:
            profile_create(*args.profile)
        except BenchFailure as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
        return 0

    started = time.perf_counter()
    print(
        f"flowstack stack overhead: shapes {','.join(args.shapes)}, sizes "
        f"{','.join(map(str, args.sizes))}, repeat {args.repeat} (N>={LARGE}: "
        f"{args.large_repeat}); stock TaskFlow at "
        f"{','.join(map(str, args.stock_sizes)) or 'none'} x{args.stock_repeat}",
        file=sys.stderr,
        flush=True,
    )
    cases: list[dict[str, Any]] = []
    failures: list[str] = []
    try:
        if not args.no_warmup:
            warm_up(bool(args.stock_sizes), args.timeout)
        for shape in args.shapes:
            for n in args.sizes:
                repeat = args.large_repeat if n >= LARGE else args.repeat
                case: dict[str, Any] = {"shape": shape, "n": n}
                try:
                    case["flowstack"] = measure_flowstack(shape, n, repeat, args.timeout)
                    if n in args.stock_sizes:
                        case["stock"] = measure_stock(shape, n, args.stock_repeat)
                except BenchFailure as exc:
                    print(f"FAILED: {exc}", file=sys.stderr, flush=True)
                    failures.append(str(exc))
                    continue
                cases.append(case)
    except BenchFailure as exc:  # the warm-up failed: nothing would be worth measuring
        print(f"FAILED: {exc}", file=sys.stderr)
        failures.append(str(exc))

    print()
    if cases:
        print_table(cases)
        print()
        checks = check_targets(cases)
        print_targets(checks)
    else:
        checks = []
    elapsed = time.perf_counter() - started
    print(f"\n(whole run: {elapsed:.0f} s)")
    if failures:
        print(f"\n{len(failures)} case(s) FAILED:")
        for failure in failures:
            print(f"  {failure}")

    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "args": {k: v for k, v in vars(args).items() if k != "profile"},
                    "environment": environment(),
                    "cases": cases,
                    "targets": checks,
                    "failures": failures,
                    "elapsed_s": elapsed,
                },
                fh,
                indent=2,
            )
            fh.write("\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
