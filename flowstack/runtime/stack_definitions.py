"""A stack's definition as tasks need it, parsed once per process.

Every resource task of a stack needs the parsed template and the parameter
values; parsing a 1000-resource template in each of its 1000 tasks would
make a create quadratic.  A stack's template and parameters never change
while a flow runs, so they are cached by stack id.  The one exception is a
scaling group's nested stack, which gains members between flows; member
names are never reused, so a cached template that lacks the member a task
asks for is stale and is loaded again.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from typing import Any

from flowstack import template
from flowstack.db import stacks
from flowstack.db.session import Database
from flowstack.resources.base import StackInfo
from flowstack.secrets import SecretBox

PSEUDO_STACK_NAME = "OS::stack_name"
PSEUDO_STACK_ID = "OS::stack_id"
PSEUDO_PROJECT_ID = "OS::project_id"


def pseudo_parameters(info: StackInfo) -> dict[str, str]:
    return {
        PSEUDO_STACK_NAME: info.name,
        PSEUDO_STACK_ID: info.id,
        PSEUDO_PROJECT_ID: info.project_id,
    }


@dataclasses.dataclass(frozen=True)
class StackDefinition:
    info: StackInfo
    template: template.Template
    parameters: dict[str, Any]  # typed values, hidden ones and pseudo-parameters included
    disable_rollback: bool
    parent_id: str | None = None  # a nested stack (a group's, a member's): its parent
    files: dict[str, str] = dataclasses.field(default_factory=dict)  # template files by name


class StackCache:
    def __init__(self, db: Database, secrets: SecretBox, size: int = 64) -> None:
        self._db = db
        self._secrets = secrets
        self._size = size
        self._lock = threading.Lock()
        self._items: collections.OrderedDict[str, StackDefinition] = collections.OrderedDict()
        self._load_locks = [threading.Lock() for _ in range(16)]

    def get(self, stack_id: str, resource: str | None = None) -> StackDefinition:
        """The stack's definition; with ``resource``, one whose template defines it.

        One thread loads a stack while the others that miss it wait for that
        load: a scale-out's members all start at once, and each parsing the
        group's template (thousands of members in a big group) was the
        worker's largest cost.
        """
        found = self._cached(stack_id, resource)
        if found is not None:
            return found
        with self._load_locks[hash(stack_id) % len(self._load_locks)]:
            found = self._cached(stack_id, resource)
            if found is not None:
                return found
            definition = self._load(stack_id)
            with self._lock:
                self._items[stack_id] = definition
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        return definition

    def _cached(self, stack_id: str, resource: str | None) -> StackDefinition | None:
        with self._lock:
            found = self._items.get(stack_id)
            if found is not None and (resource is None or resource in found.template.resources):
                self._items.move_to_end(stack_id)
                return found
        return None

    def _load(self, stack_id: str) -> StackDefinition:
        with self._db.reader() as session:
            row = stacks.get_by_id(session, stack_id)
            info = StackInfo(id=row.id, name=row.name, project_id=row.project_id)
            data = row.template
            parameters = dict(row.parameters or {})
            if row.secret_parameters:
                parameters.update(self._secrets.decrypt(row.secret_parameters))
            disable_rollback = row.disable_rollback
            parent_id = row.parent_id
            files = dict(row.files or {})
        parameters.update(pseudo_parameters(info))
        return StackDefinition(
            info=info,
            template=template.from_mapping(data),
            parameters=parameters,
            disable_rollback=disable_rollback,
            parent_id=parent_id,
            files=files,
        )
