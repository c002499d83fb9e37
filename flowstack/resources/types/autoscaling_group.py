"""OS::Heat::AutoScalingGroup: a group of identical members grown and shrunk by policies.

Properties are Heat's (``min_size``, ``max_size``, ``desired_capacity``,
``cooldown``, ``resource``, ``rolling_updates``) plus two of flowstack's:
``removal_policy`` (which healthy members a scale-in removes) and
``keep_partial_progress`` (keep the members a failed scale-out did create).

The members live in a nested stack whose id is the group's id, one resource
per member (``member-1``, ``member-2``, ... never reused), each defined by
``resource``.  The member properties are resolved once, in this stack, when
the group is created, and kept encrypted as the nested stack's (hidden)
parameters: a member may carry a password.

Creating the group only records it; the stack's create flow then creates
the first members (``desired_capacity``, else ``min_size``) with the same
tasks any resource uses, and completes the group (``flows.stack_flows``).
Later changes are converge flows of the nested stack (``flows.scale_flows``).
"""

from __future__ import annotations

from typing import Any

from flowstack.exceptions import TemplateError
from flowstack.resources import base, group_store
from flowstack.schema import attributes
from flowstack.schema import properties as p
from flowstack.template import paths
from flowstack.template.functions import FAN_OUT

OLDEST_FIRST = "oldest_first"
NEWEST_FIRST = "newest_first"
REMOVAL_POLICIES = (OLDEST_FIRST, NEWEST_FIRST)
_MEMBER_KEYS = ("type", "properties", "metadata")


class AutoScalingGroup(base.Resource):
    type_name = "OS::Heat::AutoScalingGroup"
    description = "A group of identical resources (servers) that scaling policies resize."
    is_group = True
    properties_schema = {
        "min_size": p.Schema(
            p.Schema.INTEGER, "Fewest members.", required=True, constraints=[p.Range(0)]
        ),
        "max_size": p.Schema(
            p.Schema.INTEGER, "Most members.", required=True, constraints=[p.Range(0)]
        ),
        "desired_capacity": p.Schema(
            p.Schema.INTEGER,
            "Members to start with (default min_size); policies change it later.",
            constraints=[p.Range(0)],
        ),
        "cooldown": p.Schema(
            p.Schema.INTEGER,
            "Seconds after a scaling change during which policies do not take effect.",
            default=0,
            constraints=[p.Range(0)],
        ),
        "resource": p.Schema(
            p.Schema.MAP,
            "The member definition: {type: ..., properties: {...}}.",
            required=True,
        ),
        "rolling_updates": p.Schema(
            p.Schema.MAP,
            "How unhealthy members are replaced: in batches of max_batch_size, "
            "pause_time seconds apart.",
            schema={
                "min_in_service": p.Schema(
                    p.Schema.INTEGER,
                    "Members kept in service while others are replaced.",
                    default=0,
                    constraints=[p.Range(0)],
                ),
                "max_batch_size": p.Schema(
                    p.Schema.INTEGER,
                    "Members replaced at a time.",
                    default=1,
                    constraints=[p.Range(1)],
                ),
                "pause_time": p.Schema(
                    p.Schema.NUMBER,
                    "Seconds to wait between batches.",
                    default=0,
                    constraints=[p.Range(0)],
                ),
            },
        ),
        "removal_policy": p.Schema(
            p.Schema.STRING,
            "(flowstack) Healthy members a scale-in removes first: oldest_first or "
            "newest_first. Members in ERROR or gone from Nova always go first.",
            default=OLDEST_FIRST,
            constraints=[p.AllowedValues(REMOVAL_POLICIES)],
        ),
        "keep_partial_progress": p.Schema(
            p.Schema.BOOLEAN,
            "(flowstack) When some members of a scale-out fail, keep the ones that "
            "were created instead of returning to the previous size.",
            default=False,
        ),
    }
    attributes_schema = {
        "current_size": attributes.Attribute("Number of members in service."),
        "refs": attributes.Attribute("Physical ids of the members, oldest first."),
        "refs_map": attributes.Attribute("Member name -> physical id."),
        "outputs": attributes.Attribute(
            "Member name -> the named member attribute: [group, outputs, ATTRIBUTE, ...]."
        ),
        "outputs_list": attributes.Attribute(
            "The named attribute of every member, oldest first: "
            "[group, outputs_list, ATTRIBUTE, ...]."
        ),
    }

    @classmethod
    def check_properties(
        cls,
        values: dict[str, Any],
        path: str,
        resource_types: Any,
        custom_constraints: Any = None,
    ) -> list[TemplateError]:
        errors: list[TemplateError] = []
        low, high, desired = values["min_size"], values["max_size"], values["desired_capacity"]
        if _known(low, high) and low > high:
            errors.append(
                TemplateError(
                    paths.child(path, "min_size"),
                    f"min_size ({low}) is greater than max_size ({high})",
                )
            )
        elif _known(low, high, desired) and desired is not None and not low <= desired <= high:
            errors.append(
                TemplateError(
                    paths.child(path, "desired_capacity"),
                    f"desired_capacity ({desired}) must be within min_size ({low}) "
                    f"and max_size ({high})",
                )
            )
        errors.extend(
            check_member(
                values["resource"],
                paths.child(path, "resource"),
                resource_types,
                custom_constraints,
            )
        )
        return errors

    @staticmethod
    def initial_size(properties: dict[str, Any]) -> int | None:
        """Members the stack's create flow makes; None when only known at run time."""
        desired = properties.get("desired_capacity")
        if desired is None:
            desired = properties.get("min_size")
        return desired if isinstance(desired, int) and not isinstance(desired, bool) else None

    def handle_create(self, properties: dict[str, Any]) -> None:
        self.physical_id = group_store.create_group(self, properties)

    def handle_delete(self) -> None:
        group_store.delete_group(self)

    def attributes(self) -> dict[str, Any]:
        rows = group_store.healthy_members(self.host, self.physical_id) if self.physical_id else []
        spread = [[r.name, _public(r.attributes)] for r in rows]
        return {
            "current_size": len(rows),
            "refs": [r.physical_id for r in rows],
            "refs_map": {r.name: r.physical_id for r in rows},
            "outputs": {FAN_OUT: {"as": "map", "members": spread}},
            "outputs_list": {FAN_OUT: {"as": "list", "members": spread}},
        }

    def reference(self) -> Any:
        return self.physical_id


def check_member(
    definition: Any, path: str, resource_types: Any, custom_constraints: Any
) -> list[TemplateError]:
    """The ``resource`` property: a known, non-group type and valid properties."""
    if p.contains_deferred(definition) and not isinstance(definition, dict):
        return []
    if not isinstance(definition, dict):
        return [
            TemplateError(path, f"must be a map {{type, properties}}, got {p.kind_of(definition)}")
        ]
    errors = [
        TemplateError(
            paths.child(path, key), f"unknown key {key!r}; known: {', '.join(_MEMBER_KEYS)}"
        )
        for key in definition
        if key not in _MEMBER_KEYS
    ]
    type_name = definition.get("type")
    if not isinstance(type_name, str) or not type_name:
        return [
            *errors,
            TemplateError(paths.child(path, "type"), "the member's resource type is required"),
        ]
    try:
        plugin = resource_types.get(type_name)
    except KeyError:
        known = ", ".join(sorted(resource_types.types()))
        return [
            *errors,
            TemplateError(
                paths.child(path, "type"),
                f"unknown resource type {type_name!r}; supported types: {known}",
            ),
        ]
    if getattr(plugin, "is_group", False):
        return [
            *errors,
            TemplateError(
                paths.child(path, "type"), "a scaling group cannot be a member of another"
            ),
        ]
    if getattr(plugin, "accepts_any_properties", False):
        return errors
    checked, found, _ = p.validate_properties(
        plugin.properties_schema,
        definition.get("properties") or {},
        paths.child(path, "properties"),
        custom_constraints,
    )
    errors.extend(found)
    if not found:
        errors.extend(
            plugin.check_properties(
                checked, paths.child(path, "properties"), resource_types, custom_constraints
            )
        )
    return errors


def _known(*values: Any) -> bool:
    return not any(v is p.DEFERRED for v in values)


def _public(values: Any) -> dict[str, Any]:
    return {k: v for k, v in (values or {}).items() if k != attributes.SHOW}
