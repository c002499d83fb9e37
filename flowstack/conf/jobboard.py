"""The [jobboard] group: where engines post flows and workers claim them."""

from oslo_config import cfg

GROUP_NAME = "jobboard"


def _group() -> cfg.OptGroup:
    # A new group per ConfigOpts (oslo.config shares a registered group's opts).
    return cfg.OptGroup(
        GROUP_NAME,
        title="Jobboard",
        help="Engines post each flow as a job here and workers claim them. Without a "
        "url, flows run inside the process that accepted them (the embedded default).",
    )


OPTS = [
    cfg.StrOpt(
        "url",
        secret=True,
        help="Jobboard location; the scheme chooses the backend. "
        "redis://[[user]:password@]host:6379[/db] (rediss:// for TLS; options ?ssl_ca_certs=, "
        "ssl_certfile=, ssl_keyfile=, ssl_cert_reqs=); Redis Sentinel: "
        "redis://[[user]:password@]sentinel1:26379[,sentinel2:26379][/db]?sentinel=MASTER "
        "(sentinel_fallback=, sentinel_username=, sentinel_password=, sentinel_ssl=); "
        "etcd://host:2379 (protocol=https, ca_cert=, cert_cert=, cert_key=); "
        "zookeeper://host1:2181[,host2:2181][/chroot]. Empty: no jobboard, flows run "
        "in-process.",
    ),
    cfg.StrOpt(
        "namespace",
        default="flowstack",
        help="Prefix of the jobboard's keys, so that deployments can share a server.",
    ),
    cfg.FloatOpt(
        "claim_expiry",
        default=30.0,
        min=1.0,
        help="Seconds a worker's claim on a job lasts unless renewed (Redis, etcd: "
        "rounded up to whole seconds), or the session timeout asked of ZooKeeper (which "
        "bounds it by its tickTime). A worker that dies loses its jobs to another worker "
        "after about this long.",
    ),
    cfg.FloatOpt(
        "connect_timeout",
        default=10.0,
        min=0.1,
        help="Seconds to wait for the jobboard's server when connecting, and for each "
        "of its answers. A worker or engine that cannot reach it at start says so and "
        "exits.",
    ),
    cfg.FloatOpt(
        "heartbeat_interval",
        default=5.0,
        min=0.1,
        help="Seconds between two renewals of a worker's claims (a time-based thread, "
        "so a long step does not let the claim lapse). Keep it well below claim_expiry. "
        "On ZooKeeper, where the session holds the claims, the same thread checks that "
        "they are still this worker's.",
    ),
    cfg.IntOpt(
        "max_attempts",
        default=3,
        min=1,
        help="Runs of one flow that failed in a worker (raised) after which it is "
        "quarantined: set aside with its failure history, its stack marked FAILED, "
        "instead of being tried again. A worker killed or cut off while running a flow "
        "is not a failed run.",
    ),
    cfg.IntOpt(
        "max_stalled_takeovers",
        default=10,
        min=1,
        help="Workers in a row that died while running one flow, with no step of it "
        "finished in between, after which the flow is quarantined as a crash loop "
        "(something in it kills its worker). Workers restarted while the flow makes "
        "progress never count.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(_group())
    conf.register_opts(OPTS, group=GROUP_NAME)


def list_opts() -> list:
    return [(_group(), OPTS)]
