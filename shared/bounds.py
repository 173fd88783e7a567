"""Bounds on the work one journey may ask for: window length, how far back, future ends, number of task ids.

One function per kind of request, used by every front door (API, CLI) and again by the poll stage on what it reads
from a message, so that a message written by an older version cannot flood WXCC or the queues either.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from shared.config import Settings

# A `to` this far past the clock is accepted: clocks differ a little, and "up to now" is a common request.
FUTURE_TOLERANCE_S = 300


@dataclass(frozen=True)
class BoundViolation:
    """One bound a request breaks: the setting that holds it, its value and a sentence for the user."""

    setting: str
    limit: int
    message: str
    field: str


class JourneyTooLarge(ValueError):
    """A journey asks for more work than the configured bounds allow."""

    def __init__(self, violation: BoundViolation) -> None:
        super().__init__(violation.message)
        self.violation = violation


def _days(seconds: int) -> str:
    return f"{seconds / 86400:g} days" if seconds >= 86400 else f"{seconds} s"


def window_violation(
    from_ms: int, to_ms: int, settings: Settings, *, now_ms: int | None = None
) -> BoundViolation | None:
    """The first bound a window of call end times breaks, or None."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if from_ms >= to_ms:
        return BoundViolation("", 0, "`from` must be before `to`", "from")
    span_s = (to_ms - from_ms) / 1000
    if span_s > settings.journey_max_window_s:
        return BoundViolation(
            "CALLPIPE_JOURNEY_MAX_WINDOW_S",
            settings.journey_max_window_s,
            f"the window spans {span_s / 86400:.1f} days; one journey may cover at most "
            f"{_days(settings.journey_max_window_s)} (CALLPIPE_JOURNEY_MAX_WINDOW_S): split it into several journeys",
            "to",
        )
    if now - from_ms > settings.journey_max_lookback_s * 1000:
        return BoundViolation(
            "CALLPIPE_JOURNEY_MAX_LOOKBACK_S",
            settings.journey_max_lookback_s,
            f"`from` is older than {_days(settings.journey_max_lookback_s)} (CALLPIPE_JOURNEY_MAX_LOOKBACK_S): "
            "WXCC keeps no searchable calls that old",
            "from",
        )
    if to_ms > now + FUTURE_TOLERANCE_S * 1000:
        return BoundViolation(
            "",
            FUTURE_TOLERANCE_S,
            f"`to` is in the future (more than {FUTURE_TOLERANCE_S} s past the server's clock): calls that have not "
            "ended cannot be polled",
            "to",
        )
    return None


def task_ids_violation(count: int, settings: Settings) -> BoundViolation | None:
    """The bound a list of `count` task ids breaks, or None."""
    if count > settings.journey_max_task_ids:
        return BoundViolation(
            "CALLPIPE_JOURNEY_MAX_TASK_IDS",
            settings.journey_max_task_ids,
            f"{count} task ids; one journey may list at most {settings.journey_max_task_ids} "
            "(CALLPIPE_JOURNEY_MAX_TASK_IDS): split them into several journeys",
            "task_ids",
        )
    return None


def check_window(from_ms: int, to_ms: int, settings: Settings, *, now_ms: int | None = None) -> None:
    """Raise `JourneyTooLarge` if the window breaks a bound."""
    violation = window_violation(from_ms, to_ms, settings, now_ms=now_ms)
    if violation is not None:
        raise JourneyTooLarge(violation)


def check_task_ids(count: int, settings: Settings) -> None:
    """Raise `JourneyTooLarge` if the list of task ids is too long."""
    violation = task_ids_violation(count, settings)
    if violation is not None:
        raise JourneyTooLarge(violation)
