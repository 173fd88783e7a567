"""Recording WAVs made on first request (off the event loop, once per recording) and kept in a bounded LRU cache."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

from shared.logging import get_logger
from simulator.wxcc.generator import RecordingLeg
from simulator.wxcc.render import render_recording

log = get_logger(__name__)


class WavCache:
    """WAV bytes per recording id; at most `max_bytes` kept, least recently used dropped first."""

    def __init__(self, *, sample_rate: int, voice: str, max_bytes: int) -> None:
        self.sample_rate = sample_rate
        self._voice = voice
        self._max_bytes = max_bytes
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._locks: dict[str, asyncio.Lock] = {}
        self.rendered = 0
        self.hits = 0
        self.render_seconds = 0.0

    async def get(self, leg: RecordingLeg) -> bytes:
        """The WAV of `leg`, rendered in a worker thread the first time (concurrent callers share one render)."""
        cached = self._hit(leg.id)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(leg.id, asyncio.Lock())
        async with lock:
            cached = self._hit(leg.id)
            if cached is not None:
                return cached
            started = time.perf_counter()
            data = await asyncio.to_thread(render_recording, leg, self.sample_rate, self._voice)
            elapsed = time.perf_counter() - started
            self.rendered += 1
            self.render_seconds += elapsed
            log.debug("recording_rendered", recording_id=leg.id, bytes=len(data), seconds=round(elapsed, 3))
            self._store(leg.id, data)
        self._locks.pop(leg.id, None)
        return data

    def _hit(self, key: str) -> bytes | None:
        data = self._cache.get(key)
        if data is not None:
            self._cache.move_to_end(key)
            self.hits += 1
        return data

    def _store(self, key: str, data: bytes) -> None:
        if len(data) > self._max_bytes:
            return
        self._cache[key] = data
        self._size += len(data)
        while self._size > self._max_bytes:
            _, dropped = self._cache.popitem(last=False)
            self._size -= len(dropped)

    def clear(self) -> None:
        """Forget every cached file."""
        self._cache.clear()
        self._size = 0
