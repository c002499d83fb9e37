"""Contracts of the flow factories: what each graph needs, provides and contains."""

from __future__ import annotations

from taskflow import retry
from taskflow.patterns import graph_flow, linear_flow

from flows import keys, stack_flows

PLAN = [
    {
        "name": "net",
        "type": "OS::Heat::None",
        "needs": [],
        "create_polls": False,
        "delete_polls": False,
    },
    {
        "name": "vm",
        "type": "OS::Heat::TestResource",
        "needs": ["net"],
        "create_polls": True,
        "delete_polls": True,
    },
    {
        "name": "dns",
        "type": "OS::Heat::None",
        "needs": ["vm", "net"],
        "create_polls": False,
        "delete_polls": False,
    },
]


def _atoms(flow) -> dict[str, object]:
    found = {}
    for item in flow:
        if isinstance(item, linear_flow.Flow | graph_flow.Flow):
            found.update(_atoms(item))
            if item.retry is not None:
                found[item.retry.name] = item.retry
        else:
            found[item.name] = item
    return found


def test_create_flow_needs_nothing_from_outside_and_names_every_step() -> None:
    flow = stack_flows.create_stack("stack-1", PLAN, deadline=0.0)
    # Every input is provided inside the graph, but the runtime the runner injects.
    assert flow.requires == frozenset({keys.RUNTIME})
    assert set(_atoms(flow)) == {
        "stack-create-lifecycle",
        "create:net",
        "create:vm",
        "wait-create:vm",
        "poll-create:vm",
        "create:dns",
        "stack-create-complete",
    }
    atoms = _atoms(flow)
    assert atoms["create:net"].provides == frozenset({keys.resource("net")})
    assert atoms["create:vm"].provides == frozenset()  # the wait provides it once ready
    assert atoms["wait-create:vm"].provides == frozenset({keys.resource("vm")})
    assert atoms["create:vm"].requires == frozenset({keys.RUNTIME, keys.resource("net")})
    assert atoms["create:dns"].requires == frozenset(
        {keys.RUNTIME, keys.resource("vm"), keys.resource("net")}
    )
    assert isinstance(atoms["poll-create:vm"], retry.Retry)


def test_create_graph_edges_follow_references() -> None:
    flow = stack_flows.create_stack("stack-1", PLAN, deadline=0.0)
    graph = next(item for item in flow if isinstance(item, graph_flow.Flow))
    edges = {(u.name, v.name) for u, v, _ in graph.iter_links()}
    assert edges == {
        ("create:net", "resource-create-vm"),
        ("create:net", "create:dns"),
        ("resource-create-vm", "create:dns"),
    }


def test_delete_graph_is_the_reverse() -> None:
    flow = stack_flows.delete_stack("stack-1", PLAN, deadline=0.0)
    assert flow.requires == frozenset({keys.RUNTIME})
    graph = next(item for item in flow if isinstance(item, graph_flow.Flow))
    edges = {(u.name, v.name) for u, v, _ in graph.iter_links()}
    assert edges == {
        ("delete:dns", "resource-delete-vm"),
        ("delete:dns", "delete:net"),
        ("resource-delete-vm", "delete:net"),
    }
    atoms = _atoms(flow)
    assert atoms["delete:net"].requires == frozenset(
        {keys.RUNTIME, keys.deleted("vm"), keys.deleted("dns")}
    )


def test_factories_take_json_safe_arguments_only() -> None:
    """A worker rebuilds a flow from the arguments stored with it."""
    import json

    for factory in (stack_flows.create_stack, stack_flows.delete_stack):
        arguments = json.loads(json.dumps(["stack-1", PLAN, 123.0]))
        rebuilt = factory(*arguments)
        original = factory("stack-1", PLAN, 123.0)
        assert set(_atoms(rebuilt)) == set(_atoms(original))


def test_store_key_kinds_never_collide() -> None:
    prefixes = [keys.RESOURCE_PREFIX, keys.DELETED_PREFIX]
    assert len(set(prefixes)) == len(prefixes)
    for a in prefixes:
        for b in prefixes:
            assert a == b or not a.startswith(b)
