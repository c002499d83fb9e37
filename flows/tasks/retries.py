"""Retry controllers."""

from __future__ import annotations

from typing import Any

from taskflow import retry

from flowstack.exceptions import FlowstackError


class ResourceNotReady(FlowstackError):
    """Raised by a wait task to say "poll again"; the retry below loops it.

    Its module and name are recorded in persisted retry histories and
    matched by :class:`PollUntilReady` when a flow resumes: keep them.
    """

    msg_fmt = "{resource}"  # shown as "ResourceNotReady: web" in a flow's attempts

    def __init__(self, resource: str) -> None:
        super().__init__(resource=resource)


class PollUntilReady(retry.Retry):
    """Re-runs its subflow while the only failures are :class:`ResourceNotReady`.

    Each attempt is checkpointed in the flow's persistence, so a flow
    resumed elsewhere continues the wait instead of restarting the action.
    Any other failure reverts the *whole* flow: TaskFlow's plain REVERT
    would only revert this subflow and leave the rest of the flow as it is
    unless every runner sets ``defer_reverts``, so the decision is made
    here, in the flow, where no runner can forget it.
    """

    def execute(self, history: retry.History, *args: Any, **kwargs: Any) -> int:
        return len(history) + 1

    def revert(self, history: retry.History, *args: Any, **kwargs: Any) -> None:
        """Nothing to undo: waiting changed nothing."""

    def on_failure(self, history: retry.History, *args: Any, **kwargs: Any) -> str:
        for _name, failure in history.outcomes_iter(index=-1):
            # A flow resumed from storage may carry a failure without its
            # exception object; its type names are still there.
            if failure is not None and not failure.check(ResourceNotReady):
                return retry.REVERT_ALL
        return retry.RETRY
