"""Compute API routes besides servers: flavors, keypairs, limits, zones, image proxy.

Keypairs answer 201/204 from microversion 2.2 (200/202 before), take
``user_id`` from 2.10 (admin only), page from 2.35, and from 2.92 must be
imported (``public_key`` required) rather than generated. The image proxy
(``/images``) is Nova's deprecated one: gone (404) from 2.36.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowstack.nova_sim import errors, views
from flowstack.nova_sim.compute_common import (
    Call,
    RouteGroup,
    fault_response,
    is_true,
    next_params,
    paging,
)
from flowstack.nova_sim.config import SimulatorConfig
from flowstack.nova_sim.routing import Response, Router
from flowstack.nova_sim.state import CloudState
from flowstack.nova_sim.validation import parse_keypair


class CatalogRoutes(RouteGroup):
    def __init__(self, state: CloudState, config: SimulatorConfig) -> None:
        self.state = state
        self.config = config

    def register(self, router: Router) -> None:
        r = router
        r.add(r"/flavors", GET=self.list_flavors)
        r.add(r"/flavors/detail", GET=self.list_flavors_detail)
        r.add(r"/flavors/(?P<flavor_id>[^/]+)", GET=self.show_flavor)
        r.add(r"/flavors/(?P<flavor_id>[^/]+)/os-extra_specs", GET=self.flavor_extra_specs)
        r.add(
            r"/flavors/(?P<flavor_id>[^/]+)/os-extra_specs/(?P<key>[^/]+)",
            GET=self.flavor_extra_specs,
        )
        r.add(r"/os-keypairs", GET=self.list_keypairs, POST=self.create_keypair)
        r.add(r"/os-keypairs/(?P<name>[^/]+)", GET=self.show_keypair, DELETE=self.delete_keypair)
        r.add(r"/limits", GET=self.limits)
        r.add(r"/os-availability-zone", GET=self.availability_zones)
        r.add(r"/images", GET=self.list_images)
        r.add(r"/images/detail", GET=self.list_images_detail)
        r.add(r"/images/(?P<image_id>[^/]+)", GET=self.show_image)

    def _flavors(self, call: Call, render: Callable[..., dict[str, Any]], coll: str) -> Response:
        request = call.request
        limit, marker = paging(request, self.config.max_limit)
        flavors = sorted(self.state.flavors.values(), key=lambda f: f.id)
        sort_key = request.param("sort_key") or "flavorid"
        attr = {"flavorid": "id", "name": "name", "memory_mb": "ram", "root_gb": "disk",
                "vcpus": "vcpus", "id": "id"}.get(sort_key, "id")  # fmt: skip
        flavors.sort(key=lambda f: getattr(f, attr), reverse=request.param("sort_dir") == "desc")
        if (
            not call.ctx.is_admin
            or not request.param("is_public")
            or is_true(request.param("is_public"))
        ):
            flavors = [f for f in flavors if f.is_public]
        try:
            if request.param("minRam"):
                flavors = [f for f in flavors if f.ram >= int(request.param("minRam") or 0)]
            if request.param("minDisk"):
                flavors = [f for f in flavors if f.disk >= int(request.param("minDisk") or 0)]
        except ValueError:
            raise errors.BadRequest("Invalid minRam or minDisk filter") from None
        if marker is not None:
            ids = [f.id for f in flavors]
            if marker not in ids:
                raise errors.MarkerNotFound(marker)
            flavors = flavors[ids.index(marker) + 1 :]
        flavors = flavors[:limit]
        body: dict[str, Any] = {"flavors": [render(f, call.links, call.version) for f in flavors]}
        if limit and len(flavors) == limit:
            params = next_params(request)
            body["flavors_links"] = call.links.next(coll, params, flavors[-1].id)
        return Response(200, body)

    def list_flavors(self, call: Call) -> Response:
        return self._flavors(call, views.flavor_basic, "flavors")

    def list_flavors_detail(self, call: Call) -> Response:
        return self._flavors(call, views.flavor_detail, "flavors/detail")

    def show_flavor(self, call: Call, flavor_id: str) -> Response:
        flavor = self.state.flavor(flavor_id)
        return Response(200, {"flavor": views.flavor_detail(flavor, call.links, call.version)})

    def flavor_extra_specs(self, call: Call, flavor_id: str, key: str | None = None) -> Response:
        flavor = self.state.flavor(flavor_id)
        if key is None:
            return Response(200, {"extra_specs": dict(flavor.extra_specs)})
        if key not in flavor.extra_specs:
            return fault_response(404, f"Flavor {flavor_id} has no extra specs with key {key}.")
        return Response(200, {key: flavor.extra_specs[key]})

    # -- keypairs ---------------------------------------------------------------
    def _keypair_user(self, call: Call, action: str, user_id: str | None) -> str:
        if user_id is None or user_id == call.ctx.user_id:
            return call.ctx.user_id
        if not call.ctx.is_admin:
            raise errors.PolicyNotAuthorized(
                f"Policy doesn't allow os_compute_api:os-keypairs:{action} to be performed."
            )
        return user_id

    def create_keypair(self, call: Call) -> Response:
        params = parse_keypair(call.request.json(), call.version)
        user_id = self._keypair_user(call, "create", params["user_id"])
        keypair, private_key = self.state.create_keypair(
            call.ctx, params["name"], params["public_key"], params["type"], user_id
        )
        body = views.keypair_view(keypair, call.version, detail=True, private_key=private_key)
        return Response(201 if call.version.at_least("2.2") else 200, {"keypair": body})

    def _query_user(self, call: Call, action: str) -> str:
        asked = call.request.param("user_id") if call.version.at_least("2.10") else None
        return self._keypair_user(call, action, asked)

    def list_keypairs(self, call: Call) -> Response:
        user_id = self._query_user(call, "index")
        paged = call.version.at_least("2.35")
        limit, marker = paging(call.request, self.config.max_limit) if paged else (None, None)
        keypairs = self.state.list_keypairs(user_id, limit, marker)
        body: dict[str, Any] = {
            "keypairs": [
                {"keypair": views.keypair_view(kp, call.version, detail=False)} for kp in keypairs
            ]
        }
        if paged and limit and len(keypairs) == limit:
            params = next_params(call.request)
            body["keypairs_links"] = call.links.next("os-keypairs", params, keypairs[-1]["name"])
        return Response(200, body)

    def show_keypair(self, call: Call, name: str) -> Response:
        keypair = self.state.get_keypair(self._query_user(call, "show"), name)
        return Response(200, {"keypair": views.keypair_show(keypair, call.version)})

    def delete_keypair(self, call: Call, name: str) -> Response:
        self.state.delete_keypair(self._query_user(call, "delete"), name)
        return Response(204 if call.version.at_least("2.2") else 202)

    # -- misc -------------------------------------------------------------------
    def limits(self, call: Call) -> Response:
        with self.state.reading() as now:
            used = self.state.usage(call.ctx.project_id, now)
        quota = self.state.faults.quota.to_dict()
        return Response(200, views.absolute_limits(used, quota, call.version))

    def availability_zones(self, call: Call) -> Response:
        zone = {"zoneName": self.config.availability_zone, "zoneState": {"available": True},
                "hosts": None}  # fmt: skip
        return Response(200, {"availabilityZoneInfo": [zone]})

    def _image_proxy_gone(self, call: Call) -> bool:
        return call.version.at_least("2.36")

    def list_images(self, call: Call, detail: bool = False) -> Response:
        if self._image_proxy_gone(call):
            return fault_response(404, "The resource could not be found.")
        images = [views.nova_image(i, call.links, detail) for i in self.state.images.values()]
        return Response(200, {"images": images})

    def list_images_detail(self, call: Call) -> Response:
        return self.list_images(call, detail=True)

    def show_image(self, call: Call, image_id: str) -> Response:
        if self._image_proxy_gone(call):
            return fault_response(404, "The resource could not be found.")
        try:
            image = self.state.image(image_id)
        except errors.ImageNotFound:
            return fault_response(404, "Image not found.")
        return Response(200, {"image": views.nova_image(image, call.links, detail=True)})
