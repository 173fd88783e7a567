"""Coalesces the captures lookups of concurrent fetches into `POST /v1/captures/query` calls of up to 10 task ids."""

from __future__ import annotations

import asyncio

from shared.wxcc.client import CAPTURES_MAX_IDS, WxccClient
from shared.wxcc.models import Capture


class CapturesBatcher:
    """Each `get` waits at most `max_wait_s` for others to share its request; a full batch goes at once.

    Under load this cuts captures requests up to tenfold, which matters against WXCC's 300 requests/min budget.
    """

    def __init__(self, client: WxccClient, *, max_wait_s: float = 0.05) -> None:
        self._client = client
        self._max_wait_s = max_wait_s
        self._pending: list[tuple[str, asyncio.Future[Capture]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    async def get(self, task_id: str) -> Capture:
        """The captures of one task (an empty recording list means not ready yet)."""
        future: asyncio.Future[Capture] = asyncio.get_running_loop().create_future()
        self._pending.append((task_id, future))
        if len(self._pending) >= CAPTURES_MAX_IDS:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._max_wait_s, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending[:CAPTURES_MAX_IDS], self._pending[CAPTURES_MAX_IDS:]
        if self._pending:
            self._timer = asyncio.get_running_loop().call_later(0, self._flush)
        if batch:
            task = asyncio.create_task(self._query(batch))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _query(self, batch: list[tuple[str, asyncio.Future[Capture]]]) -> None:
        try:
            captures = await self._client.captures([task_id for task_id, _ in batch])
        except Exception as exc:  # every waiter gets the failure, classified as the client raised it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for task_id, future in batch:
            if not future.done():
                future.set_result(captures[task_id])
