"""Resource dependency graphs: cycles, named in order, and a deterministic order.

``dependencies[a]`` holds the resources ``a`` needs first.  A cycle is named
the way a reader follows it through the template: ``a -> b -> c -> a`` means
``a`` needs ``b``, which needs ``c``, which needs ``a``.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Mapping


def _nodes(dependencies: Mapping[str, Iterable[str]]) -> list[str]:
    found = set(dependencies)
    for needs in dependencies.values():
        found.update(needs)
    return sorted(found)


def _components(dependencies: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = 0
    for root in _nodes(dependencies):
        if root in index:
            continue
        work = [(root, iter(sorted(dependencies.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(dependencies.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component))
    return result


def find_cycles(dependencies: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One cycle per group of resources that need each other, e.g. ``[a, b, c, a]``.

    Each cycle starts at its alphabetically first resource and is the shortest
    way back to it, so the same template always gives the same message.
    """
    cycles = []
    for component in _components(dependencies):
        members = set(component)
        start = component[0]
        if len(component) == 1 and start not in dependencies.get(start, ()):
            continue
        cycles.append(_shortest_loop(dependencies, start, members))
    return sorted(cycles)


def _shortest_loop(
    dependencies: Mapping[str, Iterable[str]], start: str, members: set[str]
) -> list[str]:
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(dependencies.get(node, ())):
            if nxt not in members:
                continue
            if nxt == start:
                back = [node]
                while back[-1] != start:
                    back.append(came_from[back[-1]])
                back.reverse()  # start ... node; node needs start
                return [*back, start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise AssertionError("a strongly connected component always has a loop")  # pragma: no cover


def describe_cycle(cycle: list[str]) -> str:
    """``a -> b -> c -> a``."""
    return " -> ".join(cycle)


def dependency_order(dependencies: Mapping[str, Iterable[str]]) -> list[str]:
    """Resources in an order where each comes after everything it needs.

    Among resources that are ready at the same time the alphabetically first
    comes first, so the order is stable.  Names that only appear as
    dependencies are included.

    :raises ValueError: the graph has a cycle (named in the message).
    """
    nodes = _nodes(dependencies)
    waiting = {node: set(dependencies.get(node, ())) for node in nodes}
    needed_by: dict[str, list[str]] = {node: [] for node in nodes}
    for node, needs in waiting.items():
        for need in needs:
            needed_by[need].append(node)
    ready = [node for node, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for dependant in needed_by[node]:
            waiting[dependant].discard(node)
            if not waiting[dependant]:
                heapq.heappush(ready, dependant)
    if len(order) != len(nodes):
        cycles = find_cycles(dependencies)
        raise ValueError("dependency cycle: " + "; ".join(describe_cycle(c) for c in cycles))
    return order
