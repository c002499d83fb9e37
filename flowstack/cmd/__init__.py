"""Entry points of the service commands; each runs on threads only."""

from flowstack import threads_only

threads_only.enforce()
