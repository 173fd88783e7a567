"""What the fetch, transcribe and analyze stages share: the call a message is about, and the journey gate."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from queues.envelope import Envelope
from shared.errors import Permanent
from shared.journeys import JourneyState
from workers.context import StageContext


class CallRef(BaseModel):
    """Which call a fetch/transcribe/analyze message is about."""

    model_config = ConfigDict(extra="forbid")

    org_id: str
    task_id: str


def parse_ref(envelope: Envelope, stage: str) -> CallRef:
    """The call a message is about, or a Permanent error saying why not."""
    try:
        return CallRef.model_validate(envelope.payload)
    except ValidationError as exc:
        raise Permanent(f"{stage} payload does not validate: {exc.errors()[0]['msg']}") from exc


async def journey_running(ctx: StageContext, journey_id: str) -> bool:
    """False for a cancelled (or vanished) journey: its in-flight messages are acknowledged without work."""
    journey = await ctx.journeys.get(journey_id)
    return journey is not None and journey.state is not JourneyState.CANCELLED
