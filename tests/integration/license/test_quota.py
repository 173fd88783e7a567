"""Over the wire, the whole pipeline: 30 calls under a 20-call license analyse 20 and hold 10 with the reason; a
50-call key resumes the 10 and they finish; usage equals the analysed calls, each counted once."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from queues.envelope import Envelope, Kind
from shared.config import Settings
from shared.dynamo import from_attr
from shared.journeys import journey_key
from shared.license.service import LicenseService
from shared.license.table import HeldCall, month_of
from shared.tracking import CallStatus, tracking_key
from simulator.wxcc.config import SimulatorConfig
from tests.helpers import eventually
from tests.integration.license.conftest import issue
from tests.integration.pipeline.conftest import Stack, running_stack


def all_recorded(calls: int) -> SimulatorConfig:
    """`calls` short answered calls, every one recorded and its capture available at once."""
    return SimulatorConfig(
        calls=calls,
        seed=5,
        window_hours=1,
        duration_min_s=30,
        duration_max_s=60,
        duration_scale=0.05,  # 3 s calls: the test is about counting them, not about their audio
        abandoned_fraction=0,
        unrecorded_fraction=0,
        consult_fraction=0,
        outbound_fraction=0,
        capture_pending_fraction=0,
        null_capture_fraction=0,
        availability_delay_s=0,
        voice="synth",
    )


def licensing(stack: Stack, ddb: object) -> LicenseService:
    async def send(calls: Sequence[HeldCall]) -> None:
        await stack.send(
            *(
                Envelope(
                    kind=Kind(c.stage),
                    journey_id=c.journey_id,
                    task_id=c.task_id,
                    payload={"org_id": c.org_id, "task_id": c.task_id},
                )
                for c in calls
            )
        )

    return LicenseService(stack.settings, ddb, send_held=send)  # type: ignore[arg-type]


async def test_calls_over_the_limit_are_held_then_resumed_by_a_larger_key(
    settings: Settings, vendor_key: Ed25519PrivateKey, public_key: str
) -> None:
    async with running_stack(settings, all_recorded(30), license_public_key=public_key) as stack:
        org = stack.sim.config.org_id
        now = stack.sim.state.clock.now_ms()
        start = now - 2 * 3600 * 1000
        assert len(stack.sim.state.ended_between(start, now)) == 30
        async with stack.clients.dynamodb() as ddb:
            service = licensing(stack, ddb)
            await service.activate(org, issue(vendor_key, [org], calls=20))
            journey = await stack.start(start, now)

            async def held_counter() -> float:
                key = journey_key(journey.id, "STAGE#transcribe")
                item = (await ddb.get_item(TableName=stack.journeys.table, Key=key, ConsistentRead=True))["Item"]
                return float(from_attr(item["held"])) if "held" in item else 0.0

            async def twenty_analysed_ten_held() -> bool:
                status = await stack.journeys.status(journey.id)
                return status is not None and status.count("analyze", "done") == 20 and await held_counter() == 10

            try:
                await eventually(twenty_analysed_ten_held, timeout=60, interval=0.5)
            except AssertionError as exc:
                raise AssertionError(f"not 20 analysed + 10 held: {await stack.journeys.status(journey.id)}") from exc
            status = await stack.journeys.status(journey.id)
            assert status is not None and status.journey.state.value == "RUNNING"
            # The held calls were never transcribed: nothing beyond the license was paid for.
            assert len(stack.openai.stats.transcriptions_by_task) == 20
            assert stack.openai.stats.completions == 20
            held = await service.table.held(org)
            assert len(held) == 10 and {h.reason for h in held} == {"license_quota"}
            for call in held:
                item = (await ddb.get_item(TableName=stack.tracking.table, Key=tracking_key(org, call.task_id)))["Item"]
                row = {k: from_attr(v) for k, v in item.items()}
                assert row["status"] == CallStatus.HELD.value and row["held_reason"] == "license_quota"
            before = await service.status(org)
            assert before.warning == "100" and before.held_calls == 10 and before.remaining_calls == 0
            assert before.usage.analysed_calls == 20

            after = await service.activate(org, issue(vendor_key, [org], calls=50))
            assert after.held_calls == 0
            done = await stack.finished(journey, timeout=90)
            assert await held_counter() == 0
            assert done.count("analyze", "done") == 30 and done.terminal == 30
            usage = (await service.usage(org, 1))[0]
            assert usage.month == month_of()
            assert usage.analysed_calls == 30 and usage.reserved_calls == 30
            assert stack.openai.stats.completions == 30
            assert (await service.status(org)).warning is None  # 30 of 50 admitted
