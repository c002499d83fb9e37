"""allowed_pattern: Heat's meaning, matched in linear time, never a frozen engine."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowstack import template
from flowstack.exceptions import TemplateInvalid
from flowstack.schema import patterns
from flowstack.schema import properties as p

# Patterns as templates in the wild write them (Heat's own examples, os-* templates).
REAL_PATTERNS = [
    "[a-zA-Z0-9]+",
    "[A-Z]+[a-zA-Z0-9]*",
    "^[a-z][a-z0-9-]*$",
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?",
    r"\d+",
    r"\d{1,3}(\.\d{1,3}){3}",
    r"[\w.-]+@[\w-]+\.\w+",
    r"\w+",
    r"\s*\S+\s*",
    "(?i)yes|no",
    "a|ab",  # Heat takes re.match's first choice, so "ab" does not match
    "a*?",  # a lazy quantifier: "aaa" does not match in Heat either
    "[^]a]+",
    r"[]\d]+",
    r"[\d.]+",
    r"abc\Z",
    ".*",
    "(x|y)+z?$",
]


def _heat(pattern: str, value: str) -> bool:
    """Heat's AllowedPattern check, with Python's backtracking re (test values only)."""
    found = re.match(pattern, value)
    return found is not None and found.end() == len(value)


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.sampled_from(REAL_PATTERNS),
    value=st.text(
        alphabet=st.sampled_from(list("aAbz019-_.@ []xyYESnoé٣\t\n\u00a0\u2003!")), max_size=12
    ),
)
def test_real_patterns_mean_what_they_mean_in_heat(pattern: str, value: str) -> None:
    assert patterns.Pattern(pattern).matches(value) is _heat(pattern, value)


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("a|ab", "ab", False),
        ("ab|a", "ab", True),
        (r"\d+", "١٢٣", True),  # Arabic-Indic digits are digits to Python
        (r"\w+", "naïve_ü", True),
        (r"\s", "\u2003", True),
        (r"\S+", "x\u00a0", False),
        (r"abc\Z", "abc", True),
        ("[a-z]+", "abc\n", False),
    ],
)
def test_semantics_follow_python_where_re2_differs(pattern: str, value: str, expected: bool):
    assert patterns.Pattern(pattern).matches(value) is expected
    assert _heat(pattern, value) is expected


def test_a_catastrophic_pattern_is_checked_at_once_and_the_process_keeps_going() -> None:
    # With a backtracking matcher this default never finishes validating: the
    # child is killed by the limit and the test fails.
    script = textwrap.dedent(
        """
        from flowstack import template
        from flowstack.exceptions import TemplateInvalid
        text = '''
        heat_template_version: 2018-08-31
        parameters:
          name:
            type: string
            default: "%s!"
            constraints:
              - allowed_pattern: "(a+)+$"
        '''
        try:
            template.parse(text)
        except TemplateInvalid as exc:
            print(exc)
        """
        % ("a" * 73)
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "parameters.name.default" in done.stdout
    assert "does not match the pattern" in done.stdout


def test_a_long_value_against_nested_quantifiers_is_checked() -> None:
    pattern = p.AllowedPattern("(x+x+)+y")
    assert pattern.check("x" * 5000, "string") is not None
    assert pattern.check("x" * 5000 + "y", "string") is None


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "cannot be used: RE2 cannot run it in bounded time"),
        ("(?=a)a", "cannot be used: RE2 cannot run it in bounded time"),
        ("(?<!a)b", "cannot be used: RE2 cannot run it in bounded time"),
        ("(", "is not a valid regular expression"),
        ("[[:alpha:]]", "is ambiguous"),  # a POSIX class to RE2, a nested set to Python
        ("(" * 50000 + ")" * 50000, "too deeply nested"),  # past any recursion limit
        ("(((a{100}){100}){100})", "too large to check"),
    ],
)
def test_a_pattern_that_cannot_be_checked_in_bounds_is_a_clear_error(pattern, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        patterns.Pattern(pattern)
    text = f"""
heat_template_version: 2018-08-31
parameters:
  name:
    type: string
    constraints:
      - allowed_pattern: {json.dumps(pattern)}
"""
    with pytest.raises(TemplateInvalid) as caught:
        template.parse(text)
    (error,) = caught.value.errors
    assert error.path == "parameters.name.constraints[0].allowed_pattern"
    assert reason in error.message


def test_a_value_that_is_not_text_does_not_match() -> None:
    assert not patterns.Pattern(".*").matches("\ud800")


def test_a_refused_pattern_does_not_print_on_stderr(capfd) -> None:
    with pytest.raises(ValueError):
        patterns.Pattern(r"(a)\1")
    assert capfd.readouterr().err == ""


def test_template_defaults_still_validate_against_patterns() -> None:
    text = """
heat_template_version: 2018-08-31
parameters:
  key: {type: string, default: my-key_1, constraints: [{allowed_pattern: "[\\\\w-]+"}]}
"""
    assert template.parse(text).parameters["key"].default == "my-key_1"
    with pytest.raises(TemplateInvalid):
        template.parse(text.replace("my-key_1", "my key"))
