"""Actions and statuses of stacks and resources, as Heat users know them.

A stack or resource status is ``ACTION_STATUS`` (``CREATE_COMPLETE``).
"""

from typing import Final

# Actions
INIT: Final = "INIT"
CREATE: Final = "CREATE"
DELETE: Final = "DELETE"
ROLLBACK: Final = "ROLLBACK"

# Statuses
IN_PROGRESS: Final = "IN_PROGRESS"
COMPLETE: Final = "COMPLETE"
FAILED: Final = "FAILED"


def combined(action: str, status: str) -> str:
    return f"{action}_{status}"


def is_terminal(status: str) -> bool:
    return status in (COMPLETE, FAILED)
