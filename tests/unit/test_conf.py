"""Configuration: the embedded default, and the sample file's completeness."""

from __future__ import annotations

from pathlib import Path

from oslo_config import cfg
from oslo_messaging import opts as messaging_opts

from flowstack import conf as flowstack_conf
from flowstack.conf import loading, opts, rpc


def test_no_config_file_means_the_embedded_default(tmp_path: Path) -> None:
    conf = loading.load([], config_files=[], state_path=str(tmp_path))
    assert conf.database.connection == f"sqlite:///{tmp_path}/flowstack.sqlite"
    assert conf.state_path == str(tmp_path)


def test_a_config_file_overrides_the_database(tmp_path: Path) -> None:
    config = tmp_path / "flowstack.conf"
    config.write_text("[database]\nconnection = mysql+pymysql://u@db/flowstack\n")
    conf = loading.load([], config_files=[str(config)], state_path=str(tmp_path))
    assert conf.database.connection == "mysql+pymysql://u@db/flowstack"


def test_every_registered_option_is_in_the_sample() -> None:
    """list_opts feeds `tox -e genconfig`; an option missing there is undocumented."""
    conf = cfg.ConfigOpts()
    flowstack_conf.register_opts(conf)
    listed = {
        (group if isinstance(group, str) or group is None else group.name, opt.dest)
        for group, options in opts.list_opts()
        for opt in options
    }
    builtin = set(cfg.ConfigOpts())  # oslo.config's own, e.g. config_source
    registered = {
        (None, name)
        for name in conf
        if name not in builtin and not isinstance(conf[name], cfg.ConfigOpts.GroupAttr)
    }
    for group_name in conf:
        group = conf[group_name]
        if isinstance(group, cfg.ConfigOpts.GroupAttr) and group_name not in (
            "database",
            # oslo.messaging's, registered by flowstack.conf.rpc
            rpc.TRACING_GROUP,
            rpc.METRICS_GROUP,
        ):
            registered |= {(group_name, name) for name in group}
    # oslo.messaging's [DEFAULT] options (transport_url...) come from its own
    # namespace in the sample, like oslo.db's [database].
    messaging = {
        (None, opt.dest)
        for group, options in messaging_opts.list_opts()
        if group is None
        for opt in options
    }
    # keystoneauth registers its deprecated [nova] interface option (replaced
    # by valid_interfaces); the sample leaves deprecated options out.
    assert registered - messaging - {("nova", "interface")} <= listed


def test_overrides_do_not_leak_between_configurations(tmp_path: Path) -> None:
    first = loading.load([], config_files=[], state_path=str(tmp_path))
    first.set_override("max_workers", 3, group="engine")
    second = loading.load([], config_files=[], state_path=str(tmp_path))
    assert first.engine.max_workers == 3
    assert second.engine.max_workers == 64


def test_a_transport_counts_as_configured_only_when_set(tmp_path: Path) -> None:
    """oslo.messaging defaults transport_url to rabbit://: that is not a deployment."""
    assert not rpc.transport_configured(loading.load([], config_files=[]))
    config = tmp_path / "flowstack.conf"
    config.write_text("[DEFAULT]\ntransport_url = rabbit://guest:guest@127.0.0.1:5672/\n")
    assert rpc.transport_configured(loading.load([], config_files=[str(config)]))


def test_the_rpc_options_default_to_the_rpc_api_address() -> None:
    from flowstack import rpc
    from flowstack.conf import rpc as rpc_conf

    assert (rpc_conf.EXCHANGE, rpc_conf.TOPIC) == (rpc.EXCHANGE, rpc.TOPIC)
