"""``flowstack stack event list``."""

from __future__ import annotations

import argparse

from cliff import lister

COLUMNS = (
    "id",
    "event_time",
    "resource_name",
    "resource_status",
    "resource_status_reason",
    "physical_resource_id",
)


class ListEvents(lister.Lister):
    """List a stack's events, oldest first: every transition and why."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("stack", metavar="STACK", help="Stack name or id")
        parser.add_argument("--resource", metavar="NAME", help="Only this resource's events")
        parser.add_argument("--limit", type=int, metavar="N", help="Only the newest N events")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        rows = self.app.client.list_events(
            parsed_args.stack, resource_name=parsed_args.resource, limit=parsed_args.limit
        )
        return COLUMNS, [tuple(r[c] for c in COLUMNS) for r in rows]
