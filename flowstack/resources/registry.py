"""Resource types by name: the one place the engine and validator look them up.

Types are found through the ``flowstack.resources`` entry point namespace, so
a deployment can add its own without touching flowstack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stevedore import extension

from flowstack.resources.base import Resource

NAMESPACE = "flowstack.resources"


class Registry:
    """Maps a HOT type name (``OS::Heat::None``) to its plugin class."""

    def __init__(self, plugins: Iterable[type[Resource]]) -> None:
        self._plugins: dict[str, type[Resource]] = {}
        for plugin in plugins:
            if plugin.type_name in self._plugins:
                raise ValueError(f"resource type {plugin.type_name} is registered twice")
            self._plugins[plugin.type_name] = plugin

    @classmethod
    def from_entry_points(cls) -> Registry:
        manager = extension.ExtensionManager(NAMESPACE, invoke_on_load=False)
        return cls(ext.plugin for ext in manager)

    def get(self, type_name: str) -> type[Resource]:
        """The plugin class; KeyError when the type is unknown."""
        return self._plugins[type_name]

    def types(self) -> list[str]:
        return sorted(self._plugins)

    def as_mapping(self) -> Mapping[str, type[Resource]]:
        return dict(self._plugins)
