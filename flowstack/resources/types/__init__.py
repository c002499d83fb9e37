"""One module per family of resource types."""
