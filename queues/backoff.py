"""Visibility backoff for a message to retry: exponential in its receive count, with jitter and Retry-After."""

from __future__ import annotations

import random

SQS_MAX_VISIBILITY_S = 43_200  # 12 hours, SQS's ceiling for ChangeMessageVisibility


def backoff_seconds(
    receive_count: int,
    *,
    base_s: float,
    max_s: float,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> int:
    """Seconds to keep a message invisible before its next attempt.

    "Equal jitter": half of the exponential step is fixed, half random, so retries spread out but never come back
    sooner than half the step. A server's `Retry-After` is a floor. The result fits SQS's 0..43200 range.
    """
    step = min(max_s, base_s * 2 ** min(64, max(0, receive_count - 1)))  # 2**n of a float overflows past ~1024
    delay = step / 2 + (rng or random).uniform(0, step / 2)
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return int(min(SQS_MAX_VISIBILITY_S, max(1, round(delay))))
