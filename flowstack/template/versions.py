"""The ``heat_template_version`` values flowstack accepts, and what each one allows.

The table is Heat's own (``setup.cfg`` entry points ``heat.templates`` in
openstack/heat): eleven dates, and since 2016-10-14 a release name for each
date.  Features that change with the version are asked for by name
(:meth:`Version.has`), so the gating lives in this one table.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

DATES: tuple[str, ...] = (
    "2013-05-23",
    "2014-10-16",
    "2015-04-30",
    "2015-10-15",
    "2016-04-08",
    "2016-10-14",
    "2017-02-24",
    "2017-09-01",
    "2018-03-02",
    "2018-08-31",
    "2021-04-16",
)

RELEASE_NAMES: dict[str, str] = {
    "newton": "2016-10-14",
    "ocata": "2017-02-24",
    "pike": "2017-09-01",
    "queens": "2018-03-02",
    "rocky": "2018-08-31",
    "wallaby": "2021-04-16",
}

FEATURES: dict[str, str] = {
    # list_join with several lists, and map/list items rendered as JSON.
    "list_join_multiple": "2015-10-15",
    # str_replace params may be lists or maps, rendered as JSON.
    "str_replace_json": "2015-10-15",
    # get_attr with a resource name only (all attributes); flowstack rejects it anyway.
    "get_attr_all": "2015-10-15",
    # `conditions` section, resource/output `condition`, resource `external_id`.
    "conditions": "2016-10-14",
    # `modulo` parameter constraint.
    "modulo": "2017-02-24",
    # `tags` parameter key.
    "parameter_tags": "2018-03-02",
}

FIRST = DATES[0]
LATEST = DATES[-1]


@dataclass(frozen=True, order=True)
class Version:
    """A normalised template version; compares by date."""

    date: str

    def has(self, feature: str) -> bool:
        """Whether templates of this version may use ``feature`` (a key of FEATURES)."""
        return self.date >= FEATURES[feature]

    def __str__(self) -> str:
        return self.date


def accepted() -> str:
    """The accepted values, for error messages."""
    return ", ".join([*DATES, *RELEASE_NAMES])


def normalise(value: Any) -> Version:
    """Map a date or release name to its Version; raises ValueError naming the accepted ones.

    A ``datetime.date`` is taken too: a template loaded by a YAML parser other
    than ours turns an unquoted date into one.
    """
    if isinstance(value, datetime.date):
        value = value.isoformat()
    if isinstance(value, str):
        if value in DATES:
            return Version(value)
        if value in RELEASE_NAMES:
            return Version(RELEASE_NAMES[value])
    shown = repr(value) if isinstance(value, str) else repr(str(value))
    raise ValueError(f"{shown} is not a supported heat_template_version; accepted: {accepted()}")
