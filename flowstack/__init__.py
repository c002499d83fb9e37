"""flowstack: orchestration and autoscaling on persisted, revertible TaskFlow graphs.

flowstack runs on threads only.  eventlet is installed as a dependency of
oslo.service (pulled in by oslo.messaging), and libraries such as TaskFlow
probe for it and change their defaults when it imports; so importing it is
blocked here for the whole process, before any of those libraries load.
"""

import sys

sys.modules.setdefault("eventlet", None)  # type: ignore[arg-type]
