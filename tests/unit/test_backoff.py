"""Visibility backoff: exponential in the receive count, jittered, floored by Retry-After, capped by SQS."""

import random

from queues.backoff import SQS_MAX_VISIBILITY_S, backoff_seconds


def test_grows_exponentially_within_equal_jitter_bounds() -> None:
    rng = random.Random(7)
    for count, step in ((1, 10), (2, 20), (3, 40), (4, 80)):
        delays = {backoff_seconds(count, base_s=10, max_s=1000, rng=rng) for _ in range(200)}
        assert min(delays) >= step / 2
        assert max(delays) <= step
        assert len(delays) > 1, "no jitter"


def test_is_capped_by_the_configured_maximum() -> None:
    assert backoff_seconds(30, base_s=10, max_s=60, rng=random.Random(1)) <= 60


def test_retry_after_is_a_floor() -> None:
    assert backoff_seconds(1, base_s=1, max_s=10, retry_after_s=45, rng=random.Random(1)) == 45


def test_never_exceeds_what_sqs_accepts_and_is_at_least_one_second() -> None:
    assert backoff_seconds(1, base_s=0.01, max_s=1) == 1
    assert backoff_seconds(1, base_s=1, max_s=10, retry_after_s=10**9) == SQS_MAX_VISIBILITY_S
