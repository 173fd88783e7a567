"""Sends signed `capture:available` webhooks to each subscription when a call's recording becomes available.

Deliveries have the V2 shape a Contact Center subscription receives: a CloudEvents-like envelope (`id`, `specversion`,
`type`, `source` ending in the subscription id, `comciscoorgid`, `datacontenttype`, `data{taskId, filePath,
createdTime}`, `comciscotimestamp`) with the headers `X-WebexCC-Signature` (hex HMAC-SHA256 of the body under the
subscription's secret), `X-WebExCC-Timestamp` (= comciscotimestamp) and `X-WebexCC-Webhook-Version`.
Only captures that become available after a subscription was made are sent to it (as WXCC does).

Faults (fractions of events, from the config): lost (never sent), duplicated (sent twice), delayed (sent
`webhook_delay_s` late), reordered (each tick's events shuffled, seeded), bad signature (sent signed with a wrong
secret instead), replayed (a validly signed copy with an old timestamp is sent as well). Each fault hits evenly spread
events (event n when ⌊(n+1+phase)·f⌋ > ⌊(n+phase)·f⌋), so a fraction f of any run of 1/f events gets it: a test
knows it happened without depending on luck. A 5xx, 409 or a connection
error is retried up to `webhook_retries` times, a second apart; a 4xx is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

from shared.logging import get_logger

if TYPE_CHECKING:
    from simulator.wxcc.generator import Call
    from simulator.wxcc.state import SimulatorState

log = get_logger(__name__)

CAPTURE_AVAILABLE = "capture:available"


@dataclass
class Subscription:
    """One registered subscription (the secret stays in the simulator)."""

    id: str
    name: str
    description: str
    event_types: list[str]
    destination_url: str
    secret: str
    resource_version: str
    created_ms: int

    def to_json(self, org_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "orgId": org_id,
            "name": self.name,
            "description": self.description,
            "eventTypes": self.event_types,
            "destinationUrl": self.destination_url,
            "resourceVersion": self.resource_version,
            "status": "active",
            "createdTime": self.created_ms,
            "lastUpdatedTime": self.created_ms,
        }


@dataclass
class Delivery:
    """One POST to make: what it is (genuine, duplicate, bad_signature, replay) and when (real monotonic time)."""

    kind: str
    task_id: str
    event_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    due: float
    tries: int = 0


@dataclass
class DeliveryLog:
    """What happened to the deliveries: answers per kind, and the tasks with a genuine delivery accepted (2xx)."""

    statuses: Counter[str] = field(default_factory=Counter)  # "{kind}:{status}" (status 0: no answer)
    accepted_tasks: set[str] = field(default_factory=set)
    events: Counter[str] = field(default_factory=Counter)  # generated, lost, duplicated, ... per fault


def _hits(n: int, fraction: float, phase: float) -> bool:
    """Whether event n (from 0) gets a fault that hits `fraction` of events, evenly spread."""
    return int((n + 1 + phase) * fraction) > int((n + phase) * fraction)


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """Finds newly available captures every tick and delivers their events, with the configured faults."""

    def __init__(self, state: SimulatorState) -> None:
        self._state = state
        cfg = state.config
        self._rng = random.Random(f"webhooks-{cfg.seed}")
        self._sent: set[tuple[str, str]] = set()  # (subscription id, task id) with an event generated
        self._queue: list[Delivery] = []
        self._in_flight = 0
        self.log = DeliveryLog()

    def _headers(self, body: bytes, secret: str, stamp: int, version: str) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-WebexCC-Signature": sign(body, secret),
            "X-WebExCC-Timestamp": str(stamp),
            "X-WebexCC-Webhook-Version": version,
        }

    def _body(self, sub: Subscription, call: Call, event_id: str, stamp: int, available_ms: int) -> bytes:
        envelope = {
            "id": event_id,
            "specversion": "1.0",
            "type": CAPTURE_AVAILABLE,
            "source": f"/com/cisco/wxcc/{sub.id}",
            "comciscoorgid": self._state.config.org_id,
            "datacontenttype": "application/json",
            "data": {
                "taskId": call.task_id,
                "filePath": f"https://recordings.invalid/{call.task_id}/combined.wav",
                "createdTime": available_ms,
            },
            "comciscotimestamp": str(stamp),
        }
        return json.dumps(envelope).encode()

    def generate(self) -> int:
        """Queue the events of captures that became available since each subscription was made; returns how many."""
        state, cfg = self._state, self._state.config
        now = state.clock.now_ms()
        delay_ms = round(cfg.availability_delay_s * 1000)
        fresh: list[tuple[Subscription, Call, int]] = []
        for sub in list(state.subscriptions.values()):
            if CAPTURE_AVAILABLE not in sub.event_types:
                continue
            for call in state.calls.values():
                available = call.recordings_available_from(delay_ms)
                if available is None or not sub.created_ms <= available <= now or (sub.id, call.task_id) in self._sent:
                    continue
                self._sent.add((sub.id, call.task_id))
                fresh.append((sub, call, available))
        fresh.sort(key=lambda item: item[2])
        if cfg.webhook_reorder:
            self._rng.shuffle(fresh)
        real_now = time.monotonic()
        for sub, call, available in fresh:
            self._queue_event(sub, call, available, real_now)
        return len(fresh)

    def _queue_event(self, sub: Subscription, call: Call, available: int, real_now: float) -> None:
        cfg, events = self._state.config, self.log.events
        n = events["generated"]
        events["generated"] += 1
        event_id = str(uuid.uuid4())
        stamp = self._state.clock.now_ms()
        body = self._body(sub, call, event_id, stamp, available)
        version = sub.resource_version or "capture:1.0.0"
        due = real_now
        if _hits(n, cfg.webhook_delay_fraction, 1):
            events["delayed"] += 1
            due += cfg.webhook_delay_s
        if _hits(n, cfg.webhook_lost_fraction, 0):
            events["lost"] += 1
        elif _hits(n, cfg.webhook_bad_signature_fraction, 1):
            events["bad_signature"] += 1
            headers = self._headers(body, sub.secret[::-1] + "x", stamp, version)
            self._queue.append(
                Delivery("bad_signature", call.task_id, event_id, sub.destination_url, body, headers, due)
            )
        else:
            headers = self._headers(body, sub.secret, stamp, version)
            self._queue.append(Delivery("genuine", call.task_id, event_id, sub.destination_url, body, headers, due))
            if _hits(n, cfg.webhook_duplicate_fraction, 2):
                events["duplicated"] += 1
                self._queue.append(
                    Delivery("duplicate", call.task_id, event_id, sub.destination_url, body, headers, due + 0.05)
                )
        if _hits(n, cfg.webhook_replay_fraction, 3):
            events["replayed"] += 1
            old = stamp - round(cfg.webhook_replay_age_s * 1000)
            old_body = self._body(sub, call, event_id, old, available)
            old_headers = self._headers(old_body, sub.secret, old, version)
            self._queue.append(
                Delivery("replay", call.task_id, event_id, sub.destination_url, old_body, old_headers, due)
            )

    async def _post(self, http: aiohttp.ClientSession, d: Delivery) -> int:
        try:
            async with http.post(d.url, data=d.body, headers=d.headers, allow_redirects=False) as resp:
                await resp.read()
                return resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("webhook_delivery_failed", task_id=d.task_id, error=type(exc).__name__)
            return 0

    async def deliver_due(self, http: aiohttp.ClientSession) -> int:
        """POST every queued delivery that is due (in queue order); returns how many were attempted."""
        now = time.monotonic()
        due = [d for d in self._queue if d.due <= now]
        self._queue = [d for d in self._queue if d.due > now]
        self._in_flight = len(due)
        for d in due:
            status = await self._post(http, d)
            self._in_flight -= 1
            self.log.statuses[f"{d.kind}:{status}"] += 1
            if 200 <= status < 300 and d.kind == "genuine":
                self.log.accepted_tasks.add(d.task_id)
            if (status == 0 or status >= 500 or status == 409) and d.tries < self._state.config.webhook_retries:
                d.tries += 1
                d.due = time.monotonic() + 1.0
                self._queue.append(d)
        return len(due)

    @property
    def pending(self) -> int:
        """Deliveries queued or being made and not answered yet (delayed, in flight, or to be retried)."""
        return len(self._queue) + self._in_flight

    async def run(self, stop: asyncio.Event) -> None:
        """Generate and deliver every `webhook_tick_s` until `stop` is set (or a reset replaced this sender)."""
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while not stop.is_set() and self._state.webhooks is self:
                try:
                    self.generate()
                    await self.deliver_due(http)
                except Exception:  # the sender must outlive one bad tick
                    log.exception("webhook_tick_failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._state.config.webhook_tick_s)
