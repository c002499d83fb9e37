"""TaskFlow tasks and retry controllers, grouped by what they touch."""
