"""The webhook API for WSGI servers other than ``flowstack-api``'s own waitress.

``application`` is built when this module is imported, from the default
configuration files (oslo.config's search: ``/etc/flowstack/flowstack.conf``
and its neighbours), or from ``OS_FLOWSTACK_CONFIG_FILES`` (paths separated by
``;``) when set.  For example::

    gunicorn --workers 2 --threads 16 --bind 127.0.0.1:8089 flowstack.api.wsgi:application
    uwsgi --http-socket 127.0.0.1:8089 --threads 16 --module flowstack.api.wsgi:application

or, with Apache mod_wsgi::

    WSGIDaemonProcess flowstack-api threads=16
    WSGIScriptAlias / /path/to/site-packages/flowstack/api/wsgi.py
    WSGIApplicationGroup %{GLOBAL}

Run it with a message bus configured (``transport_url``), so that the
engine and its flows run in flowstack-engine and the workers: without one,
each server process would run an embedded engine of its own.  The
``[api]`` options apply except ``bind_host``, ``bind_port`` and ``threads``,
which belong to the server.  Rate limits are per process.
"""

from __future__ import annotations

from flowstack import threads_only

threads_only.enforce()  # before the libraries below probe for eventlet

import os  # noqa: E402

from oslo_log import log as logging  # noqa: E402

from flowstack.api import backend, log_handoff  # noqa: E402
from flowstack.api.app import WebhookApp, make_app  # noqa: E402
from flowstack.conf import loading  # noqa: E402

PROJECT = "flowstack"
CONFIG_FILES_ENV = "OS_FLOWSTACK_CONFIG_FILES"


def build() -> WebhookApp:
    """The application from the environment's configuration (logging set up too)."""
    files = [f for f in os.environ.get(CONFIG_FILES_ENV, "").split(";") if f.strip()]
    conf = loading.load([], config_files=files or None)
    logging.setup(conf, PROJECT)
    log_handoff.hand_off()  # for the life of the process, as the engine's signal
    signal, _close = backend.engine_signal(conf)  # lives as long as the process
    return make_app(signal, conf)


application = build()
