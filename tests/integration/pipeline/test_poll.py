"""The poll stage: large windows are split and every call is still found once; a message past the bounds is refused."""

from __future__ import annotations

from typing import Any

from queues.directory import QueueDirectory
from queues.envelope import Envelope, Kind
from shared.config import Settings
from shared.journeys import Journey, JourneyKind, JourneyStore
from simulator.wxcc.config import SimulatorConfig
from tests.helpers import depth, eventually, receive_all
from tests.integration.pipeline.conftest import running_stack
from workers.poll import PollPayload


async def test_a_large_window_is_split_and_each_call_is_found_once(settings: Settings) -> None:
    config = SimulatorConfig(
        calls=12, seed=13, window_hours=3, duration_scale=0.05, availability_delay_s=0, capture_pending_fraction=0
    )
    async with running_stack(settings, config, poll_max_window_s=1800) as stack:
        now = stack.sim.state.clock.now_ms()
        start = now - 4 * 3600 * 1000
        calls = stack.sim.state.ended_between(start, now)
        status = await stack.finished(await stack.start(start, now), timeout=120)
        searches = stack.sim.state.stats.requests["search"]
    assert status.discovered == len(calls)
    assert status.count("poll", "skipped_duplicate") == 0
    assert status.terminal == status.discovered
    assert searches >= 8, "a 4-hour window in 30-minute parts needs at least 8 searches"


async def test_a_window_of_more_than_99_parts_is_split_in_two_levels_and_each_call_is_found_once(
    settings: Settings,
) -> None:
    """DynamoDB takes at most 100 items per transaction: 100 one-minute parts become 50 two-minute ones, split again."""
    config = SimulatorConfig(
        calls=6, seed=5, window_hours=2, duration_scale=0.05, availability_delay_s=0, capture_pending_fraction=0
    )
    async with running_stack(settings, config, poll_max_window_s=60) as stack:
        now = stack.sim.state.clock.now_ms()
        start = now - 100 * 60 * 1000
        calls = stack.sim.state.ended_between(start, now)
        journey = await stack.start(start, now)
        status = await stack.finished(journey, timeout=240)
        searches = stack.sim.state.stats.requests["search"]
        windows = await _poll_windows(stack.journeys, journey.id)
    assert status.discovered == len(calls)
    assert status.terminal == status.discovered
    assert searches >= 100, "every one-minute window is searched"
    spans = sorted((int(b) - int(a)) // 60_000 for a, b in (w.split("-") for w in windows))
    assert spans.count(1) == 100 and spans.count(2) == 50, "50 two-minute children, each split into 2 one-minute ones"


async def _poll_windows(journeys: JourneyStore, journey_id: str) -> list[str]:
    """The `from-to` of every poll window a journey registered (the root window and each split's children)."""
    resp = await journeys._ddb.query(
        TableName=journeys.table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :poll)",
        ExpressionAttributeValues={":pk": {"S": f"JOURNEY#{journey_id}"}, ":poll": {"S": "POLL#"}},
    )
    return [item["sk"]["S"].removeprefix("POLL#") for item in resp["Items"]]


async def test_a_poll_message_beyond_the_journey_bounds_is_dead_lettered_at_once_without_a_split(
    settings: Settings,
) -> None:
    """Messages an older version wrote (or a bug): a window of three centuries, a task list past the bound, one past
    what a poll payload may hold."""
    config = SimulatorConfig(calls=3, seed=13, duration_scale=0.05)
    async with running_stack(settings, config, stages=(Kind.POLL,), journey_max_task_ids=5) as stack:
        org = stack.sim.config.org_id
        centuries = PollPayload(org_id=org, from_ms=0, to_ms=10_000_000_000_000)  # 1970 to 2286
        too_many = PollPayload(org_id=org, task_ids=[f"task-{i}" for i in range(6)])
        # Past even what a poll payload may hold: it does not validate, and its journey must end all the same.
        unreadable = {"org_id": org, "task_ids": [f"t{i}" for i in range(10_001)]}
        journeys = []
        for body, window in (
            (centuries.model_dump(exclude_none=True), centuries.window),
            (too_many.model_dump(exclude_none=True), "tasks"),
            (unreadable, "tasks"),
        ):
            journey = Journey.new(JourneyKind.WINDOW, {"org_id": org}, org_id=org)
            await stack.journeys.create(journey, first_window=window)
            await stack.send(Envelope(kind=Kind.POLL, journey_id=journey.id, payload=body))
            journeys.append(journey)

        async with stack.clients.sqs() as sqs:
            urls = await QueueDirectory(sqs, stack.settings.name_prefix).urls(Kind.POLL)
            dead = await receive_all(sqs, urls.dlq_url, expected=3)

            async def drained() -> bool:
                return await depth(sqs, urls.url) == 0

            # The originals' batched deletes land just after their dead-letter copies; a split would leave children.
            await eventually(drained, timeout=15)
        assert await _poll_windows(stack.journeys, journeys[0].id) == [centuries.window], "the window was split"
        reasons: dict[str, dict[str, Any]] = {}
        for message in dead:
            attributes: dict[str, Any] = message["MessageAttributes"]  # type: ignore[assignment]
            reasons[attributes["journey_id"]["StringValue"]] = attributes
        named = ("CALLPIPE_JOURNEY_MAX_WINDOW_S", "CALLPIPE_JOURNEY_MAX_TASK_IDS", "does not validate")
        for journey, setting in zip(journeys, named, strict=True):
            assert reasons[journey.id]["error_type"]["StringValue"] == "Permanent"
            assert setting in reasons[journey.id]["error_message"]["StringValue"]
            status = await stack.finished(journey, timeout=20)  # it ends, with the reason as its failure
            assert status.pending_polls == 0 and status.discovered == 0
            assert status.count("poll", "failed") == 1
            [failure] = await stack.journeys.jobs(journey.id, outcome="failed")
            assert failure["stage"] == "poll" and setting in failure["reason"]
        assert stack.sim.state.stats.requests["search"] == 0 and stack.sim.state.stats.requests["tasks"] == 0
        assert sum(stack.sim.state.capture_queries.values()) == 0
