"""Everything one simulator instance holds: config, clock, calls and their indexes, tokens, faults, limits, stats."""

from __future__ import annotations

import bisect
import secrets
from collections import Counter
from dataclasses import dataclass
from typing import Any

from shared.logging import get_logger
from simulator.wxcc.clock import Clock
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.faults import FaultEngine
from simulator.wxcc.generator import Call, RecordingLeg, generate_calls
from simulator.wxcc.ratelimit import RateLimiter
from simulator.wxcc.signing import UrlSigner
from simulator.wxcc.stats import Stats
from simulator.wxcc.tokens import TokenStore
from simulator.wxcc.wavcache import WavCache
from simulator.wxcc.webhooks import Subscription, WebhookSender

log = get_logger(__name__)


@dataclass(frozen=True)
class LegRef:
    """A recording and the call it belongs to."""

    call: Call
    leg: RecordingLeg


class SimulatorState:
    """The mutable world behind the API; `reset` rebuilds it from a config (same seed → same calls)."""

    def __init__(self, config: SimulatorConfig, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._secret = (config.url_secret or secrets.token_hex(32)).encode()
        self.reset(config)

    def reset(self, config: SimulatorConfig) -> None:
        """Forget everything and start again from `config` (the clock offset goes back to zero)."""
        self.config = config
        self.clock.offset_ms = 0
        if config.url_secret:
            self._secret = config.url_secret.encode()
        self.signer = UrlSigner(self._secret)
        self.stats = Stats()
        self.faults = FaultEngine(config.faults, config.seed if config.fault_seed is None else config.fault_seed)
        self.limiter = RateLimiter(config.rate_limit_per_min, self.clock.now_ms)
        self.tokens = TokenStore(
            self.clock.now_ms,
            org_id=config.org_id,
            access_ttl_s=config.access_token_ttl_s,
            refresh_ttl_s=config.refresh_token_ttl_s,
            overlap_s=config.refresh_overlap_s,
        )
        self.tokens.add_refresh_token(config.refresh_token, config.client_id)
        self.wavs = WavCache(sample_rate=config.sample_rate, voice=config.voice, max_bytes=config.wav_cache_bytes)
        self.capture_queries: Counter[str] = Counter()  # captures queries per task id
        self.leg_downloads: Counter[str] = Counter()  # GETs of each recording (complete or cut short)
        self.truncate_legs: dict[str, tuple[int, float]] = {}  # recording id → (downloads left to cut, fraction)
        self.subscriptions: dict[str, Subscription] = {}  # webhooks (issue 17)
        self.webhooks = WebhookSender(self)
        self.calls: dict[str, Call] = {}
        self.legs: dict[str, LegRef] = {}
        self.tags: dict[str, LegRef] = {}
        self._by_created: list[Call] = []
        self._created_keys: list[int] = []
        self._by_ended: list[Call] = []
        self._ended_keys: list[int] = []
        self._batches = 0
        self._next_serial = 1
        if config.window_start_ms is not None and config.window_end_ms is not None:
            start, end = config.window_start_ms, config.window_end_ms
        else:
            end = self.clock.now_ms()
            start = end - round(config.window_hours * 3_600_000)
        self.generate(config.calls, start, end)

    def generate(self, count: int, start_ms: int, end_ms: int) -> list[Call]:
        """Add `count` calls created in [start_ms, end_ms) (batch n of the seed: deterministic)."""
        calls = generate_calls(
            self.config, batch=self._batches, count=count, start_ms=start_ms, end_ms=end_ms,
            first_serial=self._next_serial,
        )  # fmt: skip
        self._batches += 1
        for call in calls:
            self.calls[call.task_id] = call
            for leg in call.recordings:
                ref = LegRef(call, leg)
                self.legs[leg.id] = ref
                self.tags[leg.script.tag] = ref
                self._next_serial += 1
        self._by_created = sorted(self.calls.values(), key=lambda c: (c.created_ms, c.task_id))
        self._created_keys = [c.created_ms for c in self._by_created]
        self._by_ended = sorted(self.calls.values(), key=lambda c: (c.ended_ms, c.task_id))
        self._ended_keys = [c.ended_ms for c in self._by_ended]
        log.info("calls_generated", count=len(calls), total=len(self.calls), start_ms=start_ms, end_ms=end_ms)
        return calls

    def created_between(self, start_ms: int, end_ms: int) -> list[Call]:
        """Calls with createdTime in [start_ms, end_ms), by createdTime then id."""
        lo = bisect.bisect_left(self._created_keys, start_ms)
        hi = bisect.bisect_left(self._created_keys, end_ms)
        return self._by_created[lo:hi]

    def ended_between(self, start_ms: int, end_ms: int) -> list[Call]:
        """Calls with endedTime in [start_ms, end_ms] (inclusive), by endedTime then id."""
        lo = bisect.bisect_left(self._ended_keys, start_ms)
        hi = bisect.bisect_right(self._ended_keys, end_ms)
        return self._by_ended[lo:hi]

    def truncate_leg(self, recording_id: str, count: int, fraction: float) -> None:
        """Cut the next `count` downloads of one recording after `fraction` of its bytes."""
        self.truncate_legs[recording_id] = (count, fraction)

    def take_truncation(self, recording_id: str) -> float | None:
        """The fraction to send of this download of a recording, if a truncation is pending for it."""
        left, fraction = self.truncate_legs.get(recording_id, (0, 0.0))
        if left <= 0:
            return None
        self.truncate_legs[recording_id] = (left - 1, fraction)
        return fraction

    def stats_json(self) -> dict[str, Any]:
        """Everything `/api/v1/simulator/stats` reports."""
        return {
            **self.stats.to_json(),
            "faults": dict(self.faults.injected),
            "tokensIssued": dict(self.tokens.issued),
            "calls": len(self.calls),
            "recordings": {
                "total": len(self.legs),
                "rendered": self.wavs.rendered,
                "cacheHits": self.wavs.hits,
                "renderSeconds": round(self.wavs.render_seconds, 3),
            },
            "now": self.clock.now_ms(),
            "webhooks": {  # webhooks (issue 17)
                "subscriptions": len(self.subscriptions),
                "events": dict(self.webhooks.log.events),
                "deliveries": dict(self.webhooks.log.statuses),
                "pending": self.webhooks.pending,
            },
        }
