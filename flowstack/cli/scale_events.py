"""``flowstack scale-event list|show``, and what every scaling request answers with.

A request to scale (``group resize``, ``policy execute``, a webhook) returns
a receipt at once; the scale event behind it settles later, when its flow
ends.  ``--wait`` polls that event, which works the same embedded and over RPC.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, TextIO

from cliff import lister, show

from flowstack.cli import args
from flowstack.cli.flows import TEXT_FORMATTERS, as_text, engine_call
from flowstack.rpc.payload import MAX_LIMIT

LIST_COLUMNS = (
    "receipt_id",
    "group",
    "policy",
    "source",
    "status",
    "desired_before",
    "desired_after",
    "flow_id",
    "received_at",
    "reason",
)
#: A scale event in one of these states changes no more.
SETTLED = frozenset({"COMPLETE", "FAILED", "REFUSED", "NOOP"})
#: Settled states that mean the group did not get what was asked (exit 1 with --wait).
UNSUCCESSFUL = frozenset({"FAILED", "REFUSED"})
WAIT_TIMEOUT_SECS = 3600.0
POLL_SECS = 0.5


def record(values: dict[str, Any], formatter: str) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """A ShowOne result: nested values as text for people, as they are for machines."""
    if formatter in TEXT_FORMATTERS:
        values = {key: as_text(value) for key, value in values.items()}
    columns = tuple(values)
    return columns, tuple(values[c] for c in columns)


def event_record(event: dict[str, Any], formatter: str) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """A scale event for ShowOne: its decision steps one per line in a table."""
    if formatter in TEXT_FORMATTERS:
        event = {**event, "steps": "\n".join(str(step) for step in event.get("steps") or [])}
    return record(event, formatter)


def wait_for_event(
    client: Any,
    receipt: str,
    out: TextIO,
    *,
    timeout: float = WAIT_TIMEOUT_SECS,
    interval: float = POLL_SECS,
) -> tuple[dict[str, Any], bool]:
    """Poll a scale event until it settles; the last look, and whether it settled.

    Each change of status is written to ``out`` (stderr: ``-f json`` stays
    parseable).  A timeout leaves the flow running where it runs.
    """
    deadline = time.monotonic() + timeout
    seen = None
    while True:
        event = client.show_scale_event(receipt)
        status = event["status"]
        if status != seen:
            out.write(f"scale event {receipt}: {status}\n")
            seen = status
        if status in SETTLED:
            return event, True
        if time.monotonic() >= deadline:
            return event, False
        time.sleep(interval)


class ScalingRequest(show.ShowOne):
    """A command that asks a group to scale and shows the receipt (or, with --wait, the event)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--idempotency-key",
            metavar="KEY",
            help="Asking again with the same KEY returns the first receipt instead of "
            "scaling twice",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Wait until the scale event settles and show it; exit non-zero if it "
            "FAILED or was REFUSED",
        )
        return parser

    def answer(
        self, receipt: dict[str, Any], parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        if not parsed_args.wait:
            return record(receipt, parsed_args.formatter)
        event, settled = wait_for_event(self.app.client, receipt["receipt_id"], self.app.stderr)
        if not settled:
            self.app.stderr.write(
                f"Scale event {receipt['receipt_id']} is still {event['status']} after "
                f"{WAIT_TIMEOUT_SECS:.0f}s; see `flowstack scale-event show "
                f"{receipt['receipt_id']}`\n"
            )
            self.app.exit_code = 1
        elif event["status"] in UNSUCCESSFUL:
            self.app.stderr.write(
                f"Scale event {receipt['receipt_id']} {event['status']}: {event['reason']}\n"
            )
            self.app.exit_code = 1
        return event_record(event, parsed_args.formatter)


class ListScaleEvents(lister.Lister):
    """List scale events, newest first: who asked, what was decided, how it ended."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--group",
            metavar="GROUP",
            help="Only this group's events (id, STACK/RESOURCE, or a unique resource name)",
        )
        parser.add_argument(
            "--limit",
            type=args.integer(1, MAX_LIMIT),
            default=50,
            metavar="N",
            help=f"At most N events (1 to {MAX_LIMIT}, default 50)",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        rows = engine_call(
            self.app, "list_scale_events", group=parsed_args.group, limit=parsed_args.limit
        )
        return LIST_COLUMNS, [tuple(r[c] for c in LIST_COLUMNS) for r in rows]


class ShowScaleEvent(show.ShowOne):
    """Show a scale event: its decision step by step, the flow that ran it, its details."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "receipt", metavar="RECEIPT", help="Receipt id (see `flowstack scale-event list`)"
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        event = engine_call(self.app, "show_scale_event", parsed_args.receipt)
        return event_record(event, parsed_args.formatter)
