"""Actions and statuses of stacks and resources, as Heat users know them.

A stack or resource status is ``ACTION_STATUS`` (``CREATE_COMPLETE``).
"""

from typing import Final

# Actions
INIT: Final = "INIT"
CREATE: Final = "CREATE"
DELETE: Final = "DELETE"
# A member whose server Nova reports in ERROR or gone (found by a health check).
CHECK: Final = "CHECK"
ROLLBACK: Final = "ROLLBACK"
# A scaling group's nested stack while a converge flow changes its members.
UPDATE: Final = "UPDATE"

# Statuses
IN_PROGRESS: Final = "IN_PROGRESS"
COMPLETE: Final = "COMPLETE"
FAILED: Final = "FAILED"


def combined(action: str, status: str) -> str:
    return f"{action}_{status}"


def is_terminal(status: str) -> bool:
    return status in (COMPLETE, FAILED)
