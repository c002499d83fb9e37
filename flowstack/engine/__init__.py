"""The engine: validates requests, persists stacks and flows, and runs or posts them."""
