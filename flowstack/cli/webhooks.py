"""``flowstack webhook list|show``: the scaling policies' webhooks, never their URLs.

A webhook's URL is a capability: flowstack keeps only its token's hash and
shows a fingerprint (the hash's first characters) to tell webhooks apart.
"""

from __future__ import annotations

import argparse

from cliff import lister, show

from flowstack.cli.flows import engine_call
from flowstack.cli.scale_events import record

LIST_COLUMNS = (
    "id",
    "stack_name",
    "policy",
    "group_id",
    "enabled",
    "fingerprint",
    "created_at",
    "last_used_at",
)


class ListWebhooks(lister.Lister):
    """List webhooks: their policy, group, fingerprint and last use."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--stack", metavar="STACK", help="Only this stack's webhooks (name or id)"
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        rows = engine_call(self.app, "list_webhooks", stack=parsed_args.stack)
        return LIST_COLUMNS, [tuple(r[c] for c in LIST_COLUMNS) for r in rows]


class ShowWebhook(show.ShowOne):
    """Show a webhook and where its owner finds the URL."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "webhook", metavar="WEBHOOK", help="Webhook id (see `flowstack webhook list`)"
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        webhook = engine_call(self.app, "show_webhook", parsed_args.webhook)
        return record(webhook, parsed_args.formatter)
