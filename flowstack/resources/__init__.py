"""Resource types (plugins) and the schemas they declare."""
