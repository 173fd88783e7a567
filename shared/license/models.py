"""What the license service answers: a license's status with this month's usage, and usage per month."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

LicenseState = Literal["active", "grace", "expired", "not_yet_valid", "invalid", "evaluation"]
WarningLevel = Literal["80", "100"]


class MonthUsage(BaseModel):
    """One calendar month (UTC) of an org's metered usage."""

    month: str = Field(description="YYYY-MM (UTC).")
    analysed_calls: int = Field(default=0, description="Calls analysed this month, each counted once.")
    billed_audio_seconds: float = Field(default=0, description="Billed audio seconds of those calls.")
    reserved_calls: int = Field(
        default=0, description="Calls admitted to the paid steps this month (the quota is checked against these)."
    )


class LicenseStatus(BaseModel):
    """An org's license: entitlements, validity, this month's usage and what remains."""

    org_id: str
    state: LicenseState = Field(
        description="`evaluation` when no key is activated; `invalid` if the stored key no "
        "longer verifies (e.g. the public key changed)."
    )
    license_id: str
    customer: str
    plan: str
    features: list[str]
    calls_per_month: int | None = Field(description="None: unlimited.")
    audio_hours_per_month: float | None = Field(description="None: unlimited.")
    not_before: float
    expires_at: float
    grace_days: int
    period: str = Field(description="The current month, YYYY-MM (UTC).")
    usage: MonthUsage
    remaining_calls: int | None = Field(description="Calls that may still be admitted this month; None: unlimited.")
    remaining_audio_hours: float | None
    warning: WarningLevel | None = Field(description="`80` or `100` once that share of a monthly limit is used.")
    held_calls: int = Field(description="Calls held back (reason `license_quota`, …) waiting for a resume.")
    reason: str | None = Field(default=None, description="Why the license is not usable, when it is not.")

    @property
    def usable(self) -> bool:
        """Whether new work may start under it."""
        return self.state in ("active", "grace", "evaluation")

    @property
    def can_admit(self) -> bool:
        """Whether a new call may be admitted now: the license is usable and neither monthly limit (calls, billed
        audio) is used up. The one test of "there is room" for resuming held calls (a call held by either limit
        must not be resumed while that limit holds, or it would be held again and resumed again without end)."""
        calls_left = self.remaining_calls is None or self.remaining_calls > 0
        audio_left = self.remaining_audio_hours is None or self.remaining_audio_hours > 0
        return self.usable and calls_left and audio_left
