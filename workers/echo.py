"""The `echo` development stage: logs its message, optionally after a delay or with a chosen failure."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from queues.consumer import HandlerContext
from queues.envelope import Envelope
from shared.errors import Permanent, Retryable
from shared.logging import get_logger

log = get_logger(__name__)


class EchoPayload(BaseModel):
    """What an echo message asks for."""

    model_config = ConfigDict(extra="forbid")

    text: str = ""
    delay_s: float = Field(default=0.0, ge=0, le=3600)
    fail: Literal["retryable", "permanent"] | None = None
    fail_times: int = Field(default=1_000_000, ge=0, description="fail on receives up to this count, then succeed")


async def handle_echo(envelope: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
    """Echo the payload's text into the log; a test and demo stage for the consumer runtime."""
    try:
        payload = EchoPayload.model_validate(envelope.payload)
    except ValidationError as exc:
        raise Permanent(f"echo payload does not validate: {exc.errors()[0]['msg']}") from exc
    if payload.delay_s:
        await asyncio.sleep(payload.delay_s)
    if payload.fail and ctx.receive_count <= payload.fail_times:
        error = Retryable if payload.fail == "retryable" else Permanent
        raise error(f"echo asked to fail ({payload.fail}) on receive {ctx.receive_count}")
    log.info("echo", text=payload.text, receive_count=ctx.receive_count)
    return ()
