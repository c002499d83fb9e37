"""flowstack's own processes run on threads: eventlet is kept out of them.

eventlet is installed as a dependency of oslo.service (pulled in by
oslo.messaging), and libraries such as TaskFlow probe for it and change
their defaults when it imports.  :func:`enforce` blocks importing it for
the whole process, before any of those libraries load, and makes oslo.service
choose its threading backend (cotyledon, from ``oslo.service[threading]``)
unless the process chose one already.

Only flowstack's entry points call it (``flowstack.cmd``, the ``flowstack``
command, the WSGI application, the test suite): a service that imports
:mod:`flowstack.rpc.client` keeps its own choice.
"""

from __future__ import annotations

import sys


def enforce() -> None:
    """Block eventlet in this process and default oslo.service to threads."""
    sys.modules.setdefault("eventlet", None)  # type: ignore[arg-type]

    from oslo_service import backend

    if backend.get_backend_type() is None:
        backend.register_backend_default_hook(lambda: backend.BackendType.THREADING)
