"""Entry points of the service commands."""
