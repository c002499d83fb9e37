"""flowstack: orchestration and autoscaling on persisted, revertible TaskFlow graphs.

flowstack runs on threads only.  eventlet is installed as a dependency of
oslo.service (pulled in by oslo.messaging), and libraries such as TaskFlow
probe for it and change their defaults when it imports; so importing it is
blocked here for the whole process, before any of those libraries load.

oslo.messaging imports oslo.service, whose default backend is eventlet; unless
the process chose a backend already, the threading one (cotyledon, from
``oslo.service[threading]``) becomes the default.
"""

import sys

sys.modules.setdefault("eventlet", None)  # type: ignore[arg-type]

from oslo_service import backend as _service_backend  # noqa: E402

if _service_backend.get_backend_type() is None:
    _service_backend.register_backend_default_hook(lambda: _service_backend.BackendType.THREADING)
