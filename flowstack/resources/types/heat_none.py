"""OS::Heat::None: a placeholder that does nothing.

As in Heat, it accepts any properties and answers any attribute with null,
so that a resource can be stubbed out without editing the template.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flowstack.resources import base


class NoneResource(base.Resource):
    type_name = "OS::Heat::None"
    description = "Does nothing; accepts any properties and answers any attribute with null."
    accepts_any_properties: ClassVar[bool] = True
    accepts_any_attributes: ClassVar[bool] = True

    def handle_create(self, properties: dict[str, Any]) -> None:
        self.physical_id = f"{self.stack.name}-{self.name}-{self.stack.id[:8]}"
