"""The `flowstack` command line, in the openstackclient style (cliff); threads only."""

from flowstack import threads_only

threads_only.enforce()
