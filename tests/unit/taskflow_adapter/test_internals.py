"""The TaskFlow internals the adapter relies on still have the shape it expects."""

from __future__ import annotations

import configparser
import pathlib
from importlib import metadata

import pytest
from taskflow.engines.action_engine import selector

from flowstack import exceptions, taskflow_adapter

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_the_installed_taskflow_fits_every_internal_the_adapter_uses() -> None:
    assert taskflow_adapter.problems() == []
    taskflow_adapter.verify()


def test_a_changed_internal_stops_flowstack_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def renamed(self: object, node: object = None) -> None:  # an upstream refactoring
        """Same job, another argument name."""

    monkeypatch.setattr(selector.Selector, "_browse_atoms_for_execute", renamed)
    with pytest.raises(exceptions.TaskFlowIncompatible) as caught:
        taskflow_adapter.verify()
    message = str(caught.value)
    assert f"TaskFlow {metadata.version('taskflow')} changed internals" in message
    assert "_browse_atoms_for_execute" in message
    assert "flowstack.taskflow_adapter.engine" in message
    assert f"taskflow{taskflow_adapter.SUPPORTED}" in message


def test_the_supported_range_is_the_one_the_package_declares() -> None:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    requirements = setup["options"]["install_requires"].split("\n")
    assert f"taskflow{taskflow_adapter.SUPPORTED}" in [r.strip() for r in requirements]
