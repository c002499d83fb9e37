"""Which map keys are intrinsic function names, misspelt ones included.

In HOT a map with a single key that names a function is a call; any other
map is data.  So ``{get_atrr: [web, first_address]}`` is silently a literal
map in Heat, and an output shows ``{"get_atrr": [...]}`` instead of an
address.  flowstack refuses a single key that is almost a function name:

- the same name but for case, ``_``, ``-`` or spaces (``getAttr``, ``GET-ATTR``);
- or, for a key written like a function (with an ``_``), at most one edit
  (insert, delete, replace, swap two neighbours) on each side of the first
  ``_`` of a name with an ``_``: ``get_paramm``, ``list_jion``, ``str_repalce``.

Names without ``_`` (``filter``, ``repeat``, ``digest``...) are ordinary
words too (``filters: [...]`` is a fine metadata map), so only their exact
spelling is a call.  The table says since which ``heat_template_version``
Heat has each function, so a call to one from a later version can say so.
"""

from __future__ import annotations

import re

from flowstack.template.versions import FIRST

#: Heat's HOT functions and the version that introduced each.
HEAT_FUNCTIONS: dict[str, str] = {
    "get_attr": FIRST,
    "get_file": FIRST,
    "get_param": FIRST,
    "get_resource": FIRST,
    "list_join": FIRST,
    "resource_facade": FIRST,
    "str_replace": FIRST,
    "digest": "2015-04-30",
    "repeat": "2015-04-30",
    "str_split": "2015-10-15",
    "map_merge": "2016-04-08",
    "map_replace": "2016-10-14",
    "yaql": "2016-10-14",
    "if": "2016-10-14",
    "filter": "2017-02-24",
    "str_replace_strict": "2017-02-24",
    "contains": "2017-09-01",
    "list_concat": "2017-09-01",
    "list_concat_unique": "2017-09-01",
    "make_url": "2017-09-01",
    "str_replace_vstrict": "2017-09-01",
}

_LOOKS_LIKE_A_CALL = re.compile(r"[A-Za-z]+(_[A-Za-z]+)+\Z")
_MOST_EDITS_PER_PART = 1


def _folded(name: str) -> str:
    return re.sub(r"[\s_-]", "", name).lower()


# Only names with an "_" are matched loosely: "Filter" or "Repeat" may be data.
_COMPOUND = tuple(name for name in HEAT_FUNCTIONS if "_" in name)
_BY_FOLDED = {_folded(name): name for name in _COMPOUND}


def meant(key: str) -> str | None:
    """The function name ``key`` is a misspelling of, or None when it is just a word.

    A misspelling is at most one edit in the part before the first ``_`` and
    one in the rest (``get_atrr``, ``gte_param``), never two in one part:
    ``base_url`` is a word, not ``make_url``.
    """
    if key in HEAT_FUNCTIONS or len(key) > 40:
        return None
    folded = _BY_FOLDED.get(_folded(key))
    if folded is not None:
        return folded
    if not _LOOKS_LIKE_A_CALL.match(key):
        return None
    head, _, tail = key.lower().partition("_")
    for name in _COMPOUND:
        name_head, _, name_tail = name.partition("_")
        if (
            _edits(head, name_head) <= _MOST_EDITS_PER_PART
            and _edits(tail, name_tail) <= _MOST_EDITS_PER_PART
        ):
            return name
    return None


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: inserts, deletes, replaces, neighbour swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]
