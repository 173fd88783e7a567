"""The MCP tools' names, inputs (an `action` enum plus its parameters) and structured outputs."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.models import JourneyOut, JourneyStatusOut
from api.routes.dlq import ReplayJobOut
from shared.analytics.queries import GroupBy, Summary, TranscriptOut
from shared.analytics.record import CallRecord
from shared.journeys import STAGES, JourneyState
from shared.license.models import LicenseStatus, MonthUsage
from shared.reports import ReportSummary

TaskId = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._:-]+$")]
Stage = Literal["poll", "fetch", "transcribe", "analyze"]
assert set(STAGES) == {"poll", "fetch", "transcribe", "analyze"}  # the Literal follows the stages

MAX_LIST = 50
MAX_TURNS = 200
MAX_TURN_CHARS = 2000
MAX_TEXT_CHARS = 20_000  # an arbitrary JSON answer (the simulator's) is cut here


class ToolName(StrEnum):
    """The four tools, by the names the product specification gives them."""

    JOURNEYS = "journeys_tool"
    LOGS_AND_REPORTS = "logs_and_reports_tool"
    WXCC_SIMULATOR = "wxcc_simulator_tool"
    LICENSE = "license_tool"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _need(model: BaseModel, action: str, *fields: str) -> None:
    missing = [f for f in fields if getattr(model, f) is None]
    if missing:
        raise ValueError(f"action {action!r} needs {', '.join(missing)}")


# --- journeys_tool ------------------------------------------------------------------------------------------------


class JourneysAction(StrEnum):
    START = "start"
    STATUS = "status"
    LIST = "list"
    CANCEL = "cancel"
    REPLAY = "replay"


class JourneysInput(_Input):
    """Arguments of `journeys_tool`."""

    action: JourneysAction = Field(
        description="start: begin a journey; status: its progress; list: journeys newest first; cancel: stop a "
        "RUNNING journey (destructive, needs confirm); replay: move a stage's dead-lettered messages of the journey "
        "back to the stage's queue (destructive, needs confirm)."
    )
    from_time: AwareDatetime | None = Field(
        default=None, description="start: window start of call END times, ISO 8601 with offset, e.g. 2026-01-02T13:00Z."
    )
    to_time: AwareDatetime | None = Field(default=None, description="start: window end (exclusive), ISO 8601.")
    task_ids: list[TaskId] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="start: process these WXCC task ids instead of a window.",
    )
    reprocess_version: int | None = Field(
        default=None,
        ge=1,
        description="start: re-analyse already analysed calls (of the window or task_ids) under this pipeline "
        "version, which must be newer than the server's.",
    )
    retry_failed: bool = Field(default=False, description="start: also retry calls that failed before.")
    org_id: str | None = Field(default=None, min_length=1, description="start: WXCC org; default the server's.")
    journey_id: str | None = Field(
        default=None, min_length=1, max_length=128, description="status, cancel, replay: the journey."
    )
    state: JourneyState | None = Field(default=None, description="list: only journeys in this state.")
    limit: int = Field(default=10, ge=1, le=MAX_LIST, description="list: journeys per page.")
    cursor: str | None = Field(default=None, max_length=4096, description="list: `next_cursor` of the previous page.")
    stage: Stage | None = Field(default=None, description="replay: the stage whose dead-letter queue to replay.")
    confirm: bool = Field(
        default=False, description="Must be true for cancel and replay, after the user agreed to that action."
    )

    @model_validator(mode="after")
    def _per_action(self) -> JourneysInput:
        if self.action is JourneysAction.START:
            window = self.from_time is not None or self.to_time is not None
            if window == (self.task_ids is not None):
                raise ValueError("action 'start' needs either from_time and to_time, or task_ids (not both)")
            if window:
                _need(self, "start", "from_time", "to_time")
        elif self.action in (JourneysAction.STATUS, JourneysAction.CANCEL):
            _need(self, self.action.value, "journey_id")
        elif self.action is JourneysAction.REPLAY:
            _need(self, "replay", "journey_id", "stage")
        return self


class JourneysOutput(BaseModel):
    """What `journeys_tool` answers: the field named after the action is set."""

    action: JourneysAction
    journey: JourneyOut | None = Field(default=None, description="start, cancel: the journey's record.")
    status: JourneyStatusOut | None = Field(default=None, description="status: counters, totals, first failures.")
    journeys: list[JourneyOut] | None = Field(default=None, description="list: a page of journeys, newest first.")
    next_cursor: str | None = Field(default=None, description="list: pass as `cursor` for the next page.")
    replay: ReplayJobOut | None = Field(default=None, description="replay: the replay job (it runs on).")
    note: str | None = Field(default=None, description="What to do next, or what was left out.")


# --- logs_and_reports_tool ----------------------------------------------------------------------------------------


class ReportsAction(StrEnum):
    REPORT = "report"
    FAILURES = "failures"
    DEAD_LETTERS = "dead_letters"
    TRANSCRIPT = "transcript"
    ANALYSIS = "analysis"
    ANALYTICS_SUMMARY = "analytics_summary"


class ReportsInput(_Input):
    """Arguments of `logs_and_reports_tool`."""

    action: ReportsAction = Field(
        description="report: a journey's summary (totals, outcomes, top failure reasons); failures: a journey's "
        "failed calls with reasons; dead_letters: depth of every stage's dead-letter queue and a stage's messages "
        "with reasons; transcript: a call's transcript turns; analysis: a call's analysis record; "
        "analytics_summary: aggregates of analysed calls over a window."
    )
    journey_id: str | None = Field(default=None, min_length=1, max_length=128, description="report, failures.")
    task_id: TaskId | None = Field(default=None, description="transcript, analysis: the WXCC task id of the call.")
    org_id: str | None = Field(default=None, min_length=1, description="Default the server's WXCC org.")
    stage: Stage | None = Field(default=None, description="dead_letters: also list this stage's messages.")
    from_time: AwareDatetime | None = Field(
        default=None, description="analytics_summary: window start (call end times); default 7 days before to_time."
    )
    to_time: AwareDatetime | None = Field(default=None, description="analytics_summary: window end; default now.")
    group_by: GroupBy = Field(default="day", description="analytics_summary: how to group the calls.")
    offset: int = Field(default=0, ge=0, description="transcript: first turn to return (paging).")
    limit: int = Field(default=20, ge=1, le=MAX_LIST, description="failures, dead_letters: items; transcript: turns.")

    @model_validator(mode="after")
    def _per_action(self) -> ReportsInput:
        if self.action in (ReportsAction.REPORT, ReportsAction.FAILURES):
            _need(self, self.action.value, "journey_id")
        elif self.action in (ReportsAction.TRANSCRIPT, ReportsAction.ANALYSIS):
            _need(self, self.action.value, "task_id")
        if self.action is ReportsAction.TRANSCRIPT and self.limit > MAX_TURNS:
            raise ValueError(f"transcript pages hold at most {MAX_TURNS} turns")
        return self


class FailureOut(BaseModel):
    """A failed call of a journey and why."""

    task_id: str
    stage: str | None
    reason: str | None
    at: float | None


class DeadLetterStage(BaseModel):
    """A stage's dead-letter queue: its depth and (when asked) its oldest-first messages with reasons."""

    stage: str
    messages: int | None = Field(description="Visible + in-flight messages; None when the queue could not be read.")
    sample: list[dict[str, Any]] | None = None


class ReportsOutput(BaseModel):
    """What `logs_and_reports_tool` answers: the field named after the action is set."""

    action: ReportsAction
    report: ReportSummary | None = None
    failures: list[FailureOut] | None = None
    dead_letters: list[DeadLetterStage] | None = None
    transcript: TranscriptOut | None = Field(default=None, description="transcript: one page of turns.")
    analysis: CallRecord | None = None
    analytics_summary: Summary | None = None
    next_offset: int | None = Field(default=None, description="transcript: pass as `offset` for the next turns.")
    note: str | None = Field(default=None, description="What was left out (truncation), or what to do next.")


# --- wxcc_simulator_tool ------------------------------------------------------------------------------------------


class SimulatorAction(StrEnum):
    STATS = "stats"
    LIST_FAULTS = "list_faults"
    INJECT_FAULTS = "inject_faults"
    CLEAR_FAULTS = "clear_faults"
    ADD_CALLS = "add_calls"
    CLOCK = "clock"
    ADVANCE_CLOCK = "advance_clock"


class FaultRule(_Input):
    """A simulator fault: fires on the next `count` matching requests, or with `probability` per request."""

    kind: Literal["rate_limit", "server_error", "slow", "truncate", "expired_url", "malformed"]
    endpoints: list[Literal["*", "token", "tasks", "search", "captures", "recordings"]] | None = None
    count: int | None = Field(default=None, ge=1, le=100_000)
    probability: float | None = Field(default=None, gt=0, le=1)
    status: int | None = Field(default=None, ge=500, le=599, description="server_error: the HTTP status.")
    retry_after_s: float | None = Field(default=None, ge=0, le=3600, description="rate_limit: Retry-After.")
    delay_s: float | None = Field(default=None, ge=0, le=600, description="slow: added latency.")

    def wire(self) -> dict[str, Any]:
        """The rule as the simulator's control API takes it (camelCase)."""
        names = {"retry_after_s": "retryAfterS", "delay_s": "delayS"}
        return {names.get(k, k): v for k, v in self.model_dump(exclude_none=True).items()}


class SimulatorInput(_Input):
    """Arguments of `wxcc_simulator_tool`."""

    action: SimulatorAction = Field(
        description="stats: requests per endpoint and status, faults injected, downloads; list_faults: active rules; "
        "inject_faults: add (append) or replace fault rules; clear_faults: drop them all; add_calls: generate calls "
        "that ended in the last `last_seconds`; clock: the simulated now; advance_clock: move it forward."
    )
    rules: list[FaultRule] | None = Field(default=None, min_length=1, max_length=20, description="inject_faults.")
    append: bool = Field(default=True, description="inject_faults: keep the active rules (false replaces them).")
    count: int = Field(default=10, ge=1, le=1000, description="add_calls: how many.")
    last_seconds: int = Field(default=3600, ge=1, le=31 * 86400, description="add_calls: spread over this past.")
    advance_s: float | None = Field(default=None, gt=0, le=365 * 86400, description="advance_clock: seconds.")

    @model_validator(mode="after")
    def _per_action(self) -> SimulatorInput:
        if self.action is SimulatorAction.INJECT_FAULTS:
            _need(self, "inject_faults", "rules")
        elif self.action is SimulatorAction.ADVANCE_CLOCK:
            _need(self, "advance_clock", "advance_s")
        return self


class SimulatorOutput(BaseModel):
    """What `wxcc_simulator_tool` answers: the simulator's own JSON answer, cut to a bounded size."""

    action: SimulatorAction
    result: dict[str, Any] = Field(description="The simulator control API's answer.")
    note: str | None = None


# --- license_tool -------------------------------------------------------------------------------------------------


class LicenseAction(StrEnum):
    STATUS = "status"
    USAGE = "usage"
    ACTIVATE = "activate"


class LicenseInput(_Input):
    """Arguments of `license_tool`."""

    action: LicenseAction = Field(
        description="status: the org's license (plan, limits, expiry, state); usage: calls processed per month; "
        "activate: install a license key (destructive: replaces the current license, needs confirm)."
    )
    org_id: str | None = Field(default=None, min_length=1, description="Default the server's WXCC org.")
    months: int = Field(default=3, ge=1, le=24, description="usage: how many months back.")
    key: str | None = Field(default=None, min_length=1, max_length=16_384, description="activate: the license key.")
    confirm: bool = Field(default=False, description="Must be true for activate, after the user agreed.")

    @model_validator(mode="after")
    def _per_action(self) -> LicenseInput:
        if self.action is LicenseAction.ACTIVATE:
            _need(self, "activate", "key")
        return self


class LicenseOutput(BaseModel):
    """What `license_tool` answers: the org's license status (status, activate) or its monthly usage (usage)."""

    action: LicenseAction
    status: LicenseStatus | None = None
    usage: list[MonthUsage] | None = None
    note: str | None = None
