"""Names of the values flows store and pass between atoms.

Every name a task ``provides`` or ``requires`` is built here, so that a
rename happens in one place (tests check that no two kinds collide).
"""

RESOURCE_PREFIX = "resource:"
DELETED_PREFIX = "deleted:"


def resource(name: str) -> str:
    """What a ready resource hands to the resources that reference it."""
    return RESOURCE_PREFIX + name


def deleted(name: str) -> str:
    """Marks a resource as gone, so the resources it depended on may go next."""
    return DELETED_PREFIX + name


GROUP_PREFIX = "group:"
VICTIMS = "victims"


def group(name: str) -> str:
    """A scaling group's record exists: its first members may be created."""
    return GROUP_PREFIX + name


def member_label(group_name: str, member: str) -> str:
    """A member's name inside its parent stack's flow (apart from the parent's resources)."""
    return f"{group_name}/{member}"


#: The process's :class:`flowstack.runtime.container.Runtime`, which every task
#: receives as its ``runtime`` argument.  The runner injects it as a transient
#: value: it lives in memory only, is never persisted, and each runner that
#: loads the flow (after a crash, another worker) injects its own.
RUNTIME = "runtime"
