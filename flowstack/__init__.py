"""flowstack: orchestration and autoscaling on persisted, revertible TaskFlow graphs.

Importing the package does nothing to the host process: other services import
:mod:`flowstack.rpc.client`.  flowstack's own entry points run on threads only
(see :mod:`flowstack.threads_only`).
"""

#: The one place the version is written (setup.cfg reads it; ``--version`` shows it).
__version__ = "0.2.0"
