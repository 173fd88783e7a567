"""Coalesces the captures lookups of concurrent fetches into `POST /v1/captures/query` calls of up to 10 task ids.

Captures queries are what bounds callpipe's scale under WXCC's 300 requests/minute, so lookups are merged hard:

* a lookup waits up to `CALLPIPE_WXCC_CAPTURES_BATCH_WAIT_S` (0.5 s) for others to share its request — fetches
  arrive spread out (each first takes its lease in DynamoDB, the consumer receives in small batches), and a wait
  much longer than that spread lets the handlers of a worker fall into step, so batches fill up;
* a full batch of 10 goes at once (at most `max_in_flight` queries at a time), but a partial batch waits while any
  query is in flight: the ids that arrive meanwhile join it instead of starting a second, half-empty request;
* each task gets its own outcome: a malformed entry fails only its task (see `WxccClient.query_captures`).
"""

from __future__ import annotations

import asyncio

from shared.wxcc.client import CAPTURES_MAX_IDS, WxccClient
from shared.wxcc.models import Capture

_Waiter = tuple[str, "asyncio.Future[Capture]", float]


class CapturesBatcher:
    """`get(task_id)` from any number of concurrent fetches; requests go out in batches of up to 10 ids."""

    def __init__(self, client: WxccClient, *, max_wait_s: float | None = None, max_in_flight: int = 2) -> None:
        self._client = client
        self._max_wait_s = client.settings.wxcc_captures_batch_wait_s if max_wait_s is None else max_wait_s
        self._max_in_flight = max(1, max_in_flight)
        self._pending: list[_Waiter] = []
        self._timer: asyncio.TimerHandle | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self.requests = 0  # queries sent by this batcher
        self.lookups = 0  # `get` calls answered through them

    async def get(self, task_id: str) -> Capture:
        """The captures of one task (an empty recording list means not ready yet); raises the task's own failure."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Capture] = loop.create_future()
        self._pending.append((task_id, future, loop.time()))
        self._schedule()
        return await future

    def _schedule(self) -> None:
        """Send what is due: full batches while query slots are free, a partial one once it waited long enough and
        nothing is in flight; otherwise make sure something will call this again (a timer or a query's end)."""
        loop = asyncio.get_running_loop()
        self._pending = [w for w in self._pending if not w[1].done()]  # drop lookups whose caller went away
        while len(self._pending) >= CAPTURES_MAX_IDS and len(self._inflight) < self._max_in_flight:
            self._send()
        if not self._pending or (self._inflight and len(self._pending) >= CAPTURES_MAX_IDS):
            return  # nothing waits, or a full batch waits for a query to end
        due_in = self._pending[0][2] + self._max_wait_s - loop.time()
        if due_in <= 0:
            if not self._inflight:
                self._send()
            return  # else: the in-flight query's end sends it
        if self._timer is None:
            self._timer = loop.call_later(due_in, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._schedule()

    def _send(self) -> None:
        batch, self._pending = self._pending[:CAPTURES_MAX_IDS], self._pending[CAPTURES_MAX_IDS:]
        if self._timer is not None and not self._pending:
            self._timer.cancel()
            self._timer = None
        self.requests += 1
        self.lookups += len(batch)
        task = asyncio.create_task(self._query(batch))
        self._inflight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._schedule()

    async def _query(self, batch: list[_Waiter]) -> None:
        try:
            outcomes = await self._client.query_captures([task_id for task_id, _, _ in batch])
        except Exception as exc:  # every waiter gets the failure, classified as the client raised it
            for _, future, _ in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for task_id, future, _ in batch:
            if future.done():
                continue
            outcome = outcomes[task_id]
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
