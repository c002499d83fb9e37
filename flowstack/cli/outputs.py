"""``flowstack stack output show``."""

from __future__ import annotations

import argparse

from cliff import lister

from flowstack import exceptions

COLUMNS = ("output_key", "output_value", "description", "output_error")


class ShowOutput(lister.Lister):
    """Show one output of a stack, or all of them with --all."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("stack", metavar="STACK", help="Stack name or id")
        parser.add_argument("output", nargs="?", metavar="OUTPUT", help="Output name")
        parser.add_argument("--all", action="store_true", help="Show every output")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        if bool(parsed_args.all) == bool(parsed_args.output):
            raise exceptions.InvalidInput("give either an OUTPUT name or --all")
        rows = self.app.client.show_output(
            parsed_args.stack, None if parsed_args.all else parsed_args.output
        )
        return COLUMNS, [tuple(r.get(c) for c in COLUMNS) for r in rows]
