"""flowstack: orchestration and autoscaling on persisted, revertible TaskFlow graphs."""
