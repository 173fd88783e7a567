"""The license service every front door calls (API, CLI, MCP, workers): status, usage, activation, admission of a
call to the paid steps, metering, and the resume of held calls.

Usage is counted once per call and month: a call is admitted to the paid steps by a reservation (`LicenseTable.
reserve`, before transcribe and again before analyze, a no-op when the call was admitted earlier that month; analyze
admits in the month transcribe admitted it in, recorded on the row as `license_month`, so a call crossing a month end
is reserved once), and counted as analysed in the analyze step's own transaction (`meter_items`). A reprocess of a
call in the month it was analysed is not counted again; in a later month it is a new reservation and counts in that
month. A call admitted and then failed keeps its reservation (its transcription was paid for).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from prometheus_client import Counter

from shared.dynamo import transact
from shared.journeys import JourneyStore
from shared.license.errors import LicenseError
from shared.license.evaluation import evaluation_license
from shared.license.keys import LicenseDocument, decode, load_public_key, verify
from shared.license.models import LicenseState, LicenseStatus, MonthUsage, WarningLevel
from shared.license.table import HeldCall, LicenseTable, Reserve, month_of
from shared.logging import get_logger
from shared.resources import DataResources
from shared.tracking import CallStatus, tracking_key

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from types_aiobotocore_dynamodb import DynamoDBClient

    from shared.config import Settings

log = get_logger(__name__)

SendHeld = Callable[[Sequence[HeldCall]], Awaitable[None]]
"""Sends each resumed call's stage message (the front door's producer: shared never talks to SQS itself)."""

HoldReason = Literal["license_quota", "license_expired", "license_invalid"]

WARNINGS = Counter("callpipe_license_warnings_total", "Monthly license limits reaching 80 or 100 %", ["level"])
HELD = Counter("callpipe_license_held_total", "Calls held back by the license", ["reason"])
RESUMED = Counter("callpipe_license_resumed_total", "Held calls resumed")

MAX_USAGE_MONTHS = 36


@dataclass(frozen=True)
class Admission:
    """Whether a call may run a paid step now; when not, the reason to hold it with."""

    allowed: bool
    month: str
    reason: HoldReason | None = None
    rollover: bool = False  # the first admission of a month in this process found calls held in an earlier month


@dataclass(frozen=True)
class Effective:
    """The license in force for an org and its state (the evaluation license when no key was activated)."""

    doc: LicenseDocument
    state: LicenseState
    reason: str | None = None


def previous_months(month: str, count: int) -> list[str]:
    """`count` months ending with `month`, newest first."""
    year, mon = (int(p) for p in month.split("-"))
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    return out


class LicenseService:
    """One org-scoped view of licensing over the license table (built from settings + a DynamoDB client)."""

    def __init__(
        self,
        settings: Settings,
        dynamodb: DynamoDBClient,
        *,
        send_held: SendHeld | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        resources = DataResources(settings.name_prefix)
        self.settings = settings
        self.table = LicenseTable(dynamodb, resources.license_table.name)
        self._ddb = dynamodb
        self._tracking_table = resources.tracking_table.name
        self._journeys = JourneyStore(dynamodb, resources.journeys_table.name)
        self._send_held = send_held
        self._clock = clock
        self._rollover_checked: set[tuple[str, str]] = set()

    def public_key(self) -> Ed25519PublicKey:
        """The configured public key; `LicenseError(license_not_configured)` when there is none or it is unreadable."""
        text = self.settings.license_public_key
        if not text:
            raise LicenseError(
                "license_not_configured",
                "no license public key is configured (CALLPIPE_LICENSE_PUBLIC_KEY): keys cannot be verified",
            )
        try:
            return load_public_key(text)
        except ValueError as exc:
            raise LicenseError("license_not_configured", f"CALLPIPE_LICENSE_PUBLIC_KEY {exc}") from None

    async def effective(self, org_id: str) -> Effective:
        """The license in force for `org_id` now."""
        active = await self.table.active(org_id)
        if active is None:
            return Effective(evaluation_license(org_id, self.settings.license_evaluation_calls_per_month), "evaluation")
        try:
            doc = decode(str(active["key"]), self.public_key())
        except LicenseError as exc:  # the stored key no longer verifies: nothing runs until a valid key is activated
            fallback = evaluation_license(org_id, 0)
            return Effective(
                fallback.model_copy(update={"license_id": str(active.get("license_id", "?"))}), "invalid", exc.message
            )
        if org_id not in doc.org_ids:
            return Effective(doc, "invalid", f"license {doc.license_id} is not issued for org {org_id}")
        state = doc.state_at(self._clock())
        reason = {"expired": f"license {doc.license_id} has expired", "not_yet_valid": "not valid yet"}.get(state)
        return Effective(doc, state, reason)

    async def status(self, org_id: str) -> LicenseStatus:
        """Entitlements, validity, this month's usage, what remains, warnings and held calls."""
        eff = await self.effective(org_id)
        month = month_of(self._clock())
        usage = await self.table.usage(org_id, month)
        doc = eff.doc
        remaining_calls = None if doc.calls_per_month is None else max(0, doc.calls_per_month - usage.reserved_calls)
        remaining_audio = (
            None
            if doc.audio_hours_per_month is None
            else round(max(0.0, doc.audio_hours_per_month - usage.billed_audio_seconds / 3600), 4)
        )
        return LicenseStatus(
            org_id=org_id,
            state=eff.state,
            license_id=doc.license_id,
            customer=doc.customer,
            plan=doc.plan,
            features=list(doc.features),
            calls_per_month=doc.calls_per_month,
            audio_hours_per_month=doc.audio_hours_per_month,
            not_before=doc.not_before,
            expires_at=doc.expires_at,
            grace_days=doc.grace_days,
            period=month,
            usage=usage,
            remaining_calls=remaining_calls,
            remaining_audio_hours=remaining_audio,
            warning=_warning(doc, usage),
            held_calls=await self.table.count_held(org_id),
            reason=eff.reason,
        )

    async def usage(self, org_id: str, months: int = 6) -> list[MonthUsage]:
        """The last `months` calendar months' usage (this one first); months without usage read as zeros."""
        if not 1 <= months <= MAX_USAGE_MONTHS:
            raise ValueError(f"months must be between 1 and {MAX_USAGE_MONTHS}")
        return await self.table.usage_months(org_id, previous_months(month_of(self._clock()), months))

    async def activate(self, org_id: str, key_text: str, *, by: str = "api") -> LicenseStatus:
        """Verify a key for `org_id` and make it the org's license; held calls the new license admits resume.

        Raises `LicenseError` (`license_invalid`, `license_expired`, `license_wrong_org`, `license_not_yet_valid`,
        `license_not_configured`) and stores nothing then. The key text is never logged."""
        doc = verify(key_text, self.public_key(), org_id, now=self._clock())
        compact = "".join(key_text.split())
        summary = {"customer": doc.customer, "plan": doc.plan, "expires_at": doc.expires_at}
        await self.table.activate(org_id, compact, doc.license_id, by=by, summary=summary)
        log.info("license_activated", org_id=org_id, license_id=doc.license_id, plan=doc.plan, by=by)
        if self._send_held is not None:
            await self.resume_held(org_id)
        return await self.status(org_id)

    async def check_can_start(self, org_id: str) -> None:
        """Raise `LicenseError` (`license_expired` / `license_invalid`) when no new journey may start for the org."""
        eff = await self.effective(org_id)
        if eff.state == "expired":
            raise LicenseError("license_expired", f"{eff.reason}: activate a renewed key (PUT /api/v1/license)")
        if eff.state in ("invalid", "not_yet_valid"):
            raise LicenseError("license_invalid", f"the activated license is not usable: {eff.reason}")

    async def admit(self, org_id: str, task_id: str, journey_id: str, *, month: str | None = None) -> Admission:
        """Admit a call to this month's paid steps (once per call and month) or say why to hold it.

        `month` is the month the call was admitted in at transcribe (its row's `license_month`): while that month's
        reservation is not metered yet, the call is admitted in it (a call transcribed on Jan 31 and analysed on
        Feb 1 is reserved and counted once, in January). Otherwise (none given, never reserved, or already metered:
        a reprocess) the call is admitted in the current month."""
        current = month_of(self._clock())
        month = await self._admission_month(org_id, task_id, month, current)
        eff = await self.effective(org_id)
        if eff.state == "expired":
            return Admission(False, month, "license_expired")
        if eff.state in ("invalid", "not_yet_valid"):
            return Admission(False, month, "license_invalid")
        doc = eff.doc
        audio_s = None if doc.audio_hours_per_month is None else doc.audio_hours_per_month * 3600
        outcome = await self.table.reserve(
            org_id, task_id, journey_id, month, calls_limit=doc.calls_per_month, audio_limit_s=audio_s
        )
        if outcome is Reserve.OVER_QUOTA:
            await self._warn(org_id, month, doc, 100)
            return Admission(False, month, "license_quota")
        if outcome is Reserve.RESERVED:
            usage = await self.table.usage(org_id, month)
            level = _warning(doc, usage)
            if level is not None:
                await self._warn(org_id, month, doc, int(level), usage)
        return Admission(True, month, rollover=await self._rollover_due(org_id, current))

    async def _admission_month(self, org_id: str, task_id: str, recorded: str | None, current: str) -> str:
        if recorded is None or recorded == current:
            return current
        reservation = await self.table.reservation(org_id, task_id, recorded)
        return recorded if reservation is not None and not reservation.get("analysed") else current

    async def recorded_month(self, org_id: str, task_id: str) -> str | None:
        """The month a call was admitted in at transcribe (`license_month` on its tracking row), None if unknown."""
        resp = await self._ddb.get_item(
            TableName=self._tracking_table,
            Key=tracking_key(org_id, task_id),
            ProjectionExpression="license_month",
            ConsistentRead=True,
        )
        value = resp.get("Item", {}).get("license_month", {}).get("S")
        return str(value) if value else None

    async def _rollover_due(self, org_id: str, month: str) -> bool:
        """True once per process, org and month, when calls held in an earlier month wait for a resume."""
        if (org_id, month) in self._rollover_checked:
            return False
        self._rollover_checked.add((org_id, month))
        return any(h.month < month for h in await self.table.held(org_id))

    async def _warn(
        self, org_id: str, month: str, doc: LicenseDocument, level: int, usage: MonthUsage | None = None
    ) -> None:
        if await self.table.mark_warned(org_id, month, level):
            WARNINGS.labels(str(level)).inc()
            log.warning(
                "license_usage_warning",
                org_id=org_id,
                month=month,
                level=level,
                license_id=doc.license_id,
                calls_per_month=doc.calls_per_month,
                reserved_calls=usage.reserved_calls if usage else None,
            )

    async def meter_items(self, org_id: str, task_id: str, month: str, billed_audio_s: float) -> list[dict[str, Any]]:
        """The analyze step's transaction entries that count this call in `month`, or none when this call was
        already counted that month (a reprocess) or was never admitted (no reservation: nothing to count against)."""
        reservation = await self.table.reservation(org_id, task_id, month)
        if reservation is None or reservation.get("analysed"):
            return []
        return self.table.meter_items(org_id, task_id, month, billed_audio_s)

    def hold_items(self, held: HeldCall) -> list[dict[str, Any]]:
        """The license table's entry of a hold, for the transaction that moves the call's row to HELD."""
        HELD.labels(held.reason).inc()
        return [{"Put": self.table.held_put(held)}]

    async def resume_held(self, org_id: str, *, send: SendHeld | None = None) -> int:
        """Move held calls back to the status they left and send their stage's message again, as many as the
        license admits now (none while a monthly limit is used up, see `LicenseStatus.can_admit`; all when it has no
        limit); returns how many were resumed. Calls marked resumed
        whose message may not have been sent (a crash in between) are sent again: the stage's conditional begin
        absorbs a double."""
        sender = send or self._send_held
        if sender is None:
            raise RuntimeError("resume_held needs a sender of stage messages")
        status = await self.status(org_id)
        if not status.can_admit:
            log.info("license_resume_refused", org_id=org_id, state=status.state, usable=status.usable)
            return 0
        held = await self.table.held(org_id)
        ready = [h for h in held if h.resumed]
        budget = _resume_budget(status, len(ready))
        for call in [h for h in held if not h.resumed]:
            if budget is not None and budget <= 0:
                break
            if await self._move_back(call):
                ready.append(call)
                if budget is not None:
                    budget -= 1
            else:  # the row left HELD another way (erased, reclaimed): its held item has nothing left to resume
                await self.table.drop_held(org_id, call.task_id)
        if not ready:
            return 0
        await sender(ready)
        for call in ready:
            with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):
                await self.table.forget_held(org_id, call.task_id)
        RESUMED.inc(len(ready))
        log.info("license_held_resumed", org_id=org_id, resumed=len(ready), still_held=len(held) - len(ready))
        return len(ready)

    async def _move_back(self, call: HeldCall) -> bool:
        """The row back from HELD to its earlier status, the held item marked resumed and the journey's held
        counter down, in one transaction; False when the row is no longer HELD (then the item is only marked)."""
        now = f"{self._clock():.3f}"
        row = {
            "TableName": self._tracking_table,
            "Key": tracking_key(call.org_id, call.task_id),
            "UpdateExpression": (
                "SET #status = :from, lease_stage = :stage, lease_until = :zero, updated_at = :now, resumed_at = :now "
                "REMOVE held_reason"
            ),
            "ConditionExpression": "#status = :held",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":from": {"S": call.from_status},
                ":stage": {"S": "license-resume"},
                ":zero": {"N": "0"},
                ":now": {"N": now},
                ":held": {"S": CallStatus.HELD.value},
            },
        }
        items = [
            {"Update": row},
            {"Update": self.table.held_resumed_update(call.org_id, call.task_id)},
            {"Update": self._journeys.counter_update(call.journey_id, call.stage, held=-1)},
        ]
        return await transact(self._ddb, items)


def _resume_budget(status: LicenseStatus, pending: int) -> int | None:
    """How many more held calls to resume now (None: all), `pending` already marked resumed counting against it.

    Bounded by the calls left this month; under an audio-hours limit, whose use is only known once calls are
    analysed, by the calls the remaining hours would take at this month's mean billed audio per analysed call (at
    least one while hours remain: a call that finds them used up is held again, and no resume follows while so)."""
    budgets = []
    if status.remaining_calls is not None:
        budgets.append(status.remaining_calls)
    if status.remaining_audio_hours is not None:
        usage = status.usage
        mean_s = usage.billed_audio_seconds / usage.analysed_calls if usage.analysed_calls else 0.0
        if mean_s > 0:
            budgets.append(max(1, math.ceil(status.remaining_audio_hours * 3600 / mean_s)))
    return None if not budgets else max(0, min(budgets) - pending)


def _warning(doc: LicenseDocument, usage: MonthUsage) -> WarningLevel | None:
    """`100` or `80` when that share of a monthly limit is used (admitted calls, billed audio), else None."""
    shares = []
    if doc.calls_per_month is not None:
        shares.append(usage.reserved_calls / doc.calls_per_month if doc.calls_per_month else 1.0)
    if doc.audio_hours_per_month is not None:
        limit = doc.audio_hours_per_month * 3600
        shares.append(usage.billed_audio_seconds / limit if limit else 1.0)
    top = max(shares, default=0.0)
    return "100" if top >= 1 else "80" if top >= 0.8 else None
