"""TaskFlow persistence on flowstack's database."""
