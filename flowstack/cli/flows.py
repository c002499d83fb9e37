"""``flowstack flow list|show|graph``: which flows ran, every step of one, and its picture."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from typing import Any

import yaml
from cliff import command, lister, show

from flowstack import exceptions

LIST_COLUMNS = (
    "id",
    "stack_name",
    "stack_id",
    "operation",
    "state",
    "owner",
    "attempts",
    "age_s",
    "created_at",
    "updated_at",
    "finished_at",
)
#: Formatters that print a cell as text: nested values are given to them as YAML.
TEXT_FORMATTERS = frozenset({"table", "value", "shell", "csv"})
GRAPH_FORMATS = {".dot": None, ".gv": None, ".svg": "svg", ".png": "png"}
DOT_TIMEOUT_SECS = 120


def engine_call(app: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call the engine, embedded or over RPC (both clients have every operator call)."""
    return getattr(app.client, method)(*args, **kwargs)


def as_text(value: Any) -> Any:
    """A nested value as readable YAML text; plain values as they are."""
    if isinstance(value, dict | list):
        if not value:
            return ""
        return yaml.safe_dump(value, default_flow_style=False, sort_keys=False).rstrip()
    return value


def _compact(step: dict[str, Any]) -> dict[str, Any]:
    """A step without its empty fields: the table shows what happened, not what did not."""
    return {k: v for k, v in step.items() if v is not None and v is not False and v not in ([], {})}


class ListFlows(lister.Lister):
    """List flows with their stack, operation, state, owner, attempts and age."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--state",
            metavar="STATE",
            help="Only flows in this state (PENDING, RUNNING, STOPPED, SUCCESS, REVERTED, FAILURE, "
            "QUARANTINED)",
        )
        parser.add_argument("--stack", metavar="NAME_OR_ID", help="Only flows of this stack")
        parser.add_argument(
            "--project", metavar="PROJECT", help="Only flows of this project (administrators)"
        )
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="SECONDS",
            help="Only flows created more than SECONDS ago",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        rows = engine_call(
            self.app,
            "list_flows",
            state=parsed_args.state,
            stack=parsed_args.stack,
            project=parsed_args.project,
            older_than=parsed_args.older_than,
        )
        return LIST_COLUMNS, [tuple(r[c] for c in LIST_COLUMNS) for r in rows]


class ShowFlow(show.ShowOne):
    """Show a flow and every step: state, times, retries, results, failures, reverts."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("flow", metavar="FLOW", help="Flow id (see `flowstack flow list`)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        flow = engine_call(self.app, "show_flow", parsed_args.flow)
        if parsed_args.formatter in TEXT_FORMATTERS:
            flow = {**flow, "steps": [_compact(step) for step in flow["steps"]]}
            flow = {key: as_text(value) for key, value in flow.items()}
        columns = tuple(flow)
        return columns, tuple(flow[c] for c in columns)


class GraphFlow(command.Command):
    """Draw a flow as Graphviz DOT (stdout), or as SVG/PNG when Graphviz is installed."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("flow", metavar="FLOW", help="Flow id (see `flowstack flow list`)")
        parser.add_argument(
            "--output",
            metavar="FILE",
            help="Write to FILE: .dot (DOT source), .svg or .png (rendered by Graphviz's dot)",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        output = parsed_args.output
        if output is not None:
            extension = os.path.splitext(output)[1].lower()
            if extension not in GRAPH_FORMATS:
                raise exceptions.InvalidInput(
                    f"--output {output}: unsupported format {extension or '(none)'}; "
                    "use .dot, .svg or .png"
                )
        dot = engine_call(self.app, "flow_graph", parsed_args.flow)
        if output is None:
            self.app.stdout.write(dot)
            return 0
        image_format = GRAPH_FORMATS[os.path.splitext(output)[1].lower()]
        if image_format is None:
            _write(output, dot)
            self.app.stdout.write(f"Wrote {output}\n")
            return 0
        renderer = shutil.which("dot")
        if renderer is None:
            source = os.path.splitext(output)[0] + ".dot"
            _write(source, dot)
            raise exceptions.ConfigError(
                f"Graphviz is not installed (no `dot` command), so {output} was not drawn; "
                f"the DOT source is in {source} (render it with `dot -T{image_format} "
                f"{source} -o {output}`)"
            )
        _render(renderer, image_format, dot, output)
        self.app.stdout.write(f"Wrote {output}\n")
        return 0


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise exceptions.InvalidInput(f"cannot write {path}: {exc.strerror}") from None


def _render(renderer: str, image_format: str, dot: str, output: str) -> None:
    try:
        done = subprocess.run(
            [renderer, f"-T{image_format}", "-o", output],
            input=dot,
            capture_output=True,
            text=True,
            timeout=DOT_TIMEOUT_SECS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise exceptions.FlowstackError(f"Graphviz could not draw {output}: {exc}") from None
    if done.returncode != 0:
        message = " ".join(done.stderr.split()) or f"exit code {done.returncode}"
        raise exceptions.FlowstackError(f"Graphviz could not draw {output}: {message}")
