"""The chaos run's OpenAI bursts: a few failing requests at a moment, which end even when no request comes."""

from __future__ import annotations

import asyncio
import random

from simulator.chaos.faults import openai_bursts
from simulator.openai_fake.app import running_openai_fake
from tests.chaos.test_fake_billing import _no_scripts
from tests.helpers import eventually


async def test_a_burst_no_request_arrives_for_ends_by_itself() -> None:
    async with running_openai_fake(_no_scripts) as fake:
        faults = fake.faults
        done = asyncio.Event()
        bursts = asyncio.create_task(openai_bursts(fake, 0.2, 3, random.Random(1), done, lasts_s=0.5))
        try:
            await eventually(lambda: faults.rate_limit_next + faults.server_error_next == 3, timeout=5, interval=0.01)
            # No traffic at all: the burst is over within its time, not left waiting for the next requests.
            await eventually(lambda: faults.rate_limit_next + faults.server_error_next == 0, timeout=2, interval=0.01)
        finally:
            done.set()
            await bursts
