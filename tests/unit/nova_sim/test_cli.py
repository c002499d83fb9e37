"""``flowstack-nova-sim``: options, config file, and a real foreground run."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flowstack.nova_sim import CIRROS_IMAGE_ID
from flowstack.nova_sim.cli import build_parser, load_config, main
from flowstack.nova_sim.errors import SimulatorConfigError

CONFIG = """
build_delay: 3
delete_delay: 2
flavors:
  - {id: "42", name: m1.nano, ram: 128, disk: 1, vcpus: 1}
networks:
  - {name: private, cidr: 10.1.0.0/26}
faults:
  seed: 5
  build_errors: [{every_nth: 10}]
"""


def test_command_line_overrides_the_config_file(tmp_path: Path) -> None:
    config_file = tmp_path / "sim.yaml"
    config_file.write_text(CONFIG)
    args = build_parser().parse_args(
        ["--config", str(config_file), "--build-delay", "0.5", "--port", "0"]
    )
    config = load_config(args)
    assert config.build_delay == 0.5
    assert config.delete_delay == 2.0
    assert config.port == 0
    assert [f.name for f in config.flavors] == ["m1.nano"]
    assert config.networks[0].cidr == "10.1.0.0/26"
    assert config.faults.build_errors[0].every_nth == 10


def test_json_config_and_defaults(tmp_path: Path) -> None:
    config_file = tmp_path / "sim.json"
    config_file.write_text('{"state_file": "/tmp/x.json"}')
    config = load_config(build_parser().parse_args(["--config", str(config_file)]))
    assert config.port == 8774
    assert config.state_file == "/tmp/x.json"
    assert [f.name for f in config.flavors][:2] == ["m1.tiny", "m1.small"]


def test_bad_config_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_file = tmp_path / "sim.yaml"
    config_file.write_text("build_dealy: 3\n")
    with pytest.raises(SimulatorConfigError, match="build_dealy"):
        load_config(build_parser().parse_args(["--config", str(config_file)]))
    assert main(["--config", str(config_file)]) == 2
    assert "build_dealy" in capsys.readouterr().err


def test_foreground_run_logs_one_line_per_request(tmp_path: Path, make_nova: Any) -> None:
    state_file = tmp_path / "state.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flowstack.nova_sim.cli",
            "--port",
            "0",
            "--build-delay",
            "0",
            "--state-file",
            str(state_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("compute endpoint: http://127.0.0.1:")
        endpoint = line.split(": ", 1)[1].strip()
        nova = make_nova(None, endpoint=endpoint, token="very-secret-token")
        server = nova.servers.create("from-cli", CIRROS_IMAGE_ID, "1")
        assert nova.servers.get(server.id).status == "ACTIVE"
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert '"POST /v2.1/servers" 202' in err
    assert f'"GET /v2.1/servers/{server.id}" 200' in err
    assert "very-secret-token" not in err
    assert "from-cli" in state_file.read_text()
