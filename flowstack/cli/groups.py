"""``flowstack group list|show|resize|pause|resume|explain``: autoscaling groups."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from cliff import lister, show

from flowstack.cli import args
from flowstack.cli.flows import TEXT_FORMATTERS, engine_call
from flowstack.cli.scale_events import ScalingRequest, record
from flowstack.rpc.payload import MAX_LIMIT

LIST_COLUMNS = (
    "id",
    "stack_name",
    "resource_name",
    "status",
    "paused",
    "min_size",
    "desired_capacity",
    "current_size",
    "max_size",
)
EXPLAIN_COLUMNS = ("received_at", "source", "policy", "status", "decision")
GROUP_HELP = "Group id, STACK/RESOURCE, or a resource name unique among your groups"


def _group_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("group", metavar="GROUP", help=GROUP_HELP)


def aligned(rows: Iterable[Iterable[Any]]) -> str:
    """Rows as lines of left-aligned columns two spaces apart; None shows as "-"."""
    cells = [["-" if value is None else str(value) for value in row] for row in rows]
    if not cells:
        return ""
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def members_text(members: list[dict[str, Any]]) -> str:
    """One line per member: name, server, status (and why, when it says)."""
    return aligned(
        (m["name"], m["physical_id"], m["status"], m.get("status_reason") or "") for m in members
    )


def policies_text(policies: list[dict[str, Any]]) -> str:
    """One line per policy: name, how it adjusts, its cooldown and last run."""
    return aligned(
        (
            p["name"],
            p["adjustment_type"],
            f"{p['scaling_adjustment']:+d}",
            "" if p.get("min_adjustment_step") is None else f"min_step={p['min_adjustment_step']}",
            "" if p.get("cooldown") is None else f"cooldown={p['cooldown']}s",
            f"last={p['last_executed_at']}" if p.get("last_executed_at") else "never run",
        )
        for p in policies
    )


def group_record(group: dict[str, Any], formatter: str) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """A group for ShowOne: the list's columns first; members and policies compact in a table."""
    ordered = {c: group[c] for c in LIST_COLUMNS if c in group}
    ordered.update(group)
    if formatter in TEXT_FORMATTERS:
        if "members" in ordered:
            ordered["members"] = members_text(ordered["members"])
        if "policies" in ordered:
            ordered["policies"] = policies_text(ordered["policies"])
    return record(ordered, formatter)


class ListGroups(lister.Lister):
    """List autoscaling groups: bounds, desired and current size, paused or not."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--stack", metavar="STACK", help="Only this stack's groups (name or id)"
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        rows = engine_call(self.app, "list_groups", stack=parsed_args.stack)
        return LIST_COLUMNS, [tuple(r[c] for c in LIST_COLUMNS) for r in rows]


class ShowGroup(show.ShowOne):
    """Show a group with its members and scaling policies."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _group_argument(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        group = engine_call(self.app, "show_group", parsed_args.group)
        return group_record(group, parsed_args.formatter)


class ResizeGroup(ScalingRequest):
    """Set a group's desired capacity (clamped to its min and max sizes)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _group_argument(parser)
        parser.add_argument(
            "capacity", metavar="CAPACITY", type=args.integer(0), help="Members wanted (0 or more)"
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        receipt = engine_call(
            self.app,
            "resize_group",
            parsed_args.group,
            parsed_args.capacity,
            idempotency_key=parsed_args.idempotency_key,
        )
        return self.answer(receipt, parsed_args)


class _GroupVerb(show.ShowOne):
    verb = ""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _group_argument(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        group = engine_call(self.app, f"{self.verb}_group", parsed_args.group)
        return group_record(group, parsed_args.formatter)


class PauseGroup(_GroupVerb):
    """Stop a group from scaling: triggers are refused (and logged) until it resumes."""

    verb = "pause"


class ResumeGroup(_GroupVerb):
    """Let a paused group scale again."""

    verb = "resume"


class ExplainGroup(lister.Lister):
    """Why a group did or did not scale: its latest decisions, newest last."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _group_argument(parser)
        parser.add_argument(
            "--limit",
            type=args.integer(1, MAX_LIMIT),
            default=20,
            metavar="N",
            help=f"The last N decisions (1 to {MAX_LIMIT}, default 20)",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        rows = engine_call(self.app, "explain_group", parsed_args.group, limit=parsed_args.limit)
        return EXPLAIN_COLUMNS, [tuple(r[c] for c in EXPLAIN_COLUMNS) for r in rows]
