"""``allowed_pattern`` regular expressions, matched in time linear in the value.

Python's ``re`` backtracks while holding the GIL: ``(a+)+$`` against 73 ``a``
and a ``!`` would run for longer than the universe has existed, and every
other thread of the engine with it.  Patterns are therefore run by RE2 (the
``google-re2`` wheel), whose matching time is linear in the value's length
whatever the pattern, with Heat's semantics: the match starts at the start of
the value, like ``re.match``, and is valid only when it covers all of it.

Python's parser still checks the syntax first, so that a pattern Heat would
refuse is refused here too.  What RE2 cannot run in bounded time
(backreferences, lookaround, possessive quantifiers) is refused with that
reason instead of being run by a backtracking engine.  Python's Unicode
classes ``\\d``, ``\\w`` and ``\\s`` are rewritten to their Unicode
equivalents, as RE2's are ASCII; ``\\Z`` becomes RE2's ``\\z``.
"""

from __future__ import annotations

import re
import warnings

import re2

#: Memory RE2 may use for one compiled pattern (its automata); a larger one is refused.
MAX_MEMORY = 1 << 20

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every refused pattern on stderr
_OPTIONS.max_mem = MAX_MEMORY

#: What ``str.isspace`` (so Python's ``\\s``) takes, as RE2 class items.
_SPACE = (
    "\\x{9}-\\x{d}\\x{1c}-\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}"
    "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
)
# Python's classes, as RE2 character-class items (Python's are Unicode, RE2's ASCII).
_CLASS_ITEMS = {"d": "\\p{Nd}", "w": "\\p{L}\\p{N}_", "s": _SPACE}
_OUTSIDE = {
    **{k: f"[{v}]" for k, v in _CLASS_ITEMS.items()},
    **{k.upper(): f"[^{v}]" for k, v in _CLASS_ITEMS.items()},
    "Z": "\\z",
}
_UNBOUNDED = (
    "RE2 cannot run it in bounded time (backreferences, lookahead and lookbehind, "
    "possessive quantifiers and atomic groups are not supported)"
)


# How RE2 names the constructs it does not have (backreference, lookaround, possessive).
_UNSUPPORTED_SIGNS = ("invalid escape sequence", "invalid perl operator", "bad repetition")


class Pattern:
    """A compiled ``allowed_pattern``; :meth:`matches` is Heat's check."""

    def __init__(self, pattern: str) -> None:
        """:raises ValueError: the pattern is not valid, or cannot be run in bounds (why)."""
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "possible nested set": means two things
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"is not a valid regular expression: {exc}") from None
            except FutureWarning as exc:  # e.g. "[[:alpha:]]": a POSIX class to RE2 only
                raise ValueError(
                    f"is ambiguous ({exc}): regular expression engines read it differently; "
                    "escape a '[' inside a character class as '\\['"
                ) from None
            except (RecursionError, OverflowError):
                raise ValueError("is too deeply nested or too large to check") from None
        try:
            self._regex = re2.compile(_for_re2(pattern), _OPTIONS)
        except re2.error as exc:
            raise ValueError(_refusal(exc)) from None
        self.pattern = pattern

    def matches(self, value: str) -> bool:
        """Whether the value matches from its start to its end (Heat's rule)."""
        try:
            found = self._regex.match(value)
        except UnicodeEncodeError:  # a lone surrogate: no text matches it
            return False
        return found is not None and found.end() == len(value)


def _refusal(exc: re2.error) -> str:
    """Why RE2 refused a pattern Python accepts."""
    detail = exc.args[0] if exc.args else b""
    detail = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
    if "too large" in detail or "repetition size" in detail:
        return f"is too large to check ({detail}; at most {MAX_MEMORY // 1024} KiB of automaton)"
    if any(sign in detail for sign in _UNSUPPORTED_SIGNS):
        return f"cannot be used: {_UNBOUNDED} ({detail})"
    return f"cannot be used: RE2 does not accept it ({detail})"


def _for_re2(pattern: str) -> str:
    """The pattern in RE2's syntax, with Python's meaning (see the module docstring)."""
    out: list[str] = []
    index, size = 0, len(pattern)
    in_class = False
    while index < size:
        char = pattern[index]
        if char == "\\" and index + 1 < size:
            escaped = pattern[index + 1]
            if in_class:
                out.append(_CLASS_ITEMS.get(escaped, pattern[index : index + 2]))
            else:
                out.append(_OUTSIDE.get(escaped, pattern[index : index + 2]))
            index += 2
            continue
        out.append(char)
        index += 1
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A "]" first in a class (after an optional "^") is a literal.
            if index < size and pattern[index] == "^":
                out.append("^")
                index += 1
            if index < size and pattern[index] == "]":
                out.append("\\]")
                index += 1
    return "".join(out)
