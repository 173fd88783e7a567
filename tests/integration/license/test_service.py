"""`LicenseService` against the local DynamoDB: the reservation holds under concurrency, warnings fire once, a
reprocess in the same month is not counted again, a month rollover is noticed, bootstrap --verify checks the table."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from types_aiobotocore_dynamodb import DynamoDBClient

from queues.bootstrap import bootstrap
from shared.aws import AwsClients
from shared.config import Settings
from shared.license.keys import LicenseDocument, sign
from shared.license.service import LicenseService, previous_months
from shared.license.table import HeldCall, month_of
from shared.resources import DataResources
from shared.tracking import CallStatus, tracking_key
from tests.integration.license.conftest import issue

ORG = "org-svc"
JANUARY_15 = 1_799_999_999.0  # 2027-01-15 (UTC)


@pytest.fixture
async def ddb(settings: Settings) -> AsyncIterator[DynamoDBClient]:
    await bootstrap(settings, include_echo=False)
    async with AwsClients(settings).dynamodb() as client:
        yield client


@pytest.fixture
def make(settings: Settings, ddb: DynamoDBClient, public_key: str) -> Callable[..., LicenseService]:
    def build(now: float | None = None) -> LicenseService:
        licensed = settings.model_copy(update={"license_public_key": public_key})
        return LicenseService(licensed, ddb, clock=time.time if now is None else (lambda: now))

    return build


async def test_thirty_concurrent_calls_under_a_twenty_call_license_admit_exactly_twenty(
    make: Callable[..., LicenseService], vendor_key: Ed25519PrivateKey
) -> None:
    service = make()
    await service.activate(ORG, issue(vendor_key, [ORG], calls=20))
    admissions = await asyncio.gather(*(service.admit(ORG, f"task-{i}", "j-1") for i in range(30)))
    assert sum(a.allowed for a in admissions) == 20
    assert {a.reason for a in admissions if not a.allowed} == {"license_quota"}
    # A redelivered call that was admitted is admitted again, without counting; one that was not stays out.
    admitted = [i for i, a in enumerate(admissions) if a.allowed]
    refused = [i for i, a in enumerate(admissions) if not a.allowed]
    assert (await service.admit(ORG, f"task-{admitted[0]}", "j-1")).allowed
    assert not (await service.admit(ORG, f"task-{refused[0]}", "j-1")).allowed
    status = await service.status(ORG)
    assert status.usage.reserved_calls == 20 and status.remaining_calls == 0 and status.warning == "100"


async def test_warnings_at_80_and_100_percent_are_recorded_once(
    make: Callable[..., LicenseService], vendor_key: Ed25519PrivateKey
) -> None:
    service = make()
    await service.activate(ORG, issue(vendor_key, [ORG], calls=10))
    month = month_of()
    for i in range(7):
        await service.admit(ORG, f"t{i}", "j")
    assert (await service.status(ORG)).warning is None
    await service.admit(ORG, "t7", "j")
    assert (await service.status(ORG)).warning == "80"
    assert not await service.table.mark_warned(ORG, month, 80)  # already warned: nobody warns twice
    await service.admit(ORG, "t8", "j")
    await service.admit(ORG, "t9", "j")
    assert (await service.status(ORG)).warning == "100"
    assert not await service.table.mark_warned(ORG, month, 100)


async def test_a_call_is_metered_once_per_month(
    make: Callable[..., LicenseService], ddb: DynamoDBClient, vendor_key: Ed25519PrivateKey
) -> None:
    service = make()
    admission = await service.admit(ORG, "call-1", "j")
    items = await service.meter_items(ORG, "call-1", admission.month, 42.5)
    assert len(items) == 2
    await ddb.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
    # A reprocess of the same call in the same month: admitted, nothing more to count.
    again = await service.admit(ORG, "call-1", "j-reprocess")
    assert again.allowed and await service.meter_items(ORG, "call-1", again.month, 42.5) == []
    usage = (await service.usage(ORG, 2))[0]
    assert (usage.analysed_calls, usage.billed_audio_seconds, usage.reserved_calls) == (1, 42.5, 1)
    # Never admitted: nothing to count against.
    assert await service.meter_items(ORG, "never-admitted", admission.month, 1.0) == []


async def test_the_first_admission_of_a_new_month_notices_calls_held_before(
    make: Callable[..., LicenseService], ddb: DynamoDBClient
) -> None:
    january = make(now=JANUARY_15)
    assert (await january.admit(ORG, "a", "j")).month == "2027-01"
    held = HeldCall(ORG, "old", "j", "transcribe", "FETCHED", "license_quota", "2026-12", JANUARY_15 - 40 * 86400)
    await ddb.put_item(**january.table.held_put(held))
    fresh = make(now=JANUARY_15)
    first, second = await fresh.admit(ORG, "b", "j"), await fresh.admit(ORG, "c", "j")
    assert first.rollover and not second.rollover
    assert previous_months("2027-01", 3) == ["2027-01", "2026-12", "2026-11"]


async def test_bootstrap_verify_reports_a_missing_license_table(settings: Settings, ddb: DynamoDBClient) -> None:
    assert (await bootstrap(settings, verify=True, include_echo=False)).problems == []
    table = DataResources(settings.name_prefix).license_table.name
    await ddb.delete_table(TableName=table)
    report = await bootstrap(settings, verify=True, include_echo=False)
    assert f"table {table} is missing" in report.problems


async def test_an_audio_hours_limit_holds_calls_once_the_billed_audio_reaches_it(
    make: Callable[..., LicenseService], ddb: DynamoDBClient, vendor_key: Ed25519PrivateKey
) -> None:

    now = time.time()
    doc = LicenseDocument(
        license_id="lic_audio",
        customer="Acme",
        org_ids=(ORG,),
        plan="audio",
        calls_per_month=None,
        audio_hours_per_month=0.01,  # 36 s
        not_before=now - 60,
        expires_at=now + 86400,
    )
    service = make()
    await service.activate(ORG, sign(doc, vendor_key))
    first = await service.admit(ORG, "long-call", "j")
    assert first.allowed
    await ddb.transact_write_items(TransactItems=await service.meter_items(ORG, "long-call", first.month, 40.0))  # type: ignore[arg-type]
    second = await service.admit(ORG, "next-call", "j")
    assert not second.allowed and second.reason == "license_quota"
    status = await service.status(ORG)
    assert status.remaining_audio_hours == 0 and status.warning == "100" and status.remaining_calls is None


def _audio_license(vendor_key: Ed25519PrivateKey, hours: float, license_id: str) -> str:
    now = time.time()
    doc = LicenseDocument(
        license_id=license_id,
        customer="Acme",
        org_ids=(ORG,),
        plan="audio",
        calls_per_month=None,
        audio_hours_per_month=hours,
        not_before=now - 60,
        expires_at=now + 86400,
    )
    return sign(doc, vendor_key)


async def test_a_call_held_by_the_audio_limit_is_not_resumed_while_the_audio_is_used_up(
    make: Callable[..., LicenseService], ddb: DynamoDBClient, settings: Settings, vendor_key: Ed25519PrivateKey
) -> None:
    service = make()
    await service.activate(ORG, _audio_license(vendor_key, 0.01, "lic_a1"))  # 36 s, no calls limit
    first = await service.admit(ORG, "long-call", "j")
    await ddb.transact_write_items(TransactItems=await service.meter_items(ORG, "long-call", first.month, 40.0))  # type: ignore[arg-type]
    refused = await service.admit(ORG, "held-call", "j")
    assert not refused.allowed
    tracking = DataResources(settings.name_prefix).tracking_table.name
    row = {
        **tracking_key(ORG, "held-call"),
        "org_id": {"S": ORG},
        "status": {"S": CallStatus.HELD.value},
        "held_reason": {"S": "license_quota"},
    }
    await ddb.put_item(TableName=tracking, Item=row)
    held = HeldCall(ORG, "held-call", "j", "transcribe", "FETCHED", "license_quota", refused.month, time.time())
    await ddb.put_item(**service.table.held_put(held))
    sent: list[str] = []

    async def send(calls: Sequence[HeldCall]) -> None:
        sent.extend(c.task_id for c in calls)

    status = await service.status(ORG)
    assert status.remaining_calls is None and not status.can_admit  # the after-hold path's test: no resume
    assert await service.resume_held(ORG, send=send) == 0 and sent == []
    assert [h.task_id for h in await service.table.held(ORG)] == ["held-call"]
    # With audio room again (a bigger key), the held call is resumed, once.
    await service.activate(ORG, _audio_license(vendor_key, 1.0, "lic_a2"))
    assert (await service.status(ORG)).can_admit
    assert await service.resume_held(ORG, send=send) == 1 and sent == ["held-call"]
    resp = await ddb.get_item(TableName=tracking, Key=tracking_key(ORG, "held-call"), ConsistentRead=True)
    assert resp["Item"]["status"]["S"] == "FETCHED"


FEBRUARY_1 = 1_801_440_000.0 + 3600  # 2027-02-01 01:00 (UTC)
JANUARY_31 = FEBRUARY_1 - 2 * 3600  # 2027-01-31 23:00 (UTC)


async def test_a_call_transcribed_on_january_31_and_analysed_on_february_1_is_reserved_and_counted_once(
    make: Callable[..., LicenseService], ddb: DynamoDBClient, settings: Settings, vendor_key: Ed25519PrivateKey
) -> None:
    assert (month_of(JANUARY_31), month_of(FEBRUARY_1)) == ("2027-01", "2027-02")
    january, february = make(now=JANUARY_31), make(now=FEBRUARY_1)  # the service's injectable clock
    await january.activate(ORG, issue(vendor_key, [ORG], calls=1))
    transcribe = await january.admit(ORG, "late-call", "j")
    assert transcribe.allowed and transcribe.month == "2027-01"
    # The row records the admission month (as the transcribe step writes it) and analyze reads it back.
    tracking = DataResources(settings.name_prefix).tracking_table.name
    row = {**tracking_key(ORG, "late-call"), "org_id": {"S": ORG}, "license_month": {"S": transcribe.month}}
    await ddb.put_item(TableName=tracking, Item=row)
    recorded = await february.recorded_month(ORG, "late-call")
    assert recorded == "2027-01" and await february.recorded_month(ORG, "no-such-call") is None
    # February is full (one call under a one-call license): the call transcribed in January still runs.
    assert (await february.admit(ORG, "february-call", "j")).allowed
    analyze = await february.admit(ORG, "late-call", "j", month=recorded)
    assert analyze.allowed and analyze.month == "2027-01"
    metered = await february.meter_items(ORG, "late-call", analyze.month, 30.0)
    await ddb.transact_write_items(TransactItems=metered)  # type: ignore[arg-type]
    feb, jan = await february.usage(ORG, 2)
    assert (jan.reserved_calls, jan.analysed_calls, jan.billed_audio_seconds) == (1, 1, 30.0)
    assert (feb.reserved_calls, feb.analysed_calls) == (1, 0)  # only february-call
    assert await february.table.reservation(ORG, "late-call", "2027-02") is None
    # A reprocess in February (the January reservation is metered) admits in its own month.
    reprocess = await february.admit(ORG, "late-call", "j-re", month=recorded)
    assert reprocess.month == "2027-02" and not reprocess.allowed  # February is full
