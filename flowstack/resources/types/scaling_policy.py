"""OS::Heat::ScalingPolicy: how much a group changes when its webhook is called.

Properties are Heat's.  ``alarm_url`` (and ``signal_url``, the same URL
here) is a capability URL of flowstack-api: whoever holds it may trigger the
policy, without Keystone, as Aodh and Alertmanager need.  It carries 256
random bits; flowstack stores only their SHA-256 in the policies table, and
the URL itself only inside this resource's encrypted attributes, so that the
stack's owner reads it (stack outputs) and nobody else ever sees it.
"""

from __future__ import annotations

from typing import Any

from flowstack import exceptions, status
from flowstack.autoscaling import adjustment
from flowstack.autoscaling import webhook_tokens as webhooks
from flowstack.db import groups
from flowstack.resources import base
from flowstack.schema import attributes
from flowstack.schema import properties as p


class ScalingPolicy(base.Resource):
    type_name = "OS::Heat::ScalingPolicy"
    description = "Changes a scaling group's capacity when its webhook (alarm_url) is called."
    properties_schema = {
        "auto_scaling_group_id": p.Schema(
            p.Schema.STRING, "The group to scale (get_resource of the group).", required=True
        ),
        "adjustment_type": p.Schema(
            p.Schema.STRING,
            "change_in_capacity, exact_capacity or percent_change_in_capacity.",
            required=True,
            constraints=[p.AllowedValues(adjustment.TYPES)],
        ),
        "scaling_adjustment": p.Schema(
            p.Schema.INTEGER,
            "Members to add (negative: remove), the new capacity, or a percentage.",
            required=True,
        ),
        "min_adjustment_step": p.Schema(
            p.Schema.INTEGER,
            "With percent_change_in_capacity: change by at least this many members.",
            constraints=[p.Range(0)],
        ),
        "cooldown": p.Schema(
            p.Schema.INTEGER,
            "Seconds after this policy took effect during which it does not act again.",
            constraints=[p.Range(0)],
        ),
    }
    attributes_schema = {
        "alarm_url": attributes.Attribute(
            "The webhook to POST to (a capability URL: keep it secret).", secret=True
        ),
        "signal_url": attributes.Attribute("The same webhook as alarm_url.", secret=True),
    }

    @classmethod
    def check_properties(
        cls,
        values: dict[str, Any],
        path: str,
        resource_types: Any,
        custom_constraints: Any = None,
    ) -> list[Any]:
        if values["adjustment_type"] == adjustment.EXACT_CAPACITY and (
            isinstance(values["scaling_adjustment"], int) and values["scaling_adjustment"] < 0
        ):
            return [
                exceptions.TemplateError(
                    f"{path}.scaling_adjustment",
                    "an exact_capacity adjustment cannot be negative",
                )
            ]
        return []

    def handle_create(self, properties: dict[str, Any]) -> None:
        rt = self.host
        group_id = properties["auto_scaling_group_id"]
        policy_id = groups.policy_id(self.stack.id, self.name)
        token = webhooks.new_token()
        with rt.write(self.stack.id) as connection:
            try:
                group = groups.get(connection, group_id)
            except exceptions.GroupNotFound:
                group = None
            if (
                group is None
                or group.project_id != self.stack.project_id
                or group.status == groups.DELETED
            ):
                raise exceptions.ResourceFailure(
                    resource=self.name,
                    action=status.CREATE,
                    reason=f"auto_scaling_group_id: no scaling group {group_id!r} in this project",
                )
            groups.upsert_policy(
                connection,
                policy_id,
                group_id=group_id,
                stack_id=self.stack.id,
                resource_name=self.name,
                project_id=self.stack.project_id,
                adjustment_type=properties["adjustment_type"],
                scaling_adjustment=properties["scaling_adjustment"],
                min_adjustment_step=properties.get("min_adjustment_step"),
                cooldown=properties.get("cooldown"),
                token_hash=webhooks.token_hash(token),
                enabled=True,
            )
        self.physical_id = policy_id
        self.data["url"] = webhooks.webhook_url(rt.conf.api.public_url, token)

    def handle_delete(self) -> None:
        rt = self.host
        with rt.write(self.stack.id) as connection:
            groups.delete_policy(
                connection, self.physical_id or groups.policy_id(self.stack.id, self.name)
            )

    def attributes(self) -> dict[str, Any]:
        url = self.data.get("url")
        return {"alarm_url": url, "signal_url": url}
