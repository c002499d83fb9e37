"""``flowstack-manage``: deployment tasks.

::

    flowstack-manage db sync|version
    flowstack-manage jobboard list [--format table|json]
    flowstack-manage service list [--format table|json]
    flowstack-manage purge --older-than DAYS [--dry-run]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from oslo_config import cfg
from taskflow import exceptions as tf_exc
from taskflow import states as tf_states

import flowstack
from flowstack import exceptions
from flowstack.conf import loading
from flowstack.db import migration, models, purge
from flowstack.db import service_registry as services
from flowstack.db.session import Database
from flowstack.jobboard import base as jobboard_base
from flowstack.jobboard import board as jobboard

#: What --help says (plain text: the module docstring is reStructuredText).
DESCRIPTION = """Deployment tasks of flowstack:

  flowstack-manage db sync|version
  flowstack-manage jobboard list [--format table|json]
  flowstack-manage service list [--format table|json]
  flowstack-manage purge --older-than DAYS [--dry-run]
"""
JOB_COLUMNS = ("uuid", "name", "flow_id", "state", "owner", "claim_expires_in_s", "created_on")
SERVICE_COLUMNS = (
    "name",
    "kind",
    "host",
    "pid",
    "started_at",
    "last_seen",
    "seen_ago_s",
    "state",
)


def _db_sync(conf: cfg.ConfigOpts, db: Database, args: argparse.Namespace) -> None:
    migration.sync(db)
    print(f"Database {db.safe_url} is at revision {migration.current_version(db)}")


def _db_version(conf: cfg.ConfigOpts, db: Database, args: argparse.Namespace) -> None:
    current = migration.current_version(db)
    print(current if current is not None else "none (run `flowstack-manage db sync`)")


def _jobboard_list(conf: cfg.ConfigOpts, db: Database, args: argparse.Namespace) -> None:
    """Every job on the board: its flow, whether and by whom it is claimed, until when."""
    board = jobboard.open_board(conf, "flowstack-manage")
    try:
        rows = [_job(board, job) for job in board.iterjobs(ensure_fresh=True)]
    except tf_exc.TaskFlowException as exc:
        raise exceptions.FlowstackError(f"cannot read the jobboard: {exc}") from None
    finally:
        board.close()
    _print(rows, JOB_COLUMNS, args.format)


def _job(board: jobboard_base.Jobboard, job: Any) -> dict[str, Any]:
    state = job.state
    owner = board.find_owner(job) if state == tf_states.CLAIMED else None
    expires = board.claim_expires_in(job) if owner is not None else None
    created = job.created_on
    return {
        "uuid": job.uuid,
        "name": job.name,
        "flow_id": jobboard.flow_of(job),
        "state": state,
        "owner": owner,
        "claim_expires_in_s": expires,
        "created_on": created.isoformat() if created is not None else None,
    }


def _service_list(conf: cfg.ConfigOpts, db: Database, args: argparse.Namespace) -> None:
    """Engines and workers, and whether each was seen within [worker] dead_after."""
    dead_after = conf.worker.dead_after
    now = models.utcnow()
    with db.reader() as session:
        rows = []
        for row in services.list_all(session):
            ago = (now - row.last_seen).total_seconds()
            rows.append(
                {
                    "name": row.name,
                    "kind": row.kind,
                    "host": row.host,
                    "pid": row.pid,
                    "started_at": row.started_at.isoformat() + "Z",
                    "last_seen": row.last_seen.isoformat() + "Z",
                    "seen_ago_s": round(ago, 1),
                    "state": "alive" if ago <= dead_after else "gone",
                }
            )
    _print(rows, SERVICE_COLUMNS, args.format)


def _purge(conf: cfg.ConfigOpts, db: Database, args: argparse.Namespace) -> None:
    if args.older_than < 0:
        raise exceptions.InvalidInput("--older-than must not be negative")
    done = purge.purge(db, dt.timedelta(days=args.older_than), dry_run=args.dry_run)
    verb = "Would purge" if args.dry_run else "Purged"
    print(
        f"{verb} {done.stacks} deleted stack(s) older than {args.older_than:g} day(s) "
        f"({done.resources} resources, {done.events} events, {done.flows} flows, "
        f"{done.logbooks} logbooks)"
    )
    print(f"{verb} {done.finished_flows} finished flow(s) of live stacks")
    print(
        f"{verb} {done.flow_details} TaskFlow flow detail(s) and {done.atom_details} "
        "step detail(s) in all"
    )


def _print(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(list(rows), indent=2, default=str))
        return
    cells = [[("" if r[c] is None else str(r[c])) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    for line in [list(columns), *cells]:
        print("  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowstack-manage",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {flowstack.__version__}")
    parser.add_argument(
        "--config-file",
        action="append",
        default=[],
        metavar="PATH",
        help="flowstack configuration file (repeatable)",
    )
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

    board = commands.add_parser("jobboard", help="the jobboard").add_subparsers(
        dest="action", required=True
    )
    jobs = board.add_parser("list", help="jobs with their flow, owner and claim expiry")
    jobs.set_defaults(func=_jobboard_list)
    service = commands.add_parser("service", help="engines and workers").add_subparsers(
        dest="action", required=True
    )
    alive = service.add_parser("list", help="services with their last heartbeat")
    alive.set_defaults(func=_service_list)
    for listing in (jobs, alive):
        listing.add_argument("--format", choices=("table", "json"), default="table")

    purging = commands.add_parser(
        "purge", help="remove deleted stacks and finished flows older than an age"
    )
    purging.add_argument(
        "--older-than", type=float, required=True, metavar="DAYS", help="age in days"
    )
    purging.add_argument(
        "--dry-run", action="store_true", help="count what would be removed; remove nothing"
    )
    purging.set_defaults(func=_purge)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        conf = loading.load([], config_files=args.config_file or None, state_path=args.state_dir)
        if conf.database.connection == loading.embedded_connection(conf.state_path):
            os.makedirs(conf.state_path, mode=0o700, exist_ok=True)
        db = Database.from_conf(conf)
        try:
            args.func(conf, db, args)
        finally:
            db.close()
    except exceptions.FlowstackError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
