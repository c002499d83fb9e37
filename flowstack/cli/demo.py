"""``flowstack demo``: the main job, end to end, on whatever engine is configured."""

from __future__ import annotations

import argparse
from importlib import resources as package_files
from typing import Any

from cliff import command

from flowstack import exceptions
from flowstack.cli import progress

DEMO_STACKS = ("demo-app", "demo-broken")


def demo_template(name: str) -> str:
    return package_files.files("flowstack.demo").joinpath(name).read_text(encoding="utf-8")


class Demo(command.Command):
    """Create a sample stack, then one whose 4th resource fails and rolls back."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--build-secs",
            type=float,
            default=1.0,
            help="How long each tier of the sample stack takes to build (default 1)",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        client = self.app.client
        out = self.app.stdout
        self._clear_previous(client)

        out.write("\n== 1. A three-tier stack: independent tiers build in parallel ==\n")
        app = self._create(
            client,
            "demo-app",
            "app.yaml",
            {"build_secs": str(parsed_args.build_secs)},
        )
        for output in client.show_output(app["id"]):
            out.write(f"  output {output['output_key']}: {output['output_value']}\n")

        out.write("\n== 2. A stack whose 'server' fails: the whole graph rolls back ==\n")
        broken = self._create(client, "demo-broken", "broken.yaml", {})
        left = [
            r["resource_name"]
            for r in client.list_resources(broken["id"])
            if r["resource_status"] not in ("DELETE_COMPLETE", "INIT_COMPLETE")
        ]
        out.write(f"  {broken['stack_status']}: {broken['stack_status_reason']}\n")
        out.write(f"  resources left behind: {len(left)} {left if left else ''}\n")

        out.write(
            "\nNext: `flowstack stack list`, `flowstack stack event list demo-broken`, "
            "`flowstack stack output show demo-app --all`, `flowstack stack delete demo-app`.\n"
        )
        ok = (
            app["stack_status"] == "CREATE_COMPLETE"
            and broken["stack_status"] == "ROLLBACK_COMPLETE"
            and not left
        )
        return 0 if ok else 1

    def _create(
        self, client: Any, name: str, template_file: str, parameters: dict[str, str]
    ) -> dict[str, Any]:
        out = self.app.stdout
        out.write(f"$ flowstack stack create {name} -t {template_file} --wait\n")
        created = client.create_stack(name, demo_template(template_file), parameters)
        progress.follow(client, created["id"], "CREATE", out)
        client.wait_flow(created["flow_id"])
        stack = client.show_stack(created["id"])
        out.write(f"  => {stack['stack_status']}\n")
        return stack

    def _clear_previous(self, client: Any) -> None:
        """Delete the stacks an earlier run left, so the demo can run again."""
        for name in DEMO_STACKS:
            try:
                started = client.delete_stack(name)
            except exceptions.StackNotFound:
                continue
            self.app.stdout.write(f"(deleting {name} from an earlier run)\n")
            client.wait_flow(started["flow_id"])
