"""From a policy's adjustment to a new desired capacity, with the reasons why.

Heat's three adjustment types, with Heat's rounding so that a Heat user's
policies scale by the same amounts here:

- ``change_in_capacity``: add the adjustment (negative shrinks);
- ``exact_capacity``: the adjustment is the new capacity;
- ``percent_change_in_capacity``: a percentage of the current capacity.  A
  change smaller than one member rounds away from zero (so +10% of 4 still
  adds one), a larger one rounds toward zero (+50% of 5 adds two); then
  ``min_adjustment_step`` raises the step to at least that many members.

The result is clamped to [min_size, max_size].  Every decision comes with
the steps that led to it, which the group's decision log shows.
"""

from __future__ import annotations

import dataclasses
import math

CHANGE_IN_CAPACITY = "change_in_capacity"
EXACT_CAPACITY = "exact_capacity"
PERCENT_CHANGE_IN_CAPACITY = "percent_change_in_capacity"
TYPES = (CHANGE_IN_CAPACITY, EXACT_CAPACITY, PERCENT_CHANGE_IN_CAPACITY)


@dataclasses.dataclass(frozen=True)
class Outcome:
    capacity: int
    steps: tuple[str, ...]


def percent_step(current: int, percent: float, min_step: int | None) -> int:
    """Members to add (negative: remove) for a percentage of ``current``."""
    delta = current * percent / 100.0
    if delta == 0:
        step = 0
    elif abs(delta) < 1.0:
        step = math.ceil(delta) if delta > 0 else math.floor(delta)
    else:
        step = math.floor(delta) if delta > 0 else math.ceil(delta)
    if min_step and step != 0 and abs(step) < min_step:
        step = min_step if step > 0 else -min_step
    elif min_step and step == 0 and percent != 0:
        step = min_step if percent > 0 else -min_step
    return step


def new_capacity(
    current: int,
    adjustment_type: str,
    adjustment: int,
    *,
    min_size: int,
    max_size: int,
    min_adjustment_step: int | None = None,
) -> Outcome:
    """The capacity a policy asks for, clamped to the group's bounds."""
    if adjustment_type == CHANGE_IN_CAPACITY:
        wanted = current + adjustment
        steps = [f"{CHANGE_IN_CAPACITY} {adjustment:+d}: {current} -> {wanted}"]
    elif adjustment_type == EXACT_CAPACITY:
        wanted = adjustment
        steps = [f"{EXACT_CAPACITY} {adjustment}: {current} -> {wanted}"]
    elif adjustment_type == PERCENT_CHANGE_IN_CAPACITY:
        step = percent_step(current, adjustment, min_adjustment_step)
        wanted = current + step
        floor = f", min_adjustment_step={min_adjustment_step}" if min_adjustment_step else ""
        steps = [f"{PERCENT_CHANGE_IN_CAPACITY} {adjustment:+d}%{floor}: {current} -> {wanted}"]
    else:
        raise ValueError(f"unknown adjustment_type {adjustment_type!r}; known: {', '.join(TYPES)}")
    return clamp(wanted, min_size, max_size, steps)


def clamp(wanted: int, min_size: int, max_size: int, steps: list[str] | None = None) -> Outcome:
    steps = list(steps or [])
    if wanted > max_size:
        steps.append(f"clamped at max_size={max_size}")
        wanted = max_size
    elif wanted < min_size:
        steps.append(f"clamped at min_size={min_size}")
        wanted = min_size
    return Outcome(wanted, tuple(steps))
