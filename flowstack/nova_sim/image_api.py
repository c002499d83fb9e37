"""A minimal Image API v2 (Glance): what python-novaclient's image lookup calls.

novaclient 18 resolves image names through the *image* service
(``novaclient.v2.images.GlanceManager.find_image``): ``GET /v2/images/{id}``
for a uuid, ``GET /v2/images?name=<name>`` otherwise, both relative to the
image endpoint. It is served at two places:

* ``/image`` — the image endpoint in the simulator's service catalog
  (``/identity/v3``), as DevStack lays it out: ``/image/v2/images``;
* ``/v2.1/v2/images`` (and ``/v2.1/{project}/v2/images``) — where novaclient
  sends the same lookup when the session has one fixed endpoint
  (``token_endpoint.Token(endpoint, token)`` or ``endpoint_override``): it then
  appends ``/v2/images`` to the compute endpoint.

``name`` also matches an image's configured ``aliases`` (so ``cirros`` finds
``cirros-0.6.2-x86_64-disk``) — a simulator convenience a real Glance lacks.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flowstack.nova_sim import views
from flowstack.nova_sim.config import ImageSpec, SimulatorConfig, stable_id
from flowstack.nova_sim.context import new_request_id
from flowstack.nova_sim.routing import Request, Response, Router
from flowstack.nova_sim.state import CloudState

IMAGE_PREFIX = "/image"
_REASONS = {400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
            503: "Service Unavailable"}  # fmt: skip
_KNOWN = {"limit", "marker", "sort_key", "sort_dir", "member_status", "owner", "protected",
          "os_hidden", "tag", "created_at", "updated_at", "size_min", "size_max"}  # fmt: skip


def glance_error(status: int, message: str) -> Response:
    """How Glance (webob) renders an error to a JSON client."""
    reason = _REASONS.get(status, "Error")
    return Response(status, {"message": message, "code": f"{status} {reason}", "title": reason})


def _values(text: str) -> list[str]:
    if text.startswith("in:"):
        return [v.strip().strip('"') for v in text[3:].split(",") if v.strip()]
    return [text]


class ImageApi:
    def __init__(self, state: CloudState, config: SimulatorConfig) -> None:
        self.state = state
        self.config = config
        self.owner = stable_id("project", "admin")
        self.router = Router()
        self.router.add(r"/?", GET=self.versions)
        self.router.add(r"/v2/images", GET=self.list_images)
        self.router.add(r"/v2/images/(?P<image_id>[^/]+)", GET=self.show_image)

    def handle(self, request: Request, route_path: str, image_root: str) -> Response:
        handler, args, _known = self.router.match(request.method, route_path)
        if handler is None:
            response = glance_error(404, "The resource could not be found.")
        else:
            response = handler(request, image_root, **args)
        response.headers.append(("x-openstack-request-id", new_request_id()))
        return response

    def versions(self, request: Request, image_root: str) -> Response:
        entry = {
            "id": "v2.16",
            "status": "CURRENT",
            "links": [{"rel": "self", "href": f"{request.base_url}{image_root}/v2/"}],
        }
        return Response(300, {"versions": [entry]})

    def _filter(self, request: Request, images: list[ImageSpec]) -> list[ImageSpec]:
        for key, values in request.query.items():
            wanted = _values(values[-1])
            if key == "name":
                images = [i for i in images if any(i.answers_to(w) for w in wanted)]
            elif key == "id":
                images = [i for i in images if i.id in wanted]
            elif key in ("status", "visibility", "disk_format", "container_format"):
                images = [i for i in images if getattr(i, key) in wanted]
            elif key not in _KNOWN:
                images = [i for i in images if i.properties.get(key) in wanted]
        return images

    def list_images(self, request: Request, image_root: str) -> Response:
        images = sorted(
            self.state.images.values(), key=lambda i: (i.created_at, i.id), reverse=True
        )
        images = self._filter(request, images)
        marker = request.param("marker")
        if marker is not None:
            ids = [i.id for i in images]
            if marker not in ids:
                return glance_error(400, f"Invalid marker. Image {marker} could not be found.")
            images = images[ids.index(marker) + 1 :]
        body: dict[str, Any] = {"first": "/v2/images", "schema": "/v2/schemas/images"}
        limit_text = request.param("limit")
        if limit_text is not None:
            try:
                limit = int(limit_text)
            except ValueError:
                return glance_error(400, "limit param must be an integer")
            if limit < 0:
                return glance_error(400, "limit param must be positive")
            if len(images) > limit:
                images = images[:limit]
                query = {k: v[-1] for k, v in request.query.items() if k != "marker"}
                query["marker"] = images[-1].id if images else ""
                body["next"] = f"/v2/images?{urlencode(query)}"
        body["images"] = [views.glance_image(i, self.owner) for i in images]
        return Response(200, body)

    def show_image(self, request: Request, image_root: str, image_id: str) -> Response:
        image = self.state.images.get(image_id)
        if image is None:
            return glance_error(404, f"No image found with ID {image_id}")
        return Response(200, views.glance_image(image, self.owner))
