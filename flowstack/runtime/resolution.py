"""Values that templates reference, as seen by a running task."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

SecretLoader = Callable[[str, str | None], Any]


class TaskResolution:
    """A ``flowstack.template.ResolutionContext`` over the results of other tasks.

    ``results`` maps a resource name to the result its task provided (the
    data that flows along the graph's edges); secret and bulky values are
    not in it and are fetched through ``load_secret`` when a template asks.
    """

    def __init__(
        self,
        parameters: Mapping[str, Any],
        results: Mapping[str, Mapping[str, Any]],
        load_secret: SecretLoader,
        accepts_any_attributes: Callable[[str], bool],
    ) -> None:
        self.parameters = parameters
        self._results = results
        self._load_secret = load_secret
        self._any_attributes = accepts_any_attributes

    def resource_ref(self, name: str) -> Any:
        result = self._result(name)
        if result.get("secret_ref"):
            return self._load_secret(name, None)
        return result.get("ref")

    def attribute(self, name: str, attribute: str) -> Any:
        public = self._result(name).get("attributes") or {}
        if attribute in public:
            return public[attribute]
        if self._any_attributes(name):
            return None
        return self._load_secret(name, attribute)

    def _result(self, name: str) -> Mapping[str, Any]:
        try:
            return self._results[name]
        except KeyError:
            raise LookupError(f"resource {name!r} has not been created") from None
