"""``flowstack demo``: the main job, end to end, on whatever engine is configured."""

from __future__ import annotations

import argparse
from importlib import resources as package_files
from typing import Any

from cliff import command

from flowstack import exceptions
from flowstack.cli import progress

DEMO_STACKS = ("demo-app", "demo-broken", "demo-servers", "demo-broken-servers")
FAULT_MESSAGE = "No valid host was found. (injected by flowstack demo)"


def demo_template(name: str) -> str:
    return package_files.files("flowstack.demo").joinpath(name).read_text(encoding="utf-8")


class Demo(command.Command):
    """Create stacks of test resources and servers; watch two of them fail and roll back."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--build-secs",
            type=float,
            default=1.0,
            help="How long each tier of the test-resource stack takes to build (default 1)",
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        client = self.app.client
        out = self.app.stdout
        self._clear_previous(client)
        checks: list[tuple[str, bool]] = []

        out.write("\n== 1. Test resources in three tiers; independent tiers build in parallel ==\n")
        app = self._create(
            client, "demo-app", "app.yaml", {"build_secs": str(parsed_args.build_secs)}
        )
        self._outputs(client, app)
        checks.append(("demo-app is CREATE_COMPLETE", app["stack_status"] == "CREATE_COMPLETE"))

        out.write("\n== 2. Six test resources; 'server' fails and the whole graph rolls back ==\n")
        broken = self._create(client, "demo-broken", "broken.yaml", {})
        left = self._left_behind(client, broken)
        out.write(f"  {broken['stack_status']}: {broken['stack_status_reason']}\n")
        out.write(f"  resources left behind: {len(left)} {left if left else ''}\n")
        checks.append(("demo-broken rolled back", broken["stack_status"] == "ROLLBACK_COMPLETE"))
        checks.append(("demo-broken left nothing", not left))

        simulator = client.embedded_simulator()
        out.write("\n== 3. Two tiers of servers: web servers get the databases' addresses ==\n")
        servers = self._create(client, "demo-servers", "servers.yaml", {})
        self._outputs(client, servers)
        checks.append(
            ("demo-servers is CREATE_COMPLETE", servers["stack_status"] == "CREATE_COMPLETE")
        )

        if simulator is None:
            out.write(
                "\n(Part 4 needs the built-in Nova simulator in this process: "
                "skipped with a real Nova, or over RPC.)\n"
            )
        else:
            out.write(
                "\n== 4. Six servers; the fifth goes into ERROR and every server is removed ==\n"
            )
            out.write(
                "  (the built-in Nova simulator fails servers whose metadata has demo=fail)\n"
            )
            simulator.add_faults(
                build_errors=[{"metadata": {"demo": "fail"}, "message": FAULT_MESSAGE}]
            )
            try:
                doomed = self._create(client, "demo-broken-servers", "broken-servers.yaml", {})
            finally:
                simulator.clear_faults()
            out.write(f"  {doomed['stack_status']}: {doomed['stack_status_reason']}\n")
            checks.append(
                ("demo-broken-servers rolled back", doomed["stack_status"] == "ROLLBACK_COMPLETE")
            )
            checks.append(self._no_orphans(client, simulator))

        out.write("\n")
        for what, ok in checks:
            out.write(f"  [{'ok' if ok else 'FAILED'}] {what}\n")
        out.write(
            "\nNext: `flowstack stack list`, `flowstack stack event list demo-broken-servers`, "
            "`flowstack stack output show demo-servers --all`, "
            "`flowstack stack delete demo-servers --wait`.\n"
        )
        return 0 if all(ok for _, ok in checks) else 1

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

    def _outputs(self, client: Any, stack: dict[str, Any]) -> None:
        for output in client.show_output(stack["id"]):
            self.app.stdout.write(f"  output {output['output_key']}: {output['output_value']}\n")

    @staticmethod
    def _left_behind(client: Any, stack: dict[str, Any]) -> list[str]:
        return [
            r["resource_name"]
            for r in client.list_resources(stack["id"])
            if r["resource_status"] not in ("DELETE_COMPLETE", "INIT_COMPLETE")
        ]

    def _no_orphans(self, client: Any, simulator: Any) -> tuple[str, bool]:
        """Servers in Nova are exactly the servers live stacks hold.

        The engine's orphan report is that comparison, nested stacks included
        (a scaling group's members, template resources): a server nobody
        holds, or a resource whose server is gone, is an orphan.
        """
        orphans = client.list_orphans()
        self.app.stdout.write(
            f"  servers in the simulator: {len(simulator.live_servers())}; "
            f"ever created: {len(simulator.all_servers())}; orphans: {len(orphans)}\n"
        )
        return ("no orphaned server in Nova", not orphans)

    def _clear_previous(self, client: Any) -> None:
        """Delete the stacks an earlier run left, so the demo can run again."""
        for name in DEMO_STACKS:
            try:
                started = client.delete_stack(name)
            except exceptions.StackNotFound:
                continue
            self.app.stdout.write(f"(deleting {name} from an earlier run)\n")
            client.wait_flow(started["flow_id"])
