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
            known = self._plugins.get(plugin.type_name)
            if known is not None and known is not plugin:
                # The same class twice is harmless (an environment that still has a
                # distribution installed under an older name); two classes are not.
                raise ValueError(
                    f"resource type {plugin.type_name} is registered twice: by "
                    f"{known.__module__}.{known.__qualname__} and "
                    f"{plugin.__module__}.{plugin.__qualname__}"
                )
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
