"""The whole pipeline in one process: emulator, WXCC simulator, OpenAI fake, and every stage's consumer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from api.start import JourneyRequest, start_journey
from queues.bootstrap import bootstrap
from queues.claimcheck import ClaimCheck
from queues.consumer import ConsumerStats
from queues.directory import QueueDirectory
from queues.envelope import Envelope, Kind
from queues.producer import Producer
from shared.aws import AwsClients
from shared.config import Settings
from shared.journeys import Journey, JourneyStatus, JourneyStore
from shared.resources import DataResources
from shared.tracking import TrackingTable
from simulator.openai_fake.app import FakeHandle, http_script_source, running_openai_fake
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.server import SimulatorHandle, running_simulator
from tests.helpers import eventually
from tests.integration.wxcc.conftest import wxcc_settings
from workers.runner import run_stage

PIPELINE = (Kind.POLL, Kind.FETCH, Kind.TRANSCRIBE, Kind.ANALYZE)


@dataclass
class Stack:
    """A running pipeline and handles to look at what it did."""

    settings: Settings
    sim: SimulatorHandle
    openai: FakeHandle
    journeys: JourneyStore
    tracking: TrackingTable
    producer: Producer
    clients: AwsClients
    launch: Callable[[Kind], None]
    """Start another stage's consumer (for a stack started with only some of them)."""
    workers: list[asyncio.Task[ConsumerStats]]
    """The consumers' tasks: one that is done has crashed (they only stop when the stack does)."""

    async def start(self, from_ms: int, to_ms: int) -> Journey:
        return await start_journey(
            self.journeys, self.producer, JourneyRequest(self.sim.config.org_id, from_ms=from_ms, to_ms=to_ms)
        )

    async def start_tasks(self, *task_ids: str) -> Journey:
        request = JourneyRequest(self.sim.config.org_id, task_ids=task_ids)
        return await start_journey(self.journeys, self.producer, request)

    async def finished(self, journey: Journey, timeout: float = 150) -> JourneyStatus:
        async def completed() -> bool:
            status = await self.journeys.status(journey.id)
            return status is not None and status.journey.state.value == "COMPLETED"

        try:
            await eventually(completed, timeout=timeout, interval=0.5)
        except AssertionError as exc:
            raise AssertionError(f"journey not completed: {await self.journeys.status(journey.id)}") from exc
        status = await self.journeys.status(journey.id)
        assert status is not None
        return status

    async def send(self, *envelopes: Envelope) -> None:
        await self.producer.send(envelopes)


def sim_config() -> SimulatorConfig:
    """30 short calls in the last hour. With this seed the latest call ended ~74 s before start-up: its
    captureRequested stays unknown for 78 s and its recording appears after 80 s, so the poll stage has to look again
    and the fetch stage has to wait for a late capture; two calls have a consult leg, six have no recording."""
    return SimulatorConfig(
        calls=30,
        seed=22,
        window_hours=1,
        duration_scale=0.12,
        abandoned_fraction=0.15,
        unrecorded_fraction=0.1,
        consult_fraction=0.3,
        capture_pending_fraction=0.15,
        capture_pending_s=78,
        availability_delay_s=80,
    )


@asynccontextmanager
async def running_stack(
    settings: Settings, sim: SimulatorConfig | None = None, *, stages: tuple[Kind, ...] = PIPELINE, **overrides: object
) -> AsyncIterator[Stack]:
    """The emulator's resources, the WXCC simulator, the OpenAI fake and the `stages`' consumers (all four)."""
    async with (
        running_simulator(sim or sim_config()) as wxcc,
        running_openai_fake(http_script_source(wxcc.base_url)) as fake,
    ):
        s = wxcc_settings(
            settings,
            wxcc,
            **{
                "openai_base_url": fake.base_url,
                "transcription_model": "whisper-1",
                "analysis_model": "gpt-4o-mini",
                "consumer_concurrency": 8,
                "not_ready_base_s": 1,
                "not_ready_max_s": 2,
                "poll_recheck_s": 2,
                "capture_max_age_s": 3600,
                "wxcc_rate_per_minute": 100_000,
                **overrides,
            },
        )
        await bootstrap(s)
        stop = asyncio.Event()
        workers = [asyncio.create_task(run_stage(kind, s, stop)) for kind in stages]
        clients = AwsClients(s)
        resources = DataResources(s.name_prefix)
        async with clients.dynamodb() as ddb, clients.sqs() as sqs, clients.s3() as s3:
            producer = Producer(sqs, QueueDirectory(sqs, s.name_prefix), ClaimCheck(s3, resources.messages_bucket.name))
            try:
                yield Stack(
                    s,
                    wxcc,
                    fake,
                    JourneyStore(ddb, resources.journeys_table.name),
                    TrackingTable(ddb, resources.tracking_table.name),
                    producer,
                    clients,
                    lambda kind: workers.append(asyncio.create_task(run_stage(kind, s, stop))),
                    workers,
                )
            finally:
                stop.set()
                await asyncio.wait_for(asyncio.gather(*workers, return_exceptions=True), timeout=60)


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(settings) as running:
        yield running
