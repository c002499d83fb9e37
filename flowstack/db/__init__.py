"""Everything that touches flowstack's SQL database lives in this package."""
