"""The jobboard: how engines hand flows to workers (TaskFlow's jobboards)."""
