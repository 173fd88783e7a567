"""The stage messages that resume calls the license held: each call's transcribe or analyze message, sent again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from queues.envelope import Envelope, Kind
from queues.producer import Producer
from shared.license.table import HeldCall


def resumed_envelopes(calls: Sequence[HeldCall]) -> list[Envelope]:
    """The stage message of each resumed call (transcribe or analyze, as when it was held)."""
    return [
        Envelope(
            kind=Kind(call.stage),
            journey_id=call.journey_id,
            task_id=call.task_id,
            payload={"org_id": call.org_id, "task_id": call.task_id},
        )
        for call in calls
    ]


def held_sender(producer: Producer) -> Callable[[Sequence[HeldCall]], Awaitable[None]]:
    """A `LicenseService` sender of resumed calls through `producer`."""

    async def send(calls: Sequence[HeldCall]) -> None:
        await producer.send(resumed_envelopes(calls))

    return send
