"""OS::Octavia::PoolMember: a pool member added once, and drained before it is removed.

Properties and attributes are Heat's.  What flowstack adds:

* **Identity by intent.** Octavia refuses two members with one address and
  port in a pool, so pool + address + port *is* the member.  That intent is
  recorded before anything is sent; every create attempt first lists the
  pool's members with that address and port and adopts what it finds, so a
  lost answer or a crash never adds the member twice.  The member is tagged
  ``flowstack:<stack id>:<resource>``, so that a rollback which never
  learned the member's id removes it, and only it.
* **A busy load balancer is waited for, not failed.** Octavia answers 409
  "immutable" while the load balancer is PENDING_*: the create waits for
  ACTIVE, and a 409 is simply polled again.  A load balancer in ERROR fails
  the step at once, naming it (it will not recover by itself).
* **Drain, then delete.** A member that was in service (it reached ACTIVE
  under this resource) first gets weight 0 and keeps serving the connections
  it has for ``[octavia] drain_timeout`` seconds; only then is it deleted.
  The rollback of a create (never in service) deletes at once.

Transient errors are retried ``[octavia] api_retries`` times with backoff;
``[octavia] provisioning_timeout`` bounds every PENDING_* wait.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any, TypeVar

from oslo_log import log as logging
from oslo_utils import uuidutils

from flowstack import exceptions
from flowstack.clients import octavia as octavia_api
from flowstack.clients.octavia import (
    OctaviaConflict,
    OctaviaNotFound,
    OctaviaRequestError,
    OctaviaTransientError,
)
from flowstack.resources import base
from flowstack.schema import attributes
from flowstack.schema import properties as p

LOG = logging.getLogger(__name__)
T = TypeVar("T")

TAG_PREFIX = "flowstack:"
ACTIVE, ERROR, PENDING_DELETE = "ACTIVE", "ERROR", "PENDING_DELETE"
_CREATE, _DELETE = "CREATE", "DELETE"
#: Delete phases, in order (kept in ``data["delete_phase"]``).
_DRAIN, _DRAINING, _REMOVE, _REMOVING, _DONE = "drain", "draining", "remove", "removing", "done"
_PORT = p.Range(1, 65535)


class PoolMember(base.Resource):
    type_name = "OS::Octavia::PoolMember"
    description = "A member of an Octavia pool; drained before it is removed."
    create_polls = True
    delete_polls = True
    properties_schema = {
        "pool": p.Schema(p.Schema.STRING, "The pool to join, by name or id.", required=True),
        "address": p.Schema(
            p.Schema.STRING, "The member's IP address (e.g. a server's).", required=True
        ),
        "protocol_port": p.Schema(
            p.Schema.INTEGER, "The port the member serves on.", required=True, constraints=[_PORT]
        ),
        "weight": p.Schema(
            p.Schema.INTEGER,
            "Share of new connections relative to the other members; 0 sends none.",
            default=1,
            constraints=[p.Range(0, 256)],
        ),
        "subnet": p.Schema(
            p.Schema.STRING, "Id of the subnet the address is on (default: the VIP's)."
        ),
        "monitor_address": p.Schema(
            p.Schema.STRING, "Address health checks use instead of the member's."
        ),
        "monitor_port": p.Schema(
            p.Schema.INTEGER, "Port health checks use instead of the member's.", constraints=[_PORT]
        ),
        "admin_state_up": p.Schema(
            p.Schema.BOOLEAN, "Whether the member takes traffic.", default=True
        ),
        "tags": p.Schema(p.Schema.LIST, "Tags for the member.", schema=p.Schema(p.Schema.STRING)),
    }
    attributes_schema = {
        "address": attributes.Attribute("The member's IP address."),
        "pool_id": attributes.Attribute("Id of the member's pool."),
        "protocol_port": attributes.Attribute("The port the member serves on."),
        "weight": attributes.Attribute("The member's weight."),
        "operating_status": attributes.Attribute("Octavia's operating status of the member."),
        "provisioning_status": attributes.Attribute("Octavia's provisioning status."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._member: dict[str, Any] | None = None  # the ACTIVE member seen by the last poll

    @classmethod
    def check_properties(
        cls,
        values: dict[str, Any],
        path: str,
        resource_types: Any,
        custom_constraints: Any = None,
    ) -> list[Any]:
        """Addresses must be IP addresses (values known only at run time are checked then)."""
        errors = []
        for key in ("address", "monitor_address"):
            value = values.get(key)
            if isinstance(value, str) and not _is_ip(value):
                errors.append(
                    exceptions.TemplateError(f"{path}.{key}", f"{value!r} is not an IP address")
                )
        return errors

    # -- intent --------------------------------------------------------------------------

    def intent(self, properties: dict[str, Any]) -> dict[str, Any]:
        """Pool, address and port: what Octavia allows only once."""
        return {
            "pool": properties["pool"],
            "address": _normal_ip(properties["address"]),
            "protocol_port": properties["protocol_port"],
        }

    # -- create --------------------------------------------------------------------------

    def handle_create(self, properties: dict[str, Any]) -> None:
        """Resolve the pool and prepare the request; check_create_complete sends it."""
        intent = self.data.get("intent") or self.intent(properties)
        self.data["intent"] = intent
        if not _is_ip(intent["address"]):
            raise self._failure(_CREATE, f"address {intent['address']!r} is not an IP address")
        self.data["request"] = self._request(properties, intent)
        ref = intent["pool"]
        try:
            pool = self._retrying(
                lambda: self._octavia().find_pool(ref, ignore_missing=False),
                _CREATE,
                f"look up pool {ref!r}",
            )
        except (OctaviaNotFound, OctaviaConflict):
            raise self._failure(_CREATE, f"pool {ref!r} not found in Octavia") from None
        owners = [lb["id"] for lb in pool.loadbalancers or [] if lb.get("id")]
        if not owners:
            raise self._failure(_CREATE, f"pool {ref!r} ({pool.id}) has no load balancer")
        self.data["pool_id"] = str(pool.id)
        self.data["loadbalancer_id"] = str(owners[0])
        self.data.pop("busy_since", None)

    def _request(self, properties: dict[str, Any], intent: dict[str, Any]) -> dict[str, Any]:
        tags = [str(t) for t in properties.get("tags") or []]
        request: dict[str, Any] = {
            "name": f"{self.stack.name}-{self.name}"[:255],
            "address": intent["address"],
            "protocol_port": intent["protocol_port"],
            "weight": properties["weight"],
            "is_admin_state_up": properties["admin_state_up"],
            "tags": [*tags, self._tag()] if self._tag() not in tags else tags,
        }
        subnet = properties.get("subnet")
        if subnet:
            if not uuidutils.is_uuid_like(subnet):
                raise self._failure(
                    _CREATE, f"subnet {subnet!r}: give the subnet's id (names are not looked up)"
                )
            request["subnet_id"] = subnet
        if properties.get("monitor_address"):
            request["monitor_address"] = _normal_ip(properties["monitor_address"])
        if properties.get("monitor_port"):
            request["monitor_port"] = properties["monitor_port"]
        return request

    def check_create_complete(self) -> bool:
        if not self.physical_id:
            if not self._load_balancer_active():
                return False
            if not self._place():
                return False
        return self._provisioned()

    def _load_balancer_active(self) -> bool:
        lb_id = self.data["loadbalancer_id"]
        try:
            lb = self._load_balancer(_CREATE)
        except (OctaviaNotFound, OctaviaConflict) as exc:
            raise self._failure(_CREATE, f"load balancer {lb_id} is gone: {exc.detail}") from exc
        state = lb.provisioning_status
        if state == ACTIVE:
            self.data.pop("busy_since", None)
            return True
        if state == ERROR:
            raise self._failure(_CREATE, f"load balancer {lb_id} is in ERROR")
        self._still_busy(_CREATE, f"load balancer {lb_id} is {state}")
        return False

    def _place(self) -> bool:
        """Adopt the member, else create it; False to try again at the next poll."""
        settings = self._settings
        last: octavia_api.OctaviaError | None = None
        for attempt in range(settings.api_retries + 1):
            if attempt:
                time.sleep(settings.backoff(attempt - 1))
            try:
                found = self._existing()
                if found is not None:
                    return self._adopt(found)
                self._create()
                return True
            except OctaviaConflict as exc:
                if exc.immutable:  # the load balancer became busy since we looked
                    self._still_busy(
                        _CREATE, f"load balancer {self.data['loadbalancer_id']} is busy"
                    )
                    return False
                last = exc  # a duplicate: the next attempt's lookup adopts it
            except OctaviaTransientError as exc:
                last = exc
                LOG.warning("Adding member %s failed transiently: %s", self._label(), exc)
            except OctaviaNotFound as exc:
                raise self._failure(
                    _CREATE, f"pool {self.data['pool_id']} is gone: {exc.detail}"
                ) from exc
            except OctaviaRequestError as exc:
                raise self._failure(
                    _CREATE, f"Octavia refused to add member {self._label()}: {exc}"
                ) from exc
        raise self._failure(
            _CREATE,
            f"could not add member {self._label()}: {last} "
            f"(gave up after {settings.api_retries + 1} attempts)",
        ) from last

    def _adopt(self, member: dict[str, Any]) -> bool:
        if member.get("provisioning_status") == PENDING_DELETE:
            # Someone is removing a member with this address and port: wait until it is gone.
            self._still_busy(_CREATE, f"member {member['id']} ({self._label()}) is being deleted")
            return False
        if self.physical_id != member["id"]:
            LOG.info("Adopting member %s (%s) for %s", member["id"], self._label(), self.name)
        self.physical_id = member["id"]
        self.data.setdefault("requested_at", time.time())
        return True

    def _create(self) -> None:
        request = self.data["request"]
        LOG.info(
            "Adding member %s to pool %s for resource %s of stack %s",
            self._label(),
            self.data["pool_id"],
            self.name,
            self.stack.id,
        )
        self.guard()  # a runner taken over while it got here must not add the member
        with octavia_api.translated():
            member = self._octavia().create_member(self.data["pool_id"], **request)
        self.physical_id = str(member.id)
        self.data["requested_at"] = time.time()

    def _provisioned(self) -> bool:
        try:
            member = self._retrying(self._show, _CREATE, f"read member {self.physical_id}")
        except (OctaviaNotFound, OctaviaConflict):
            raise self._failure(
                _CREATE,
                f"member {self.physical_id} ({self._label()}) disappeared while being "
                "created (deleted outside flowstack?)",
            ) from None
        state = member.get("provisioning_status")
        if state == ACTIVE:
            self.data["in_service"] = True
            self._member = member
            return True
        if state == ERROR:
            raise self._failure(
                _CREATE,
                f"member {self.physical_id} ({self._label()}) went to provisioning_status ERROR "
                f"(operating_status {member.get('operating_status')})",
            )
        waited = time.time() - self.data.get("requested_at", time.time())
        if waited > self._settings.provisioning_timeout:
            raise self._failure(
                _CREATE,
                f"member {self.physical_id} still {state} after {waited:.0f} s "
                f"([octavia] provisioning_timeout is {self._settings.provisioning_timeout:g} s)",
            )
        return False

    # -- delete --------------------------------------------------------------------------

    def handle_delete(self) -> None:
        """Find the member; check_delete_complete drains and removes it."""
        self._member = None
        self.data.pop("busy_since", None)
        member = self._current() if self.data.get("pool_id") else None
        if member is None:  # gone already, or never created
            self.data["delete_phase"] = _DONE
            return
        self.physical_id = member["id"]
        if not self.data.get("in_service") or self._settings.drain_timeout <= 0:
            self.data["delete_phase"] = _REMOVE
        elif "drain_started_at" in self.data:  # a repeated delete keeps its drain clock
            self.data["delete_phase"] = _DRAINING
        else:
            self.data["delete_phase"] = _DRAIN

    def _current(self) -> dict[str, Any] | None:
        """The member by its id, else the one carrying this resource's tag; None if gone."""

        def lookup() -> dict[str, Any] | None:
            if self.physical_id:
                try:
                    return self._show()
                except OctaviaNotFound:
                    return None
            found = self._existing()
            return found if found is not None and self._tag() in found.get("tags", []) else None

        try:
            return self._retrying(lookup, _DELETE, "look up the member")
        except (OctaviaNotFound, OctaviaConflict):  # the pool is gone, and its members with it
            return None

    def check_delete_complete(self) -> bool:
        steps: dict[str, Callable[[], bool]] = {
            _DRAIN: self._drain,
            _DRAINING: self._drained,
            _REMOVE: self._remove,
            _REMOVING: self._removed,
        }
        while (phase := self.data.get("delete_phase", _DONE)) != _DONE:
            if not steps[phase]():
                return False
        return True

    def _drain(self) -> bool:
        try:
            self._retrying(
                lambda: self._update(weight=0), _DELETE, f"set member {self.physical_id}'s weight"
            )
        except OctaviaNotFound:
            return self._phase(_DONE)
        except OctaviaConflict as exc:
            return self._blocked(exc)
        LOG.info("Draining member %s of resource %s", self.physical_id, self.name)
        self.data["drain_started_at"] = time.time()
        return self._phase(_DRAINING)

    def _drained(self) -> bool:
        waited = time.time() - self.data["drain_started_at"]
        if waited < self._settings.drain_timeout:
            return False
        return self._phase(_REMOVE)

    def _remove(self) -> bool:
        try:
            self._retrying(self._delete_once, _DELETE, f"delete member {self.physical_id}")
        except OctaviaNotFound:
            return self._phase(_DONE)
        except OctaviaConflict as exc:
            return self._blocked(exc)
        self.data["delete_requested_at"] = time.time()
        return self._phase(_REMOVING)

    def _removed(self) -> bool:
        try:
            member = self._retrying(self._show, _DELETE, f"read member {self.physical_id}")
        except (OctaviaNotFound, OctaviaConflict):
            return self._phase(_DONE)
        state = member.get("provisioning_status")
        if state == ERROR:
            raise self._failure(_DELETE, f"member {self.physical_id} went to ERROR while deleted")
        if state != PENDING_DELETE:  # the delete did not take: ask again at the next poll
            self._phase(_REMOVE)
            return False
        waited = time.time() - self.data.get("delete_requested_at", time.time())
        if waited > self._settings.provisioning_timeout:
            raise self._failure(
                _DELETE,
                f"member {self.physical_id} still {state} after {waited:.0f} s "
                f"([octavia] provisioning_timeout is {self._settings.provisioning_timeout:g} s)",
            )
        return False

    def _blocked(self, conflict: OctaviaConflict) -> bool:
        """A 409 while deleting: wait for a busy load balancer, fail on one in ERROR."""
        if not conflict.immutable:
            raise self._failure(_DELETE, f"Octavia refused to change member: {conflict}")
        lb_id = self.data["loadbalancer_id"]
        try:
            lb = self._load_balancer(_DELETE)
        except (OctaviaNotFound, OctaviaConflict):
            return self._phase(_DONE)  # the load balancer went, with its members
        if lb.provisioning_status == ERROR:
            raise self._failure(
                _DELETE,
                f"load balancer {lb_id} is in ERROR: member {self.physical_id} cannot be removed",
            )
        self._still_busy(_DELETE, f"load balancer {lb_id} is {lb.provisioning_status}")
        return False

    def _phase(self, phase: str) -> bool:
        self.data["delete_phase"] = phase
        self.data.pop("busy_since", None)
        return True

    # -- health and attributes -----------------------------------------------------------

    def health(self) -> str | None:
        try:
            member = self._show()
        except OctaviaNotFound:
            return f"member {self.physical_id} ({self._label()}) is gone from the pool"
        if member.get("provisioning_status") == ERROR:
            return f"member {self.physical_id} ({self._label()}) is in provisioning_status ERROR"
        return None

    def attributes(self) -> dict[str, Any]:
        member = self._member
        if member is None:
            member = self._retrying(self._show, _CREATE, "read the member")
        return {
            "address": member.get("address"),
            "pool_id": self.data.get("pool_id"),
            "protocol_port": member.get("protocol_port"),
            "weight": member.get("weight"),
            "operating_status": member.get("operating_status"),
            "provisioning_status": member.get("provisioning_status"),
            attributes.SHOW: member,
        }

    # -- helpers -------------------------------------------------------------------------

    @property
    def _settings(self) -> Any:
        return self.clients.octavia_settings

    def _octavia(self) -> Any:
        return self.clients.octavia()

    def _tag(self) -> str:
        return f"{TAG_PREFIX}{self.stack.id}:{self.name}"[:255]

    def _label(self) -> str:
        intent = self.data.get("intent") or {}
        return f"{intent.get('address')}:{intent.get('protocol_port')}"

    def _show(self) -> dict[str, Any]:
        if not self.physical_id or not self.data.get("pool_id"):
            raise OctaviaNotFound("no member id recorded")
        with octavia_api.translated():
            return _document(self._octavia().get_member(self.physical_id, self.data["pool_id"]))

    def _existing(self) -> dict[str, Any] | None:
        """The pool's member with the intent's address and port, if there is one."""
        intent = self.data["intent"]
        wanted = (intent["address"], intent["protocol_port"])
        with octavia_api.translated():
            members = self._octavia().members(
                self.data["pool_id"], address=wanted[0], protocol_port=wanted[1]
            )
            found = [_document(m) for m in members]
        return next((m for m in found if (m["address"], m["protocol_port"]) == wanted), None)

    def _update(self, **changes: Any) -> None:
        self.guard()
        with octavia_api.translated():
            self._octavia().update_member(self.physical_id, self.data["pool_id"], **changes)

    def _delete_once(self) -> None:
        self.guard()
        with octavia_api.translated():
            self._octavia().delete_member(
                self.physical_id, self.data["pool_id"], ignore_missing=False
            )

    def _still_busy(self, action: str, what: str) -> None:
        """Count how long a PENDING_* wait lasts; fail past provisioning_timeout."""
        since = self.data.setdefault("busy_since", time.time())
        waited = time.time() - since
        if waited > self._settings.provisioning_timeout:
            raise self._failure(
                action,
                f"{what} after waiting {waited:.0f} s "
                f"([octavia] provisioning_timeout is {self._settings.provisioning_timeout:g} s)",
            )

    def _load_balancer(self, action: str) -> Any:
        """The member's load balancer as Octavia has it now (404 and 409 raised as they are)."""
        lb_id = self.data["loadbalancer_id"]
        return self._retrying(
            lambda: self._octavia().get_load_balancer(lb_id), action, f"read load balancer {lb_id}"
        )

    def _retrying(self, call: Callable[[], T], action: str, what: str) -> T:
        """``call`` with transient errors retried; 404 and 409 are the caller's to judge."""
        settings = self._settings
        last: octavia_api.OctaviaError | None = None
        for attempt in range(settings.api_retries + 1):
            if attempt:
                time.sleep(settings.backoff(attempt - 1))
            try:
                with octavia_api.translated():
                    return call()
            except OctaviaTransientError as exc:
                last = exc
                LOG.warning("Octavia call to %s failed transiently: %s", what, exc)
            except (OctaviaNotFound, OctaviaConflict):
                raise
            except OctaviaRequestError as exc:
                raise self._failure(action, f"could not {what}: {exc}") from exc
        raise self._failure(
            action,
            f"could not {what}: {last} (gave up after {settings.api_retries + 1} attempts)",
        ) from last

    def _failure(self, action: str, reason: str) -> exceptions.ResourceFailure:
        return exceptions.ResourceFailure(resource=self.name, action=action, reason=reason)


def _is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _normal_ip(value: Any) -> Any:
    """Octavia's spelling of an address (``::1`` for ``0::1``), so lookups match."""
    return str(ipaddress.ip_address(value)) if _is_ip(value) else value


def _document(member: Any) -> dict[str, Any]:
    info = member.to_dict(computed=False, original_names=True)
    info.pop("location", None)
    return info
