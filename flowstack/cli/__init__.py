"""The `flowstack` command line, in the openstackclient style (cliff)."""
