"""TaskFlow flow factories and tasks: the graphs flowstack's workers run.

Factories are module-level functions taking JSON-safe arguments only, so that
a worker can rebuild any flow from its dotted name when it resumes a job.
"""
