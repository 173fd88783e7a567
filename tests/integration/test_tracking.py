"""The tracking table's conditional writes against the emulator: one claim, one stage run, one transition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from types_aiobotocore_dynamodb import DynamoDBClient

from queues.bootstrap import Bootstrapper
from shared.aws import AwsClients
from shared.config import Settings
from shared.dynamo import transact
from shared.journeys import JourneyStore
from shared.resources import DataResources
from shared.tracking import ABANDONED_CLAIM_S, Begin, CallStatus, TrackingTable, tracking_key

ORG = "org-1"


@pytest.fixture
async def stores(clients: AwsClients, settings: Settings) -> AsyncIterator[tuple[TrackingTable, JourneyStore]]:
    data = DataResources(settings.name_prefix)
    async with clients.dynamodb() as ddb, clients.sqs() as sqs, clients.s3() as s3:
        boot = Bootstrapper(sqs, ddb, s3, region=settings.aws_region, verify=False)
        await boot.table(data.tracking_table)
        await boot.table(data.journeys_table)
        yield TrackingTable(ddb, data.tracking_table.name), JourneyStore(ddb, data.journeys_table.name)


def ddb_of(tracking: TrackingTable) -> DynamoDBClient:
    return tracking._ddb


async def claim(
    tracking: TrackingTable, task: str, journey: str, *, retry_failed: bool = False, lease_s: float = 60
) -> bool:
    put = tracking.claim_put(
        ORG, task, journey, pipeline_version=1, retry_failed=retry_failed, lease_s=lease_s, facts={"ended_ms": 1}
    )
    return await transact(ddb_of(tracking), [{"Put": put}])


async def test_a_call_is_claimed_once_among_concurrent_claimers(stores: tuple[TrackingTable, JourneyStore]) -> None:
    tracking, _ = stores
    results = await asyncio.gather(*(claim(tracking, "t1", f"j{i}") for i in range(8)))
    assert results.count(True) == 1
    row = await tracking.get(ORG, "t1")
    assert row is not None and row.status is CallStatus.CLAIMED
    assert row.journey_id == f"j{results.index(True)}"


async def test_failed_calls_are_taken_again_only_when_the_journey_retries_failures(
    stores: tuple[TrackingTable, JourneyStore],
) -> None:
    tracking, _ = stores
    assert await claim(tracking, "t2", "j1")
    assert await tracking.begin(ORG, "t2", CallStatus.CLAIMED, "fetch", 60) is Begin.STARTED
    fail = tracking.advance_update(
        ORG, "t2", expected=CallStatus.CLAIMED, new=CallStatus.FAILED, stage="fetch", values={"error": "boom"}
    )
    assert await transact(ddb_of(tracking), [{"Update": fail}])
    assert not await claim(tracking, "t2", "j2")
    assert await claim(tracking, "t2", "j3", retry_failed=True)
    row = await tracking.get(ORG, "t2")
    assert row is not None and (row.status, row.journey_id) == (CallStatus.CLAIMED, "j3")


async def test_an_abandoned_claim_is_taken_over_by_another_journey(stores: tuple[TrackingTable, JourneyStore]) -> None:
    tracking, _ = stores
    assert await claim(tracking, "t3", "j1", lease_s=-ABANDONED_CLAIM_S - 1)  # its journey stopped days ago
    assert await claim(tracking, "t3", "j2")
    assert not await claim(tracking, "t3", "j4"), "a live lease must not be taken over"
    assert await claim(tracking, "t3b", "j1", lease_s=-1)
    assert not await claim(tracking, "t3b", "j2"), "a claim whose lease lapsed just now may be waiting for a capture"


async def test_a_call_between_stages_is_never_claimed_again(stores: tuple[TrackingTable, JourneyStore]) -> None:
    """A FETCHED row waits for transcription with no lease: another journey's claim must not redo it (paid twice)."""
    tracking, _ = stores
    assert await claim(tracking, "t3c", "j1", lease_s=-ABANDONED_CLAIM_S - 1)
    assert await tracking.begin(ORG, "t3c", CallStatus.CLAIMED, "fetch", 60) is Begin.STARTED
    move = tracking.advance_update(ORG, "t3c", expected=CallStatus.CLAIMED, new=CallStatus.FETCHED, stage="fetch")
    assert await transact(ddb_of(tracking), [{"Update": move}])
    await ddb_of(tracking).update_item(
        TableName=tracking.table,
        Key=tracking_key(ORG, "t3c"),
        UpdateExpression="SET lease_until = :past",
        ExpressionAttributeValues={":past": {"N": str(time.time() - 10 * ABANDONED_CLAIM_S)}},
    )
    assert not await claim(tracking, "t3c", "j2")
    row = await tracking.get(ORG, "t3c")
    assert row is not None and (row.status, row.journey_id) == (CallStatus.FETCHED, "j1")


async def test_a_stage_runs_once_and_a_redelivered_step_is_already_done(
    stores: tuple[TrackingTable, JourneyStore],
) -> None:
    tracking, journeys = stores
    assert await claim(tracking, "t4", "j1")
    assert await tracking.begin(ORG, "t4", CallStatus.CLAIMED, "fetch", 60) is Begin.STARTED
    assert await tracking.begin(ORG, "t4", CallStatus.CLAIMED, "fetch", 60) is Begin.BUSY
    move = tracking.advance_update(ORG, "t4", expected=CallStatus.CLAIMED, new=CallStatus.FETCHED, stage="fetch")
    count = journeys.counter_update("j1", "fetch", done=1)
    assert await transact(ddb_of(tracking), [{"Update": move}, {"Update": count}])
    assert not await transact(ddb_of(tracking), [{"Update": move}, {"Update": count}]), "moved twice"
    assert await tracking.begin(ORG, "t4", CallStatus.CLAIMED, "fetch", 60) is Begin.ALREADY_DONE
    status = await journeys_status_counts(journeys, "j1")
    assert status == {"done": 1.0}
    assert await tracking.begin(ORG, "t4", CallStatus.FETCHED, "transcribe", 60) is Begin.STARTED
    await tracking.release(ORG, "t4", "transcribe")
    assert await tracking.begin(ORG, "t4", CallStatus.FETCHED, "transcribe", 60) is Begin.STARTED
    assert await tracking.begin(ORG, "missing", CallStatus.CLAIMED, "fetch", 60) is Begin.MISSING


async def test_only_the_lease_holder_renews_releases_or_advances_and_a_takeover_ends_its_rights(
    stores: tuple[TrackingTable, JourneyStore],
) -> None:
    tracking, _ = stores
    assert await claim(tracking, "t6", "j1")
    assert await tracking.begin(ORG, "t6", CallStatus.CLAIMED, "fetch", 5, owner="a") is Begin.STARTED
    began = await tracking.get(ORG, "t6")
    assert began is not None and began.lease_owner == "a"

    renew = tracking.renew
    assert await renew(ORG, "t6", "fetch", 600, expected=CallStatus.CLAIMED, owner="a")
    renewed = await tracking.get(ORG, "t6")
    assert renewed is not None and renewed.lease_until > began.lease_until + 500
    assert not await renew(ORG, "t6", "fetch", 600, expected=CallStatus.CLAIMED, owner="b"), "not b's lease"
    assert not await renew(ORG, "t6", "transcribe", 600, expected=CallStatus.CLAIMED, owner="a"), "wrong stage"
    assert not await renew(ORG, "t6", "fetch", 600, expected=CallStatus.FETCHED, owner="a"), "wrong status"
    assert not await tracking.release(ORG, "t6", "fetch", owner="b")
    assert await tracking.begin(ORG, "t6", CallStatus.CLAIMED, "fetch", 5, owner="b") is Begin.BUSY

    # a's lease lapses (a stalled or died) and b takes the call over: a may no longer renew, release or advance.
    await ddb_of(tracking).update_item(
        TableName=tracking.table,
        Key=tracking_key(ORG, "t6"),
        UpdateExpression="SET lease_until = :past",
        ExpressionAttributeValues={":past": {"N": "0"}},
    )
    assert await tracking.begin(ORG, "t6", CallStatus.CLAIMED, "fetch", 600, owner="b") is Begin.STARTED
    assert not await renew(ORG, "t6", "fetch", 600, expected=CallStatus.CLAIMED, owner="a")
    assert not await tracking.release(ORG, "t6", "fetch", owner="a")
    taken = await tracking.get(ORG, "t6")
    assert taken is not None and taken.lease_owner == "b" and taken.lease_until > time.time() + 500
    for owner, moved in (("a", False), ("b", True)):
        move = tracking.advance_update(
            ORG, "t6", expected=CallStatus.CLAIMED, new=CallStatus.FETCHED, stage="fetch", owner=owner
        )
        assert await transact(ddb_of(tracking), [{"Update": move}]) is moved, f"{owner} advancing"
    assert not await renew(ORG, "t6", "fetch", 600, expected=CallStatus.CLAIMED, owner="b"), "the row moved on"
    assert await tracking.release(ORG, "t6", "fetch") is False


async def journeys_status_counts(journeys: JourneyStore, journey_id: str) -> dict[str, float]:
    resp = await journeys._ddb.get_item(
        TableName=journeys.table, Key={"pk": {"S": f"JOURNEY#{journey_id}"}, "sk": {"S": "STAGE#fetch"}}
    )
    return {"done": float(resp["Item"]["done"]["N"])}


async def test_reprocessing_reopens_an_analysed_call_once_per_pipeline_version(
    stores: tuple[TrackingTable, JourneyStore],
) -> None:
    tracking, _ = stores
    assert await claim(tracking, "t5", "j1")
    for expected, new, stage in (
        (CallStatus.CLAIMED, CallStatus.FETCHED, "fetch"),
        (CallStatus.FETCHED, CallStatus.TRANSCRIBED, "transcribe"),
        (CallStatus.TRANSCRIBED, CallStatus.ANALYZED, "analyze"),
    ):
        assert await tracking.begin(ORG, "t5", expected, stage, 60) is Begin.STARTED
        move = tracking.advance_update(ORG, "t5", expected=expected, new=new, stage=stage)
        assert await transact(ddb_of(tracking), [{"Update": move}])
    assert not await tracking.reopen_for_analysis(ORG, "t5", "j2", 1), "same version: nothing to redo"
    assert await tracking.reopen_for_analysis(ORG, "t5", "j2", 2)
    assert not await tracking.reopen_for_analysis(ORG, "t5", "j3", 2), "reopened twice for one version"
    row = await tracking.get(ORG, "t5")
    assert row is not None and (row.status, row.pipeline_version, row.journey_id) == (CallStatus.TRANSCRIBED, 2, "j2")
    assert await tracking.begin(ORG, "t5", CallStatus.TRANSCRIBED, "analyze", 60) is Begin.STARTED
