"""The [api] group: flowstack-api, the HTTP service that receives scaling webhooks."""

from oslo_config import cfg

GROUP_NAME = "api"


def _group() -> cfg.OptGroup:
    return cfg.OptGroup(GROUP_NAME, title="Webhook API (flowstack-api)")


OPTS = [
    cfg.HostAddressOpt(
        "bind_host",
        default="127.0.0.1",
        help="Address flowstack-api listens on. Put a TLS-terminating proxy in front of "
        "it: a webhook URL is a secret and must not travel in clear text.",
    ),
    cfg.PortOpt(
        "bind_port",
        default=8089,
        help="TCP port flowstack-api listens on (0: any free port, for tests).",
    ),
    cfg.URIOpt(
        "public_url",
        default="http://127.0.0.1:8089",
        schemes=["http", "https"],
        help="Base of the webhook URLs handed to users (the address monitoring reaches "
        "flowstack-api at, usually through the proxy): URLs are "
        "PUBLIC_URL/v1/webhooks/TOKEN.",
    ),
    cfg.IntOpt(
        "max_body_bytes",
        default=65536,
        min=0,
        help="Largest accepted request body; a larger one is refused with 413 before "
        "the engine is asked anything.",
    ),
    cfg.FloatOpt(
        "rate_limit_per_webhook",
        default=50.0,
        min=0.0,
        help="Requests per second one webhook may send, sustained (0 disables the "
        "limit); above it the API answers 429 with Retry-After.",
    ),
    cfg.IntOpt(
        "rate_limit_burst",
        default=100,
        min=1,
        help="Requests one webhook may send at once before rate_limit_per_webhook applies.",
    ),
    cfg.BoolOpt(
        "run_engine_in_process",
        default=False,
        help="Without a message bus (transport_url), run an engine inside flowstack-api "
        "itself, on its own database: a single-process setup for development and demos, "
        "said so loudly at start. Off, flowstack-api refuses to start without a bus, as "
        "flowstack-engine does.",
    ),
    cfg.IntOpt(
        "threads",
        default=16,
        min=1,
        help="Threads serving requests (waitress); each holds one engine call at a time.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(_group())
    conf.register_opts(OPTS, group=GROUP_NAME)


def list_opts() -> list:
    return [(_group(), OPTS)]
