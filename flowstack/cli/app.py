"""The ``flowstack`` application: global options and how commands reach the engine."""

from __future__ import annotations

import logging
import os
import sys

from cliff import app, commandmanager

import flowstack
from flowstack import exceptions
from flowstack.cli.client import CommandClient
from flowstack.conf import loading
from flowstack.conf import rpc as rpc_conf

VERSION = flowstack.__version__
#: Seconds an interrupted command gives its flows to stop at their next step.
STOP_TIMEOUT = 30.0
INTERRUPTED = 130  # 128 + SIGINT, what shells expect
AFTER_QUIT = (
    "Flows left running: `flowstack flow list --state RUNNING` shows them; "
    "`flowstack flow resume FLOW` continues one, `flowstack stack delete STACK` "
    "removes what it created.\n"
)


class FlowstackApp(app.App):
    def __init__(self) -> None:
        super().__init__(
            description="flowstack: stacks and autoscaling on persisted, revertible flows",
            version=VERSION,
            command_manager=commandmanager.CommandManager("flowstack.cli"),
            deferred_help=True,
        )
        self._client: CommandClient | None = None
        #: A command that printed its result but must still fail sets this.
        self.exit_code = 0

    def build_option_parser(self, description, version, argparse_kwargs=None):
        # No abbreviations: `flow list --state X` must not be read as --state-dir X.
        parser = super().build_option_parser(
            description, version, {"allow_abbrev": False, **(argparse_kwargs or {})}
        )
        parser.add_argument(
            "--config-file",
            action="append",
            default=[],
            metavar="PATH",
            help="flowstack configuration file (repeatable). Without one, the embedded "
            "default runs: SQLite in the state directory, flows in this process.",
        )
        parser.add_argument(
            "--state-dir",
            metavar="PATH",
            help="Directory of the embedded default's state (overrides state_path).",
        )
        parser.add_argument(
            "--os-project-id",
            metavar="ID",
            help="Project to act in over RPC (default: $OS_PROJECT_ID, else the embedded "
            "default's project).",
        )
        parser.add_argument(
            "--os-user-id",
            metavar="ID",
            help="User to act as over RPC (default: $OS_USER_ID, else the embedded default's).",
        )
        return parser

    def configure_logging(self) -> None:
        """Warnings and errors only by default: -v for info, -vv for debug."""
        super().configure_logging()
        level = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO}.get(
            self.options.verbose_level, logging.DEBUG
        )
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            ):
                handler.setLevel(level)

    @property
    def client(self) -> CommandClient:
        """The engine, reached the way the configuration says (built on first use).

        A configured ``transport_url`` means a deployed flowstack-engine, called
        over RPC; without one the engine runs in this process (embedded).
        """
        if self._client is None:
            conf = loading.load(
                [],
                config_files=self.options.config_file or None,
                state_path=self.options.state_dir,
            )
            if rpc_conf.transport_configured(conf):
                self._client = CommandClient.remote(
                    conf, project_id=self.options.os_project_id, user_id=self.options.os_user_id
                )
            else:
                embedded = conf.database.connection == loading.embedded_connection(conf.state_path)
                self._client = CommandClient.embedded(conf, auto_migrate=embedded)
        return self._client

    def run_subcommand(self, argv: list[str]) -> int:
        result = super().run_subcommand(argv)
        return result or self.exit_code

    def clean_up(self, cmd, result, err) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if isinstance(err, KeyboardInterrupt) and client.running_flows():
            self._stop_interrupted(client)
            client.close(wait=False)
            return
        client.close()

    def _stop_interrupted(self, client: CommandClient) -> None:
        """Ctrl-C while flows run in this process: stop them where they are, saved.

        Each stops at its next step and is handed back, so that a later
        command continues it (``flow resume``) or removes what it created
        (``stack delete``).  A second Ctrl-C quits at once: the flows stay
        owned by this process, and once it is gone any later command may take
        them over just the same.
        """
        out = self.stderr
        out.write(
            "\nInterrupted: stopping the running flow(s) at their next step; each is saved "
            "in the database (Ctrl-C again quits at once).\n"
        )
        out.flush()
        try:
            stopped = client.stop_flows(STOP_TIMEOUT)
        except KeyboardInterrupt:
            out.write(AFTER_QUIT)
            out.flush()
            os._exit(INTERRUPTED)
        for flow_id in stopped:
            stack = client.show_flow(flow_id).get("stack_name") or "?"
            out.write(
                f"Stopped flow {flow_id} of stack {stack}: `flowstack flow resume {flow_id}` "
                f"continues it; `flowstack stack delete {stack}` removes what it created.\n"
            )
        if client.running_flows():  # did not stop in time: left to later commands
            out.write(AFTER_QUIT)
        out.flush()


def main(argv: list[str] | None = None) -> int:
    try:
        return FlowstackApp().run(sys.argv[1:] if argv is None else argv)
    except exceptions.FlowstackError as exc:  # raised before a command ran
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
