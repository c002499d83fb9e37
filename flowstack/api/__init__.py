"""flowstack-api: the HTTP edge that turns monitoring webhooks into scale signals.

A webhook URL is a capability: whoever holds its token may signal its
scaling policy, and nothing else. The API hashes the token on arrival and
hands the engine only the hash (:mod:`flowstack.autoscaling.webhook_tokens`); it never
logs the token or the URL path. Request bodies from Aodh and Prometheus
Alertmanager become an idempotency key and a few descriptive details
(:mod:`flowstack.api.bodies`); :mod:`flowstack.api.app` is the WSGI
application and :mod:`flowstack.api.wsgi` its entry point for WSGI servers.
"""
