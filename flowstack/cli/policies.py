"""``flowstack policy execute``: run a scaling policy by hand, as its webhook would."""

from __future__ import annotations

import argparse

from flowstack.cli.flows import engine_call
from flowstack.cli.scale_events import ScalingRequest


class ExecutePolicy(ScalingRequest):
    """Apply a scaling policy's adjustment to its group once (cooldowns still apply)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("stack", metavar="STACK", help="Stack name or id")
        parser.add_argument(
            "policy", metavar="POLICY", help="The ScalingPolicy's resource name in STACK, or its id"
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        receipt = engine_call(
            self.app,
            "execute_policy",
            parsed_args.stack,
            parsed_args.policy,
            idempotency_key=parsed_args.idempotency_key,
        )
        return self.answer(receipt, parsed_args)
