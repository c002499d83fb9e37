"""``flowstack stack create|list|show|delete``."""

from __future__ import annotations

import argparse
from typing import Any

from cliff import command, lister, show

from flowstack.cli import args, progress

STACK_COLUMNS = (
    "id",
    "stack_name",
    "stack_status",
    "stack_status_reason",
    "creation_time",
    "updated_time",
)


def _failed(stack: dict[str, Any]) -> bool:
    """A create that ended rolled back is a failed create, for exit codes."""
    state = stack["stack_status"]
    return state.endswith("_FAILED") or state.startswith("ROLLBACK_")


def _show(stack: dict[str, Any]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    columns = tuple(sorted(stack))
    return columns, tuple(stack[c] for c in columns)


class CreateStack(show.ShowOne):
    """Create a stack from a HOT template."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="NAME", help="Name of the new stack")
        parser.add_argument(
            "-t", "--template", required=True, metavar="FILE", help="HOT template file"
        )
        parser.add_argument(
            "--parameter",
            action="append",
            metavar="KEY=VALUE",
            help="Template parameter value (repeatable)",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Show live progress; exit non-zero if the create fails",
        )
        parser.add_argument(
            "--disable-rollback",
            action="store_true",
            help="Keep what was created when the create fails (the stack ends CREATE_FAILED)",
        )
        parser.add_argument("--timeout", type=int, metavar="MIN", help="Create timeout in minutes")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        client = self.app.client
        text = args.read_template(parsed_args.template)
        files = args.template_files(parsed_args.template, text)
        created = client.create_stack(
            parsed_args.name,
            text,
            args.parse_parameters(parsed_args.parameter),
            disable_rollback=parsed_args.disable_rollback,
            timeout_mins=parsed_args.timeout,
            **({"files": files} if files else {}),
        )
        if parsed_args.wait:
            # Progress goes to stderr so that `-f json` output stays parseable.
            progress.follow(client, created["id"], "CREATE", self.app.stderr)
        elif not client.runs_flows_here:
            # A deployed engine's workers create it: like Heat, answer at once.
            return _show(client.show_stack(created["id"]))
        client.wait_flow(created["flow_id"])
        stack = client.show_stack(created["id"])
        if _failed(stack):
            # Whether or not it waited with --wait, the command saw the create
            # fail: its exit code must not say success.
            self.app.stderr.write(
                f"Stack {stack['stack_name']} {stack['stack_status']}: "
                f"{stack['stack_status_reason']}\n"
            )
            self.app.exit_code = 1
        return _show(stack)


class ListStacks(lister.Lister):
    """List the project's stacks."""

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        rows = self.app.client.list_stacks()
        return STACK_COLUMNS, [tuple(r[c] for c in STACK_COLUMNS) for r in rows]


class ShowStack(show.ShowOne):
    """Show a stack, its parameters (hidden ones masked) and outputs."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("stack", metavar="STACK", help="Stack name or id")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        return _show(self.app.client.show_stack(parsed_args.stack))


class DeleteStack(command.Command):
    """Delete a stack and every resource in it."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("stacks", nargs="+", metavar="STACK", help="Stack name(s) or id(s)")
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Show live progress; exit non-zero if a delete fails",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        client = self.app.client
        failed = False
        for name in parsed_args.stacks:
            since = progress.last_event_id(client, name) if parsed_args.wait else None
            started = client.delete_stack(name)
            if parsed_args.wait:
                progress.follow(client, started["id"], "DELETE", self.app.stderr, since=since)
            client.wait_flow(started["flow_id"])
            stack = client.show_stack(started["id"])
            self.app.stdout.write(
                f"{stack['stack_name']}: {stack['stack_status']} {stack['stack_status_reason']}\n"
            )
            failed = failed or stack["stack_status"] != "DELETE_COMPLETE"
        return 1 if failed and parsed_args.wait else 0
