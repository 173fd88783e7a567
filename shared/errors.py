"""The failure classes every stage raises, and how the consumer runtime treats each (DESIGN §5)."""

from __future__ import annotations


class CallpipeError(Exception):
    """Base of every error callpipe raises on purpose."""


class Retryable(CallpipeError):
    """A transient failure (timeout, 5xx, 429, throttling): leave the message and retry after a backoff.

    `retry_after` (seconds), when the remote side said how long to wait, is honoured as a lower bound.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotReadyYet(Retryable):
    """The work cannot be done yet (e.g. WXCC has no capture yet): retry on a longer schedule."""


class Permanent(CallpipeError):
    """A failure that will not change on retry (validation, a 4xx): dead-letter now with the reason."""


class PoisonMessage(Permanent):
    """A queue message that cannot be read: not JSON, the wrong shape, or an unknown schema version."""
