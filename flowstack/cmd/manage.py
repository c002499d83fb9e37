"""``flowstack-manage``: deployment tasks (database schema, for now)."""

from __future__ import annotations

import argparse
import os
import sys

from flowstack import exceptions
from flowstack.conf import loading
from flowstack.db import migration
from flowstack.db.session import Database


def _db_sync(db: Database, args: argparse.Namespace) -> None:
    migration.sync(db)
    print(f"Database {db.safe_url} is at revision {migration.current_version(db)}")


def _db_version(db: Database, args: argparse.Namespace) -> None:
    current = migration.current_version(db)
    print(current if current is not None else "none (run `flowstack-manage db sync`)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowstack-manage", description=__doc__)
    parser.add_argument("--config-file", action="append", default=[], metavar="PATH")
    parser.add_argument(
        "--state-dir", metavar="PATH", help="State directory of the embedded default"
    )
    commands = parser.add_subparsers(dest="area", required=True)
    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="action", required=True
    )
    db.add_parser("sync", help="create or upgrade flowstack's and TaskFlow's tables").set_defaults(
        func=_db_sync
    )
    db.add_parser("version", help="show the schema revision").set_defaults(func=_db_version)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        conf = loading.load([], config_files=args.config_file or None, state_path=args.state_dir)
        if conf.database.connection == loading.embedded_connection(conf.state_path):
            os.makedirs(conf.state_path, mode=0o700, exist_ok=True)
        db = Database.from_conf(conf)
        try:
            args.func(db, args)
        finally:
            db.close()
    except exceptions.FlowstackError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
