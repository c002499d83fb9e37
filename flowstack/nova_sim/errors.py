"""Errors of the Nova simulator.

The simulator imports nothing of flowstack (it stands for a cloud, not for a
part of the service), so its errors are a tree of their own; the Compute,
Image and admin APIs turn :class:`ComputeError` subclasses into Nova-shaped
HTTP faults in :mod:`flowstack.nova_sim.compute_api` (and nowhere else), the
load-balancer API turns :class:`~flowstack.nova_sim.lb_core.LbError` into
Octavia's::

    SimulatorError
    ├── SimulatorConfigError          bad config file, constructor argument or fault rule
    ├── StateFileError                the state file cannot be read or written
    ├── LbError                       what Octavia would refuse (status, message)
    └── ComputeError                  what a Nova would refuse; mapped to 4xx/5xx
        ├── ServerNotFound        (404)
        ├── FlavorNotFound        (404 on show, 400 on create)
        ├── ImageNotFound         (404 on show, 400 on create)
        ├── KeypairNotFound       (404 on show/delete, 400 on create)
        ├── MetadataItemNotFound  (404)
        ├── MarkerNotFound        (400)
        ├── NetworkNotFound       (400)
        ├── BadRequest            (400) schema-like validation failures
        ├── InvalidAvailabilityZone (400)
        ├── FixedIpUnavailable    (400)
        ├── KeypairExists         (409)
        ├── NetworkAmbiguous      (409)
        ├── QuotaExceeded         (403)
        ├── PolicyNotAuthorized   (403) an admin-only request from a non-admin
        └── InjectedFault         an HTTP error asked for by a fault rule
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base of every error the simulator raises on purpose."""


class SimulatorConfigError(SimulatorError):
    """A simulator setting or fault rule is invalid; the message names it."""


class StateFileError(SimulatorError):
    """The simulator state file cannot be read or written."""


class ComputeError(SimulatorError):
    """Something a real Nova would refuse; the API edge maps it to a fault."""


class ServerNotFound(ComputeError):
    def __init__(self, server_id: str) -> None:
        self.server_id = server_id
        super().__init__(f"Instance {server_id} could not be found.")


class FlavorNotFound(ComputeError):
    def __init__(self, flavor_id: str) -> None:
        self.flavor_id = flavor_id
        super().__init__(f"Flavor {flavor_id} could not be found.")


class ImageNotFound(ComputeError):
    def __init__(self, image_id: str) -> None:
        self.image_id = image_id
        super().__init__(f"Image {image_id} could not be found.")


class KeypairNotFound(ComputeError):
    def __init__(self, name: str, user_id: str) -> None:
        self.name = name
        super().__init__(f"Keypair {name} not found for user {user_id}")


class MetadataItemNotFound(ComputeError):
    def __init__(self) -> None:
        super().__init__("Metadata item was not found")


class MarkerNotFound(ComputeError):
    def __init__(self, marker: str) -> None:
        self.marker = marker
        super().__init__(f"marker [{marker}] not found")


class NetworkNotFound(ComputeError):
    def __init__(self, network_id: str) -> None:
        super().__init__(f"Network {network_id} could not be found.")


class BadRequest(ComputeError):
    """The request body or query fails validation; the message is Nova's."""


class InvalidAvailabilityZone(ComputeError):
    def __init__(self) -> None:
        super().__init__("The requested availability zone is not available")


class FixedIpUnavailable(ComputeError):
    def __init__(self, address: str) -> None:
        super().__init__(f"Fixed IP address {address} is not available on this network.")


class KeypairExists(ComputeError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Key pair '{name}' already exists.")


class NetworkAmbiguous(ComputeError):
    def __init__(self) -> None:
        super().__init__("Multiple possible networks found, use a Network ID to be more specific.")


class QuotaExceeded(ComputeError):
    """Nova's ``TooManyInstances``: the body of the 403 it answers."""

    def __init__(self, resource: str, requested: int, used: int, allowed: int) -> None:
        self.resource = resource
        super().__init__(
            f"Quota exceeded for {resource}: Requested {requested}, "
            f"but already used {used} of {allowed} {resource}"
        )


class PolicyNotAuthorized(ComputeError):
    def __init__(self, message: str) -> None:
        super().__init__(message)


class InjectedFault(ComputeError):
    """An HTTP error that a fault rule asked for."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)
