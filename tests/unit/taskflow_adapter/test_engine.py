"""flowstack's TaskFlow engine: same results as TaskFlow's, without the quadratic walk."""

from __future__ import annotations

import taskflow.engines
from taskflow import task
from taskflow.patterns import graph_flow, linear_flow
from taskflow.persistence.backends import impl_memory

from flowstack.taskflow_adapter import engine as taskflow_engine


class Record(task.Task):
    def __init__(self, name: str, log: list[str], needs: list[str] | None = None) -> None:
        super().__init__(name=name, provides=name, requires=needs or [])
        self.log = log

    def execute(self, **inputs: object) -> str:
        self.log.append(self.name)
        return self.name


def _run(flow: object) -> taskflow.engines.base.Engine:
    engine = taskflow.engines.load(
        flow, engine=taskflow_engine.ENGINE_NAME, backend=impl_memory.MemoryBackend()
    )
    engine.run()
    return engine


def test_engine_installs_the_frontier_selector() -> None:
    """Guards the one place flowstack reaches into TaskFlow's runtime."""
    log: list[str] = []
    engine = _run(linear_flow.Flow("one").add(Record("a", log)))
    assert isinstance(engine._runtime.selector, taskflow_engine.FrontierSelector)


def test_a_long_chain_runs_in_order() -> None:
    log: list[str] = []
    names = [f"t{i}" for i in range(300)]
    flow = graph_flow.Flow("chain")
    flow.add(*(Record(n, log, [names[i - 1]] if i else []) for i, n in enumerate(names)))
    engine = _run(linear_flow.Flow("root").add(flow, Record("after", log, names)))
    assert log == [*names, "after"]
    assert engine.storage.fetch("after") == "after"


def test_diamonds_and_nested_flows_wait_for_every_predecessor() -> None:
    log: list[str] = []
    inner = linear_flow.Flow("inner").add(Record("b1", log, ["a"]), Record("b2", log))
    graph = graph_flow.Flow("g").add(
        Record("a", log), inner, Record("c", log, ["a"]), Record("d", log, ["b2", "c"])
    )
    _run(graph)
    assert log.index("a") < log.index("b1") < log.index("b2") < log.index("d")
    assert log.index("c") < log.index("d")
    assert sorted(log) == ["a", "b1", "b2", "c", "d"]


def test_flows_with_deciders_behave_exactly_like_stock_taskflow() -> None:
    def build(log: list[str]) -> graph_flow.Flow:
        flow = graph_flow.Flow("decided")
        first, skipped, after = Record("first", log), Record("skipped", log), Record("after", log)
        other = Record("other", log)
        flow.add(first, skipped, after, other)
        flow.link(first, skipped, decider=lambda history: False)
        flow.link(skipped, after)
        flow.link(first, other)
        return flow

    outcomes = []
    for engine_name in ("parallel", taskflow_engine.ENGINE_NAME):
        log: list[str] = []
        engine = taskflow.engines.load(
            build(log), engine=engine_name, backend=impl_memory.MemoryBackend()
        )
        engine.run()
        states = {n: engine.storage.get_atom_state(n) for n in ("first", "skipped", "after")}
        outcomes.append((sorted(log), states))
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][1]["skipped"] == "IGNORE"
