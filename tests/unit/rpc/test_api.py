"""The RPC contract: both sides agree on the version, its history, methods and fields."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys

import pytest

from flowstack.rpc.client import EngineClient
from flowstack.rpc.manager import EngineManager

HISTORY_LINE = re.compile(r"^\s*\* (\d+\.\d+) - ", re.MULTILINE)


def _history(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    start = doc.index("RPC API version history")
    end = doc.find("\n\n", doc.index("* 1.0"))
    return doc[start : end if end != -1 else None]


def _rpc_methods(cls: type) -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in ("from_conf", "close")
    }


def test_client_and_manager_versions_agree() -> None:
    assert EngineClient.RPC_API_VERSION == EngineManager.RPC_API_VERSION
    assert EngineManager.target.version == EngineManager.RPC_API_VERSION


def test_the_history_is_the_same_on_both_sides_and_ends_at_the_version() -> None:
    client, manager = _history(EngineClient), _history(EngineManager)
    assert client.replace("EngineManager", "X") == manager.replace("EngineClient", "X")
    versions = HISTORY_LINE.findall(client)
    assert versions, client
    assert versions[-1] == EngineClient.RPC_API_VERSION
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))))


def test_every_call_has_an_endpoint_and_the_same_fields() -> None:
    assert _rpc_methods(EngineClient) == _rpc_methods(EngineManager)
    for name in _rpc_methods(EngineManager):
        sent = list(inspect.signature(getattr(EngineClient, name)).parameters)[2:]  # self, ctx
        declared = getattr(EngineManager, name).rpc_fields
        assert sorted(sent) == sorted(declared), name


def test_only_decorated_methods_are_exposed() -> None:
    exposed = {
        name
        for name, member in inspect.getmembers(EngineManager, inspect.isfunction)
        if getattr(member, "exposed", False)
    }
    assert exposed == _rpc_methods(EngineManager)


def test_the_client_module_imports_no_engine_code() -> None:
    """Other services import EngineClient: it must not drag the engine, flows or DB in."""
    probe = (
        "import sys, flowstack.rpc.client; "
        "print(' '.join(m for m in sys.modules if m.split('.')[0] in "
        "('flowstack', 'flows', 'taskflow', 'sqlalchemy', 'oslo_db', 'novaclient')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert set(result.stdout.split()) == {
        "flowstack",
        "flowstack.context",
        "flowstack.exceptions",
        "flowstack.rpc",
        "flowstack.rpc.client",
        "flowstack.rpc.serializer",
    }


def test_importing_the_client_leaves_the_host_process_alone() -> None:
    """A service that imports EngineClient keeps its own choice about eventlet."""
    probe = "import flowstack.rpc.client, eventlet; print(eventlet.__name__)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["eventlet"]


@pytest.mark.parametrize("entry_point", ["flowstack.cmd.engine", "flowstack.cli.app"])
def test_flowstack_own_processes_refuse_eventlet(entry_point: str) -> None:
    probe = f"import {entry_point}\ntry:\n    import eventlet\nexcept ImportError:\n    print('no')"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["no"]  # eventlet cannot be imported
