"""flowstack-worker: conductors that claim flows from the jobboard and run them."""
