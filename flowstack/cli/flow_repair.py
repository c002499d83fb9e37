"""``flowstack flow resume|retry|revert|cancel|skip``: repair flows while the service runs."""

from __future__ import annotations

import argparse
import json
from typing import Any

from cliff import show

from flowstack import exceptions

COLUMNS = ("id", "stack_id", "operation", "state", "owner", "epoch", "attempts", "cancel_requested")


class _FlowVerb(show.ShowOne):
    verb = ""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("flow", metavar="FLOW", help="Flow id (see `flowstack flow list`)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        flow = self.call(parsed_args)
        return COLUMNS, tuple(flow.get(c) for c in COLUMNS)

    def call(self, parsed_args: argparse.Namespace) -> dict[str, Any]:
        return getattr(self.app.client, f"{self.verb}_flow")(parsed_args.flow)


class ResumeFlow(_FlowVerb):
    """Post again a flow that is pending, stuck without a live owner, or quarantined."""

    verb = "resume"


class RetryFlow(_FlowVerb):
    """Run a failed flow again; what already succeeded is kept, not redone."""

    verb = "retry"


class RevertFlow(_FlowVerb):
    """Roll back a failed (or abandoned) create: remove what it left."""

    verb = "revert"


class CancelFlow(_FlowVerb):
    """Stop a running flow at its next step and roll it back."""

    verb = "cancel"


class SkipStep(_FlowVerb):
    """Mark a step done by hand, for a resource fixed outside flowstack."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("step", metavar="STEP", help="Step (create:web) or resource name")
        parser.add_argument(
            "--result",
            metavar="JSON",
            help='What the operator made, e.g. \'{"id": "<server id>", "attributes": {...}}\'',
        )
        return parser

    def call(self, parsed_args: argparse.Namespace) -> dict[str, Any]:
        try:
            result = json.loads(parsed_args.result) if parsed_args.result else None
        except json.JSONDecodeError as exc:
            raise exceptions.InvalidInput(f"--result is not valid JSON: {exc}") from None
        return self.app.client.skip_step(parsed_args.flow, parsed_args.step, result)
