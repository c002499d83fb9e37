"""How every service command starts and fails: one clear line, never a traceback.

A service that cannot start (a missing ``--config-file``, a malformed
``[database] connection``, an option that cannot work) says so on stderr in
one line naming the option, and exits 1; ``--debug`` keeps the traceback for
whoever needs it.  ``--version`` works everywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from oslo_config import cfg

import flowstack
from flowstack import exceptions
from flowstack.conf import loading

FAILED = 1


def load(argv: list[str] | None, prog: str) -> cfg.ConfigOpts:
    """The configuration of a service from its command line (``--version`` exits here).

    :raises flowstack.exceptions.ConfigError: the files or the options cannot be used.
    """
    return loading.load(
        sys.argv[1:] if argv is None else argv, prog=prog, version=flowstack.__version__
    )


def run(prog: str, main: Callable[[], int]) -> int:
    """Run a service's ``main``; what stops it from starting is one line on stderr."""
    try:
        return main()
    except exceptions.FlowstackError as exc:
        if "--debug" in sys.argv or "-d" in sys.argv:
            raise
        print(f"{prog}: ERROR: {exc}", file=sys.stderr)
        return FAILED
