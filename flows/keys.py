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
