"""OS::Nova::Server: a Nova server, never booted twice and never left behind.

Properties and attributes are Heat's (the subset listed in the schemas).
What flowstack adds is how a server is found again:

* **Intent first.** :meth:`NovaServer.intent` names the server
  deterministically (the ``name`` property, else
  ``<stack>-<resource>-<hash of the stack id>``) and tags it with metadata
  ``flowstack:stack_id`` / ``flowstack:resource``; the task persists this
  before ``handle_create`` calls Nova.
* **Look before booting.** ``handle_create`` lists servers by that name
  (Nova filters ``name`` by regular expression, server-side) and keeps those
  carrying the tag.  One found is adopted; only when none is found is a
  server created.  A create whose answer is lost (timeout, dropped
  connection, 5xx) is followed by the same lookup before any retry, so a
  crash or a lost reply never boots a second server.  Extra tagged servers
  (a duplicate from a race) are deleted on sight.
* **Delete what the tag finds.** ``handle_delete`` deletes the recorded
  server *and* whatever the tag finds, so a rollback of a create that never
  learned its server id still removes the server.  It skips Nova entirely
  only when it knows no create request can have reached Nova
  (``data["create_sent"] is False``).

Transient Nova errors are retried ``[nova] api_retries`` times with
backoff; refusals (4xx) fail at once with Nova's message.  ``user_data`` is
never logged, and the ``adminPass`` Nova returns is never kept.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from oslo_log import log as logging
from oslo_utils import uuidutils

from flowstack import exceptions
from flowstack.clients import nova as nova_api
from flowstack.resources import base
from flowstack.schema import attributes
from flowstack.schema import properties as p

LOG = logging.getLogger(__name__)
T = TypeVar("T")

TAG_STACK = "flowstack:stack_id"
TAG_RESOURCE = "flowstack:resource"
#: As Heat: a hostname of at most 63 characters once ".novalocal" is appended.
NAME_LIMIT = 53
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_CREATE, _DELETE = "CREATE", "DELETE"
_DONE = ("ACTIVE",)
_BUILDING = ("BUILD",)
#: Keys of the server document that must not be stored or shown.
_HIDDEN_KEYS = ("adminPass", "OS-EXT-SRV-ATTR:user_data", "links")

_FORMATS_HELP = (
    "RAW passes user_data to Nova unchanged. HEAT_CFNTOOLS (Heat's default) is "
    "accepted and also delivered unchanged, for cloud-init to run: flowstack has no "
    "CloudFormation metadata service, so cfn-init and cfn-signal are not available. "
    "SOFTWARE_CONFIG needs Heat software deployments, which flowstack does not run."
)


class NovaServer(base.Resource):
    type_name = "OS::Nova::Server"
    description = "A Nova server; found again by its tag, so never duplicated or orphaned."
    create_polls = True
    delete_polls = True
    properties_schema = {
        "name": p.Schema(
            p.Schema.STRING,
            "Server name; by default <stack>-<resource>-<hash of the stack id>.",
            constraints=[p.Length(1, 255)],
        ),
        "image": p.Schema(
            p.Schema.STRING,
            "The ID or name of the image to boot with.",
            required=True,
            constraints=[p.CustomConstraint("glance.image")],
        ),
        "flavor": p.Schema(
            p.Schema.STRING,
            "The ID or name of the flavor to boot onto.",
            required=True,
            constraints=[p.CustomConstraint("nova.flavor")],
        ),
        "key_name": p.Schema(
            p.Schema.STRING,
            "Name of the keypair to inject into the server.",
            constraints=[p.CustomConstraint("nova.keypair")],
        ),
        "networks": p.Schema(
            p.Schema.LIST,
            "Ordered list of NICs; by default Nova picks the project's network.",
            schema=p.Schema(
                p.Schema.MAP,
                schema={
                    "network": p.Schema(
                        p.Schema.STRING,
                        "Name or ID of the network.",
                        constraints=[p.CustomConstraint("neutron.network")],
                    ),
                    "uuid": p.Schema(
                        p.Schema.STRING,
                        "ID of the network (use network).",
                        constraints=[p.CustomConstraint("neutron.network")],
                    ),
                    "fixed_ip": p.Schema(p.Schema.STRING, "Fixed IP address on the network."),
                    "port": p.Schema(p.Schema.STRING, "ID of an existing port to attach."),
                },
            ),
        ),
        "metadata": p.Schema(
            p.Schema.MAP,
            "Key/value metadata; values that are not strings are stored as JSON.",
        ),
        "user_data": p.Schema(
            p.Schema.STRING, "User data (a script or cloud-config) for cloud-init.", default=""
        ),
        "user_data_format": p.Schema(
            p.Schema.STRING,
            "How user_data is delivered. " + _FORMATS_HELP,
            default="HEAT_CFNTOOLS",
            constraints=[
                p.AllowedValues(
                    ["HEAT_CFNTOOLS", "RAW"],
                    description="must be RAW or HEAT_CFNTOOLS: " + _FORMATS_HELP,
                )
            ],
        ),
        "availability_zone": p.Schema(p.Schema.STRING, "Availability zone to boot in."),
    }
    attributes_schema = {
        "name": attributes.Attribute("Name of the server."),
        "addresses": attributes.Attribute("Nova's addresses: {network: [{addr, version...}]}."),
        "networks": attributes.Attribute("Assigned addresses: {network name: [ip, ...]}."),
        "first_address": attributes.Attribute(
            "First address of the network whose name sorts last (as Heat); '' if none."
        ),
        "accessIPv4": attributes.Attribute("The server's access IPv4 address ('' if unset)."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._server: dict[str, Any] | None = None  # the ACTIVE server seen by the last poll

    # -- intent --------------------------------------------------------------------------

    def intent(self, properties: dict[str, Any]) -> dict[str, Any]:
        """Name and tag of the server; ``run`` counts executions of the create."""
        previous = self.data.get("intent") or {}
        return {
            "name": properties.get("name") or server_name(self.stack, self.name),
            "tag": self._tag(),
            "run": int(previous.get("run", 0)) + 1,
        }

    def _tag(self) -> dict[str, str]:
        return {TAG_STACK: self.stack.id, TAG_RESOURCE: self.name[:255]}

    # -- create --------------------------------------------------------------------------

    def handle_create(self, properties: dict[str, Any]) -> None:
        intent = self.data.get("intent") or self.intent(properties)
        self.data["intent"] = intent
        if intent["run"] == 1:
            # A first execution knows nothing reached Nova yet; a re-executed
            # one cannot know what the crashed execution sent.
            self.data.setdefault("create_sent", False)
        request = self._static_request(properties, intent)
        last: nova_api.NovaError | None = None
        for attempt in range(self._settings.api_retries + 1):
            if attempt:
                time.sleep(self._settings.backoff(attempt - 1))
            try:
                if self._adopt(intent):
                    return
                if "image" not in request:
                    request.update(self._resolve(properties))
                self._boot(request)
                return
            except nova_api.NovaTransientError as exc:
                last = exc
                LOG.warning("Creating server %s failed transiently: %s", intent["name"], exc)
            except nova_api.NovaRequestError as exc:
                raise self._failure(_CREATE, _refused("boot", intent["name"], exc)) from exc
        raise self._failure(
            _CREATE, f"{last} (gave up after {self._settings.api_retries + 1} attempts)"
        ) from last

    def _static_request(self, properties: dict[str, Any], intent: dict[str, Any]) -> dict[str, Any]:
        """What can be checked and built without asking Nova."""
        user_metadata = properties.get("metadata") or {}
        reserved = sorted(set(user_metadata) & {TAG_STACK, TAG_RESOURCE})
        if reserved:
            raise self._failure(
                _CREATE, f"metadata key(s) {', '.join(reserved)} are reserved for flowstack"
            )
        for index, nic in enumerate(properties.get("networks") or []):
            _check_nic(nic or {}, f"networks[{index}]", self._failure)
        metadata = {str(k): _meta_value(v) for k, v in user_metadata.items()}
        metadata.update(intent["tag"])
        return {
            "name": intent["name"],
            "meta": metadata,
            "userdata": properties.get("user_data") or None,
            "key_name": properties.get("key_name") or None,
            "availability_zone": properties.get("availability_zone") or None,
        }

    def _resolve(self, properties: dict[str, Any]) -> dict[str, Any]:
        """Flavor, image and network references as the ids Nova wants."""
        services = self.clients
        try:
            resolved: dict[str, Any] = {
                "flavor": services.find_flavor(properties["flavor"])["id"],
                "image": services.find_image(properties["image"])["id"],
            }
            nics = [_nic(nic, services.find_network) for nic in properties.get("networks") or []]
        except nova_api.NovaRequestError as exc:  # not found, ambiguous: Nova's words suffice
            raise self._failure(_CREATE, exc.detail) from exc
        if nics:
            resolved["nics"] = nics
        elif self._microversion_at_least(2, 37):
            resolved["nics"] = "auto"  # mandatory from 2.37; "auto" is the old default
        return resolved

    def _boot(self, request: dict[str, Any]) -> None:
        before = self.data.get("create_sent")
        self.data["create_sent"] = True
        self.data.setdefault("requested_at", time.time())
        LOG.info(
            "Booting server %s for resource %s of stack %s",
            request["name"],
            self.name,
            self.stack.id,
        )
        self.guard()  # a runner taken over while it got here must not boot
        try:
            with nova_api.translated():
                server = self._nova().servers.create(**request)
        except nova_api.NovaError as exc:
            if not exc.maybe_done:
                self.data["create_sent"] = before
            raise
        self.physical_id = str(server.id)  # the reply's adminPass is dropped with it

    def _adopt(self, intent: dict[str, Any]) -> bool:
        """Adopt the server an earlier attempt created; delete any duplicate."""
        if self.data.get("create_sent") is False:
            return False  # nothing can exist: skip the lookup
        tagged = self._tagged(intent)  # newest first, as Nova lists
        # A server that went to ERROR is a failed attempt (a retry after the
        # operator fixed the cloud): remove it and boot afresh, never adopt it.
        for failed in [s for s in tagged if s.get("status") == "ERROR" and not _deleting(s)]:
            LOG.info("Deleting server %s of resource %s left in ERROR", failed["id"], self.name)
            self._delete_stray(failed["id"])
        found = [s for s in tagged if not _deleting(s) and s.get("status") != "ERROR"]
        if not found:
            if self.physical_id in {s["id"] for s in tagged}:
                self.physical_id = None  # the recorded server was the failed one
            return False
        # Keep the recorded server, else the oldest ("created" has 1 s resolution).
        found.sort(
            key=lambda s: (s["id"] != self.physical_id, s.get("created") or "", -tagged.index(s))
        )
        keep, extras = found[0], found[1:]
        for extra in extras:
            LOG.warning("Deleting duplicate server %s of resource %s", extra["id"], self.name)
            self._delete_stray(extra["id"])
        if self.physical_id != keep["id"]:
            LOG.info("Adopting server %s (%s) for %s", keep["id"], intent["name"], self.name)
        self.physical_id = keep["id"]
        self.data.setdefault("requested_at", time.time())
        self.data["create_sent"] = True
        return True

    def check_create_complete(self) -> bool:
        server_id = self.physical_id
        try:
            server = self._show(server_id)
        except nova_api.NovaNotFound:
            raise self._failure(
                _CREATE,
                f"server {server_id} disappeared while building (deleted outside flowstack?)",
            ) from None
        except nova_api.NovaTransientError as exc:
            self._poll_error(_CREATE, exc)
            return False
        self.data.pop("poll_errors", None)
        status = server.get("status")
        if status in _DONE:
            self.data["active_at"] = time.time()
            self._server = server
            return True
        if status == "ERROR":
            raise self._failure(_CREATE, f"server {server_id} went to ERROR: {_fault(server)}")
        if status not in _BUILDING:
            raise self._failure(_CREATE, f"server {server_id} is {status}, not ACTIVE")
        waited = time.time() - self.data.get("requested_at", time.time())
        if waited > self._settings.build_timeout:
            raise self._failure(
                _CREATE,
                f"server {server_id} still in BUILD after {waited:.0f} s "
                f"([nova] build_timeout is {self._settings.build_timeout:g} s)",
            )
        return False

    # -- delete --------------------------------------------------------------------------

    def handle_delete(self) -> None:
        targets = [self.physical_id] if self.physical_id else []
        intent = self.data.get("intent")
        if intent and not (self.physical_id is None and self.data.get("create_sent") is False):
            try:
                tagged = self._retrying(lambda: self._tagged(intent), _DELETE, "look up the server")
            except exceptions.ResourceFailure:
                if not self.physical_id:
                    raise
                LOG.warning("Could not look up duplicates of server %s", self.physical_id)
                tagged = []
            targets += [s["id"] for s in tagged if s["id"] not in targets]
        deleting = [server_id for server_id in targets if self._delete(server_id)]
        self.data["deleting"] = deleting
        self.data["delete_requested_at"] = time.time()
        self.data.pop("poll_errors", None)

    def _delete(self, server_id: str) -> bool:
        """Ask Nova to delete; False when the server is already gone."""
        last: nova_api.NovaError | None = None
        for attempt in range(self._settings.api_retries + 1):
            if attempt:
                time.sleep(self._settings.backoff(attempt - 1))
            try:
                self._delete_once(server_id)
                return True
            except nova_api.NovaNotFound:
                return False
            except nova_api.NovaTransientError as exc:
                last = exc
                LOG.warning("Deleting server %s failed transiently: %s", server_id, exc)
            except nova_api.NovaRequestError as exc:
                raise self._failure(_DELETE, _refused("delete", server_id, exc)) from exc
        raise self._failure(
            _DELETE,
            f"could not delete server {server_id}: {last} "
            f"(gave up after {self._settings.api_retries + 1} attempts)",
        ) from last

    def _delete_stray(self, server_id: str) -> None:
        """Delete a failed or duplicate server before going on.

        A transient error propagates, so that handle_create's retry lists and
        deletes again: a stack that completes must not leave the stray behind
        (nothing else would ever delete it).
        """
        try:
            self._delete_once(server_id)
        except nova_api.NovaNotFound:
            pass
        except nova_api.NovaRequestError as exc:
            raise self._failure(_CREATE, _refused("delete", server_id, exc)) from exc

    def _delete_once(self, server_id: str) -> None:
        self.guard()
        with nova_api.translated():
            self._nova().servers.delete(server_id)

    def check_delete_complete(self) -> bool:
        remaining = []
        for server_id in self.data.get("deleting") or []:
            try:
                server = self._show(server_id)
            except nova_api.NovaNotFound:
                continue
            except nova_api.NovaTransientError as exc:
                self._poll_error(_DELETE, exc)
                remaining.append(server_id)
                continue
            if server.get("status") in ("DELETED", "SOFT_DELETED"):
                continue
            if not _deleting(server):
                self._delete_again(server_id, server)
            remaining.append(server_id)
        self.data["deleting"] = remaining
        if not remaining:
            return True
        waited = time.time() - self.data.get("delete_requested_at", time.time())
        if waited > self._settings.delete_timeout:
            raise self._failure(
                _DELETE,
                f"server {', '.join(remaining)} still exists {waited:.0f} s after its delete "
                f"([nova] delete_timeout is {self._settings.delete_timeout:g} s)",
            )
        return False

    def _delete_again(self, server_id: str, server: dict[str, Any]) -> None:
        """The delete did not take (Nova left the server, e.g. ERROR): ask again, bounded."""
        counts = self.data.setdefault("delete_reissued", {})
        counts[server_id] = counts.get(server_id, 0) + 1
        if counts[server_id] > self._settings.api_retries:
            raise self._failure(
                _DELETE,
                f"server {server_id} was not deleted (status {server.get('status')}): "
                f"{_fault(server)}",
            )
        if self._delete(server_id):
            self.data["delete_requested_at"] = time.time()

    # -- polling -------------------------------------------------------------------------

    def poll_delay(self, default: float) -> float:
        errors = self.data.get("poll_errors", 0)
        return min(default * (2**errors), 30.0) if errors else default

    def _poll_error(self, action: str, exc: nova_api.NovaError) -> None:
        """Count consecutive transient errors while polling; give up past api_retries."""
        errors = self.data.get("poll_errors", 0) + 1
        self.data["poll_errors"] = errors
        if errors > self._settings.api_retries:
            raise self._failure(action, f"{exc} ({errors} checks in a row failed)") from exc
        LOG.warning("Checking resource %s failed transiently: %s", self.name, exc)

    # -- health --------------------------------------------------------------------------

    def health(self) -> str | None:
        try:
            server = self._show(self.physical_id)
        except nova_api.NovaNotFound:
            return f"server {self.physical_id} is gone from Nova (deleted out of band)"
        state = server.get("status")
        if state == "ERROR":
            return f"server {self.physical_id} is in ERROR: {_fault(server)}"
        if state in ("DELETED", "SOFT_DELETED"):
            return f"server {self.physical_id} is {state}"
        return None

    # -- attributes ----------------------------------------------------------------------

    def attributes(self) -> dict[str, Any]:
        server = self._server
        if server is None:
            server = self._retrying(
                lambda: self._show(self.physical_id), _CREATE, "read the server"
            )
        addresses = server.get("addresses") or {}
        networks = {
            net: [a["addr"] for a in items if isinstance(a, dict) and "addr" in a]
            for net, items in addresses.items()
        }
        first = next((ips[0] for _, ips in sorted(networks.items(), reverse=True) if ips), "")
        return {
            "name": server.get("name"),
            "addresses": addresses,
            "networks": networks,
            "first_address": first,
            "accessIPv4": server.get("accessIPv4") or "",
            attributes.SHOW: server,
        }

    # -- helpers -------------------------------------------------------------------------

    @property
    def _settings(self) -> Any:
        return self.clients.settings

    def _nova(self) -> Any:
        return self.clients.nova()

    def _microversion_at_least(self, major: int, minor: int) -> bool:
        version = self._nova().api_version
        return (version.ver_major, version.ver_minor) >= (major, minor)

    def _show(self, server_id: str | None) -> dict[str, Any]:
        if not server_id:
            raise nova_api.NovaNotFound("no server id recorded")
        with nova_api.translated():
            return _document(self._nova().servers.get(server_id))

    def _tagged(self, intent: dict[str, Any]) -> list[dict[str, Any]]:
        """Servers named as the intent says and carrying its tag (newest first)."""
        pattern = f"^{re.escape(intent['name'])}$"
        with nova_api.translated():
            servers = self._nova().servers.list(search_opts={"name": pattern})
        tag = intent["tag"]
        documents = [_document(s) for s in servers]
        return [
            d
            for d in documents
            if all((d.get("metadata") or {}).get(k) == v for k, v in tag.items())
        ]

    def _retrying(self, call: Callable[[], T], action: str, what: str) -> T:
        last: nova_api.NovaError | None = None
        for attempt in range(self._settings.api_retries + 1):
            if attempt:
                time.sleep(self._settings.backoff(attempt - 1))
            try:
                return call()
            except nova_api.NovaTransientError as exc:
                last = exc
            except nova_api.NovaError as exc:
                raise self._failure(action, f"could not {what}: {exc}") from exc
        raise self._failure(
            action,
            f"could not {what}: {last} (gave up after {self._settings.api_retries + 1} attempts)",
        ) from last

    def _failure(self, action: str, reason: str) -> exceptions.ResourceFailure:
        return exceptions.ResourceFailure(resource=self.name, action=action, reason=reason)


def server_name(stack: base.StackInfo, resource: str) -> str:
    """``<stack>-<resource>-<hash>``, at most :data:`NAME_LIMIT` characters, hostname-safe."""
    digest = hashlib.sha256(stack.id.encode()).hexdigest()[:12]
    stem = _UNSAFE_NAME.sub("-", f"{stack.name}-{resource}").strip("-.") or "server"
    return f"{stem[: NAME_LIMIT - len(digest) - 1]}-{digest}"


def _document(server: Any) -> dict[str, Any]:
    info = server.to_dict() if hasattr(server, "to_dict") else dict(server)
    return {k: v for k, v in info.items() if k not in _HIDDEN_KEYS}


def _deleting(server: dict[str, Any]) -> bool:
    return server.get("OS-EXT-STS:task_state") == "deleting" or server.get("status") in (
        "DELETED",
        "SOFT_DELETED",
    )


def _fault(server: dict[str, Any]) -> str:
    fault = server.get("fault") or {}
    message = " ".join(str(fault.get("message") or "").split())
    if not message:
        return "Nova gave no fault message"
    return f"{message} (code {fault['code']})" if fault.get("code") else message


def _refused(verb: str, what: str, exc: nova_api.NovaError) -> str:
    if exc.status is None:  # e.g. no compute endpoint in the catalog
        return f"could not {verb} server {what}: {exc.detail}"
    return f"Nova refused to {verb} server {what} (HTTP {exc.status}): {exc.detail}"


def _meta_value(value: Any) -> str:
    """Heat's rule: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _check_nic(nic: dict[str, Any], where: str, failure: Callable[..., Exception]) -> None:
    network = nic.get("network") or nic.get("uuid")
    if nic.get("network") and nic.get("uuid"):
        raise failure(_CREATE, f"{where}: give network or uuid, not both")
    if nic.get("port"):
        if network or nic.get("fixed_ip"):
            raise failure(
                _CREATE, f"{where}: a port brings its own network and addresses; give port alone"
            )
        return
    if not network:
        raise failure(_CREATE, f"{where}: one of network, uuid or port is required")
    if nic.get("fixed_ip"):
        try:
            ipaddress.ip_address(nic["fixed_ip"])
        except ValueError:
            raise failure(
                _CREATE, f"{where}.fixed_ip: {nic['fixed_ip']!r} is not an IP address"
            ) from None


def _nic(nic: dict[str, Any], find_network: Callable[[str], str]) -> dict[str, str]:
    """A novaclient ``nics`` entry for one item of the networks property."""
    if nic.get("port"):
        return {"port-id": nic["port"]}
    ref = nic.get("network") or nic.get("uuid")
    entry = {"net-id": ref if uuidutils.is_uuid_like(ref) else find_network(ref)}
    if nic.get("fixed_ip"):
        version = ipaddress.ip_address(nic["fixed_ip"]).version
        entry["v6-fixed-ip" if version == 6 else "v4-fixed-ip"] = nic["fixed_ip"]
    return entry
