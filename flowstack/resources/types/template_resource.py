"""A resource whose type is a template file: a nested stack, as Heat's TemplateResource.

Its physical object is a stack of its own (the file's template, with the
properties as its parameters, kept encrypted like hidden ones); its
attributes are that stack's outputs and ``OS::stack_id``.  The nested
stack's resources are not created here: the flow that holds this resource
creates them between this resource's create and its completion, each with
the same resource tasks as any stack's (``flows.units``), so that they are
ordered and reverted one by one.  Completing checks that they all exist;
deleting refuses while any of them is left, as a scaling group does for
its members.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import sqlalchemy as sa

from flowstack import exceptions, status
from flowstack.db import events, models, resources, stacks
from flowstack.exceptions import TemplateError, TemplateInvalid
from flowstack.resources import base
from flowstack.schema import properties as p
from flowstack.template import Template, validate
from flowstack.template import parameters as params

STACKS = models.Stack.__table__
RESOURCES = models.Resource.__table__
#: The attribute every template resource has: its nested stack's id.
STACK_ID = "OS::stack_id"
_NAMESPACE = uuid.UUID("3e0f7b52-6a4f-4f0e-8f55-0c3c6d2a7b19")


def nested_stack_id(stack_id: str, resource_name: str) -> str:
    """The same id on every re-execution of the create."""
    return str(uuid.uuid5(_NAMESPACE, f"template:{stack_id}:{resource_name}"))


class TemplateResource(base.Resource):
    """Base of the classes :func:`flowstack.resources.template_types.plugin_for` builds."""

    template: ClassVar[Template]
    create_polls = True
    is_template = True

    @classmethod
    def check_properties(
        cls,
        values: dict[str, Any],
        path: str,
        resource_types: Any,
        custom_constraints: Any = None,
    ) -> list[TemplateError]:
        """The file's resources checked with the property values known now."""
        known = {k: v for k, v in values.items() if not p.contains_deferred(v)}
        try:
            validate(
                cls.template,
                known,
                resource_types,
                pseudo_parameters={},
                custom_constraints=custom_constraints,
                values_later=True,
            )
        except TemplateInvalid as exc:
            return [TemplateError(path, f"in {cls.type_name}: {error}") for error in exc.errors]
        return []

    def handle_create(self, properties: dict[str, Any]) -> None:
        rt = self.host
        nested_id = nested_stack_id(self.stack.id, self.name)
        self.physical_id = nested_id
        values, errors, _ = params.validate_values(self.template.parameters, properties)
        if errors:
            raise exceptions.ResourceFailure(
                resource=self.name,
                action=status.CREATE,
                reason="; ".join(f"{self.type_name}: {e}" for e in errors),
            )
        reason = f"Creating {len(self.template.resources)} resource(s)"
        with rt.write(self.stack.id) as connection:
            exists = connection.execute(
                sa.select(STACKS.c.id).where(STACKS.c.id == nested_id)
            ).first()
            if exists is not None:
                return  # re-executed after a crash: recorded already
            stacks.insert_nested(
                connection,
                stack_id=nested_id,
                parent=self.stack,
                resource_name=self.name,
                template=self.template.to_mapping(),
                secret_parameters=rt.secrets.encrypt(values) if values else None,
                reason=reason,
            )
            events.add(connection, nested_id, status.CREATE, status.IN_PROGRESS, reason)
            resources.create_all(
                connection, nested_id, ((r.name, r.type) for r in self.template.resources.values())
            )

    def check_create_complete(self) -> bool:
        rows = self._rows()
        failed = [r for r in rows if r.status == status.FAILED]
        if failed:
            raise exceptions.ResourceFailure(
                resource=self.name,
                action=status.CREATE,
                reason=f"resource {failed[0].name!r}: {failed[0].status_reason}",
            )
        if any((r.action, r.status) != (status.CREATE, status.COMPLETE) for r in rows):
            return False
        rt = self.host
        reason = "Stack CREATE completed successfully"
        with rt.write(self.stack.id) as connection:
            now = stacks.status_of(connection, self.physical_id)
            if now is not None and (now.action, now.status) != (status.CREATE, status.COMPLETE):
                stacks.set_status(
                    connection, self.physical_id, status.CREATE, status.COMPLETE, reason
                )
                events.add(connection, self.physical_id, status.CREATE, status.COMPLETE, reason)
        return True

    def handle_delete(self) -> None:
        nested_id = self.physical_id or nested_stack_id(self.stack.id, self.name)
        left = [r for r in self._rows(nested_id) if r.action != status.INIT]
        left = [r for r in left if (r.action, r.status) != (status.DELETE, status.COMPLETE)]
        if left:
            listing = ", ".join(f"{r.name} ({status.combined(r.action, r.status)})" for r in left)
            raise exceptions.ResourceFailure(
                resource=self.name,
                action=status.DELETE,
                reason=f"its nested stack still holds {listing}",
            )
        rt = self.host
        with rt.write(self.stack.id) as connection:
            now = stacks.status_of(connection, nested_id)
            if now is None or (now.action, now.status) == (status.DELETE, status.COMPLETE):
                return
            stacks.mark_deleted(connection, nested_id, "Stack DELETE completed successfully")
            events.add(connection, nested_id, status.DELETE, status.COMPLETE, "Deleted")

    def health(self) -> str | None:
        """The first problem any of the nested stack's resources reports."""
        for row in self._rows():
            if (row.action, row.status) != (status.CREATE, status.COMPLETE):
                return f"resource {row.name!r} is {status.combined(row.action, row.status)}"
            problem = self.host.load_resource(self.physical_id, row.name).health()
            if problem:
                return f"resource {row.name!r}: {problem}"
        return None

    def attributes(self) -> dict[str, Any]:
        values = self.host.stack_outputs(self.physical_id)
        return {**values, STACK_ID: self.physical_id}

    def _rows(self, nested_id: str | None = None) -> list[Any]:
        rt = self.host
        with rt.db.read_connection() as connection:
            return list(
                connection.execute(
                    sa.select(
                        RESOURCES.c.name,
                        RESOURCES.c.action,
                        RESOURCES.c.status,
                        RESOURCES.c.status_reason,
                    ).where(RESOURCES.c.stack_id == (nested_id or self.physical_id))
                ).all()
            )
