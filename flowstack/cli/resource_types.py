"""``flowstack resource type list``."""

from __future__ import annotations

import argparse

from cliff import lister

COLUMNS = ("resource_type", "description")


class ListResourceTypes(lister.Lister):
    """List the resource types templates may use."""

    def take_action(self, parsed_args: argparse.Namespace) -> tuple:
        rows = self.app.client.list_resource_types()
        return COLUMNS, [tuple(r[c] for c in COLUMNS) for r in rows]
