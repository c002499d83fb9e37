"""``flowstack orphans list|delete|adopt``: servers and resources that lost each other."""

from __future__ import annotations

import argparse

from cliff import lister, show

from flowstack import exceptions
from flowstack.cli.flows import engine_call

COLUMNS = (
    "kind",
    "server_id",
    "server_name",
    "server_status",
    "stack_name",
    "resource",
    "reason",
)
DELETE_COLUMNS = ("server_id", "server_name", "stack_name", "resource", "result")
NONE_FOUND = (
    "No orphans: every server flowstack tagged belongs to a live stack, and every "
    "server a stack holds exists.\n"
)
#: Results that make the command fail: a server left in place, or a wrong name.
FAILED = ("failed", "not deleted")


class ListOrphans(lister.Lister):
    """List servers tagged by flowstack that no live resource holds, and resources
    whose server is missing from Nova."""

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        rows = engine_call(self.app, "list_orphans")
        if not rows and parsed_args.formatter == "table":
            # An empty table prints nothing: say what the silence means.
            self.app.stdout.write(NONE_FOUND)
        return COLUMNS, [tuple(r[c] for c in COLUMNS) for r in rows]


class DeleteOrphans(lister.Lister):
    """Delete orphaned servers and wait until they are gone (exit 1 if one is not)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "servers", nargs="*", metavar="SERVER_ID", help="Orphaned server(s) to delete"
        )
        parser.add_argument(
            "--all",
            dest="delete_all",
            action="store_true",
            help="Every orphaned server whose stack flowstack knows (see `orphans list`)",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        if not parsed_args.servers and not parsed_args.delete_all:
            raise exceptions.InvalidInput("orphans delete: name SERVER_ID(s), or give --all")
        reports = engine_call(
            self.app,
            "delete_orphans",
            parsed_args.servers,
            delete_all=parsed_args.delete_all,
        )
        if any(r["result"].startswith(FAILED) for r in reports):
            self.app.exit_code = 1
        return DELETE_COLUMNS, [tuple(r[c] for c in DELETE_COLUMNS) for r in reports]


class AdoptOrphan(show.ShowOne):
    """Give an orphaned server to its resource, when that resource has no server."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("server", metavar="SERVER_ID", help="The orphaned server")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        adopted = engine_call(self.app, "adopt_orphan", parsed_args.server)
        columns = tuple(adopted)
        return columns, tuple(adopted[c] for c in columns)
