"""Webhook bodies as Aodh and Prometheus Alertmanager send them."""

from __future__ import annotations

import copy
from typing import Any

AODH_ALARM: dict[str, Any] = {
    "alarm_name": "web-cpu-high",
    "alarm_id": "b5a8a6d2-3a65-4c2e-9a38-0f3c1a7a61f0",
    "severity": "moderate",
    "previous": "ok",
    "current": "alarm",
    "reason": "Transition to alarm due to 3 samples outside threshold, most recent: 91.5",
    "reason_data": {"type": "threshold", "disposition": "outside", "count": 3, "most_recent": 91.5},
}

ALERTMANAGER_FIRING: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}:{alertname="HighCPU"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "flowstack-scale-out",
    "groupLabels": {"alertname": "HighCPU"},
    "commonLabels": {"alertname": "HighCPU", "severity": "warning"},
    "commonAnnotations": {"summary": "CPU above 80% on the web tier"},
    "externalURL": "http://alertmanager.example:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighCPU", "instance": "web-1"},
            "annotations": {"summary": "CPU above 80%"},
            "startsAt": "2025-05-01T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph",
            "fingerprint": "4f1a2b3c4d5e6f70",
        },
        {
            "status": "firing",
            "labels": {"alertname": "HighCPU", "instance": "web-2"},
            "annotations": {"summary": "CPU above 80%"},
            "startsAt": "2025-05-01T10:00:30Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph",
            "fingerprint": "8a9b0c1d2e3f4051",
        },
    ],
}


def aodh(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(AODH_ALARM)
    body.update(changes)
    return body


def alertmanager(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(ALERTMANAGER_FIRING)
    body.update(changes)
    return body


def alertmanager_resolved() -> dict[str, Any]:
    body = alertmanager(status="resolved")
    for alert in body["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2025-05-01T10:20:00Z"
    return body
