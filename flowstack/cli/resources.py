"""``flowstack stack resource list``."""

from __future__ import annotations

import argparse

from cliff import lister

COLUMNS = (
    "resource_name",
    "physical_resource_id",
    "resource_type",
    "resource_status",
    "resource_status_reason",
    "updated_time",
)


class ListResources(lister.Lister):
    """List the resources of a stack with their status."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("stack", metavar="STACK", help="Stack name or id")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        rows = self.app.client.list_resources(parsed_args.stack)
        return COLUMNS, [tuple(r[c] for c in COLUMNS) for r in rows]
