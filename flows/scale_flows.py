"""Flow factory for scaling groups: bring the members to the desired count.

The engine decides the shape when it records the flow (in the same
transaction that accepted the trigger): the names of the members to add
and how many to remove.  Which members are removed is decided when the
flow runs, after a health check, so that broken members go first.

::

    converge-lifecycle              on revert: size back, events FAILED
    check-members                   Nova: ERROR / gone -> CHECK_FAILED
    choose-victims                  (scale-in)  broken first, then removal_policy
    remove-0 .. remove-k            (scale-in)  in parallel, each polled until gone
    member-a .. member-n            (scale-out) in parallel; replacements in
                                    batches of rolling_updates.max_batch_size
    converge-complete               events COMPLETE, parent's attributes/outputs

A scale-out whose member fails reverts: every member this flow created is
deleted and the group returns to its previous size; with
``keep_partial_progress`` the failed member alone is discarded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskflow import flow as tf_flow
from taskflow.patterns import graph_flow, linear_flow

from flows import keys, units
from flows.tasks import group_tasks
from flows.tasks.retries import PollUntilReady


def converge_group(
    group_id: str,
    generation: int,
    add: list[str],
    remove: int,
    member: Mapping[str, Any],
    options: Mapping[str, Any],
    deadline: float,
) -> tf_flow.Flow:
    """``member``: {"create_polls", "delete_polls"} of the member type.

    ``options``: {"keep_partial": bool, "batch": int | None, "pause": float}.
    """
    flow = linear_flow.Flow(f"converge-group-{group_id}")
    flow.add(
        group_tasks.ConvergeLifecycle(group_id, generation),
        group_tasks.CheckMembers(group_id, add),
    )
    if remove:
        removals = graph_flow.Flow("remove-members")
        removals.add(*(_remove_member(group_id, slot, member, deadline) for slot in range(remove)))
        flow.add(group_tasks.ChooseVictims(group_id, remove, add), removals)
    batch = options.get("batch") or len(add) or 1
    for number, start in enumerate(range(0, len(add), batch)):
        if number and options.get("pause"):
            flow.add(group_tasks.Pause(f"pause-{number}", group_id, float(options["pause"])))
        additions = graph_flow.Flow(f"add-members-{number}")
        additions.add(
            *(
                _create_member(group_id, name, member, deadline, bool(options.get("keep_partial")))
                for name in add[start : start + batch]
            )
        )
        flow.add(additions)
    flow.add(
        group_tasks.CompleteConverge(group_id, generation, [keys.resource(name) for name in add])
    )
    return flow


def _create_member(
    group_id: str, name: str, member: Mapping[str, Any], deadline: float, keep_partial: bool
) -> tf_flow.Flow:
    if member.get("parts"):  # a template member: its resources one by one, revertible
        return units.create_unit(
            group_id,
            name,
            [],
            deadline,
            polls=True,
            parts=member["parts"],
            label=name,
            keep_partial=keep_partial,
        )
    polls = bool(member["create_polls"])
    create = group_tasks.CreateMember(
        group_id, name, deadline, polls=polls, keep_partial=keep_partial
    )
    if not polls:
        return create
    wait = linear_flow.Flow(f"wait-create-{name}", retry=PollUntilReady(f"poll-create:{name}"))
    wait.add(group_tasks.WaitForMember(group_id, name, deadline, keep_partial=keep_partial))
    return linear_flow.Flow(f"resource-create-{name}").add(create, wait)


def _remove_member(
    group_id: str, slot: int, member: Mapping[str, Any], deadline: float
) -> tf_flow.Flow:
    if member.get("parts"):
        return _remove_template_member(group_id, slot, member["parts"], deadline)
    polls = bool(member["delete_polls"])
    remove = group_tasks.RemoveMember(group_id, slot, deadline, polls=polls)
    if not polls:
        return remove
    wait = linear_flow.Flow(f"wait-remove-{slot}", retry=PollUntilReady(f"poll-remove:{slot}"))
    wait.add(group_tasks.WaitForRemoval(group_id, slot, deadline))
    return linear_flow.Flow(f"remove-{slot}").add(remove, wait)


def _remove_template_member(
    group_id: str, slot: int, parts: list[Mapping[str, Any]], deadline: float
) -> tf_flow.Flow:
    """The victim's resources, dependents first (a pool member drains and goes
    before its server), then the member itself."""
    dependents = units.dependents_of(parts)
    inner = graph_flow.Flow(f"remove-parts-{slot}")
    for part in parts:
        name = part["name"]
        remove = group_tasks.RemovePart(
            group_id, slot, name, dependents[name], deadline, polls=part["delete_polls"]
        )
        if not part["delete_polls"]:
            inner.add(remove)
            continue
        label = f"remove-{slot}/{name}"
        wait = linear_flow.Flow(f"wait-{label}", retry=PollUntilReady(f"poll-{label}"))
        wait.add(group_tasks.WaitForPartRemoval(group_id, slot, name, deadline))
        inner.add(linear_flow.Flow(f"resource-{label}").add(remove, wait))
    member = group_tasks.RemoveMember(group_id, slot, deadline, polls=False)
    return linear_flow.Flow(f"remove-{slot}").add(inner, member)
