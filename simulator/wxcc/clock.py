"""The simulator's notion of now: wall-clock time plus an offset that `/api/v1/simulator/clock` can move forward."""

from __future__ import annotations

import time


class Clock:
    """Milliseconds since the epoch, shifted by `offset_ms` (tests fast-forward instead of sleeping)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def now_ms(self) -> int:
        """The simulated time, in epoch milliseconds."""
        return int(time.time() * 1000) + self.offset_ms

    def advance(self, seconds: float) -> int:
        """Move simulated time forward by `seconds` (never backwards); returns the new now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset_ms += round(seconds * 1000)
        return self.now_ms()
