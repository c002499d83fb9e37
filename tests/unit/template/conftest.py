"""Fakes shared by the template tests: tiny plugins, a type registry, a run-time context."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import pytest

from flowstack.exceptions import ResourceNotFound, TemplateError, TemplateInvalid
from flowstack.schema import properties as p
from flowstack.schema.attributes import Attribute


class FakeServer:
    type_name: ClassVar[str] = "OS::Nova::Server"
    description: ClassVar[str] = "A server."
    properties_schema: ClassVar[dict[str, p.Schema]] = {
        "flavor": p.Schema(
            p.Schema.STRING, required=True, constraints=[p.CustomConstraint("nova.flavor")]
        ),
        "image": p.Schema(p.Schema.STRING, required=True),
        "name": p.Schema(p.Schema.STRING),
        "count": p.Schema(p.Schema.INTEGER, default=1, constraints=[p.Range(1, 10)]),
        "networks": p.Schema(
            p.Schema.LIST,
            schema=p.Schema(
                p.Schema.MAP,
                schema={
                    "network": p.Schema(p.Schema.STRING, required=True),
                    "fixed_ip": p.Schema(p.Schema.STRING),
                },
            ),
        ),
        "metadata": p.Schema(p.Schema.MAP),
        "user_data": p.Schema(p.Schema.STRING),
        "admin_pass": p.Schema(p.Schema.STRING, constraints=[p.Length(min=8)]),
    }
    attributes_schema: ClassVar[dict[str, Attribute]] = {
        "first_address": Attribute("The first IP address."),
        "networks": Attribute("Addresses by network."),
    }


class FakeRandomString:
    type_name: ClassVar[str] = "OS::Heat::RandomString"
    secret_reference: ClassVar[bool] = True  # get_resource gives the secret string
    properties_schema: ClassVar[dict[str, p.Schema]] = {
        "length": p.Schema(p.Schema.INTEGER, default=32, constraints=[p.Range(1, 512)]),
    }
    attributes_schema: ClassVar[dict[str, Attribute]] = {
        "value": Attribute("The generated string.", secret=True),
    }


class FakeNone:
    type_name: ClassVar[str] = "OS::Heat::None"
    accepts_any_properties: ClassVar[bool] = True
    accepts_any_attributes: ClassVar[bool] = True
    properties_schema: ClassVar[dict[str, p.Schema]] = {}
    attributes_schema: ClassVar[dict[str, Attribute]] = {}


class FakeTypes:
    """The ResourceTypes protocol over a few plugin classes."""

    def __init__(self, *plugins: type) -> None:
        self._by_name = {plugin.type_name: plugin for plugin in plugins}

    def get(self, type_name: str) -> type:
        return self._by_name[type_name]

    def types(self) -> list[str]:
        return sorted(self._by_name)


class FakeContext:
    """The ResolutionContext protocol over dicts; unknown names raise like an engine would."""

    def __init__(
        self,
        parameters: Mapping[str, Any] | None = None,
        refs: Mapping[str, Any] | None = None,
        attributes: Mapping[tuple[str, str], Any] | None = None,
    ) -> None:
        self.parameters = dict(parameters or {})
        self.refs = dict(refs or {})
        self.attributes = dict(attributes or {})

    def resource_ref(self, name: str) -> Any:
        if name not in self.refs:
            raise ResourceNotFound(stack="test", resource=name)
        return self.refs[name]

    def attribute(self, name: str, attribute: str) -> Any:
        if (name, attribute) not in self.attributes:
            raise ResourceNotFound(stack="test", resource=name)
        return self.attributes[(name, attribute)]


@pytest.fixture
def types() -> FakeTypes:
    return FakeTypes(FakeServer, FakeRandomString, FakeNone)


@pytest.fixture
def make_context() -> Callable[..., FakeContext]:
    return FakeContext


def collect(call: Callable[..., Any], *args: Any, **kwargs: Any) -> list[TemplateError]:
    """The errors of the TemplateInvalid the call must raise."""
    with pytest.raises(TemplateInvalid) as info:
        call(*args, **kwargs)
    return info.value.errors


@pytest.fixture
def errors_of() -> Callable[..., list[TemplateError]]:
    return collect


@pytest.fixture
def by_path() -> Callable[[list[TemplateError]], dict[str, str]]:
    def index(errors: list[TemplateError]) -> dict[str, str]:
        return {error.path: error.message for error in errors}

    return index
