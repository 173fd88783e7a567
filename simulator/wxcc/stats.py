"""What the simulator served: requests and statuses per endpoint, downloads, rate-limit refusals."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any


class Stats:
    """Counters the control API reports (faults and tokens are counted by their own components)."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.statuses: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.downloads: Counter[str] = Counter()
        self.bytes_served = 0
        self.rate_limited = 0

    def request(self, endpoint: str) -> None:
        """Count one request to `endpoint`."""
        self.requests[endpoint] += 1

    def response(self, endpoint: str, status: int) -> None:
        """Count one response of `status` from `endpoint`."""
        self.statuses[endpoint][str(status)] += 1

    def to_json(self) -> dict[str, Any]:
        """The counters as JSON."""
        return {
            "requests": dict(self.requests),
            "statuses": {endpoint: dict(counts) for endpoint, counts in self.statuses.items()},
            "downloads": dict(self.downloads),
            "bytesServed": self.bytes_served,
            "rateLimited": self.rate_limited,
        }
