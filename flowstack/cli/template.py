"""``flowstack template validate``."""

from __future__ import annotations

import argparse

from cliff import show

from flowstack.cli import args


class ValidateTemplate(show.ShowOne):
    """Validate a template (and parameters) without creating anything."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "-t", "--template", required=True, metavar="FILE", help="HOT template file"
        )
        parser.add_argument(
            "--parameter", action="append", metavar="KEY=VALUE", help="Parameter value (repeatable)"
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        text = args.read_template(parsed_args.template)
        files = args.template_files(parsed_args.template, text)
        result = self.app.client.validate_template(
            text,
            args.parse_parameters(parsed_args.parameter),
            **({"files": files} if files else {}),
        )
        columns = tuple(sorted(result))
        return columns, tuple(result[c] for c in columns)
