"""``flowstack flow resume|retry|revert|cancel|skip``: repair flows while the service runs."""

from __future__ import annotations

import argparse
import json
from typing import Any

from cliff import show

from flowstack import exceptions
from flowstack.cli import progress

COLUMNS = ("id", "stack_id", "operation", "state", "owner", "epoch", "attempts", "cancel_requested")


#: The stack action a flow's progress is counted in, by the flow's operation.
_ACTIONS = {"create": "CREATE", "delete": "DELETE", "rollback": "DELETE", "converge": "UPDATE"}


class _FlowVerb(show.ShowOne):
    verb = ""
    #: The verb sets the flow going again (its progress can be followed).
    restarts = True

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("flow", metavar="FLOW", help="Flow id (see `flowstack flow list`)")
        if self.restarts:
            parser.add_argument(
                "--wait",
                action="store_true",
                help="Show live progress until the flow's stack settles (always, when "
                "flows run in this process)",
            )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        client = self.app.client
        follow = self.restarts and (parsed_args.wait or client.runs_flows_here)
        if follow:
            before = client.show_flow(parsed_args.flow)
            since = progress.last_event_id(client, before["stack_id"])
        flow = self.call(parsed_args)
        if follow:
            # Progress to stderr, like --wait of stack create (stdout stays parseable).
            action = _ACTIONS.get(flow["operation"], "CREATE")
            progress.follow(client, flow["stack_id"], action, self.app.stderr, since=since)
            flow = {**flow, **_state(client.show_flow(flow["id"]))}
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


def _state(flow: dict[str, Any]) -> dict[str, Any]:
    return {key: flow[key] for key in ("state", "owner", "epoch", "attempts") if key in flow}


class SkipStep(_FlowVerb):
    """Mark a step done by hand, for a resource fixed outside flowstack."""

    restarts = False

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
