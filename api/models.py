"""Pydantic models of every request and response body and query string of the journey and call routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel, model_validator

from shared.analysis import Sentiment
from shared.analytics.queries import GroupBy
from shared.analytics.record import CallRecord
from shared.journeys import Journey, JourneyKind, JourneyState
from shared.license.models import LicenseState, WarningLevel

TaskId = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._:-]+$")]
MAX_TASK_IDS = 10_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Window(_Strict):
    from_: AwareDatetime = Field(alias="from", description="Window start (call end times), ISO 8601 with offset.")
    to: AwareDatetime = Field(description="Window end, exclusive, ISO 8601 with offset.")

    @model_validator(mode="after")
    def _ordered(self) -> _Window:
        if self.from_ >= self.to:
            raise ValueError("`from` must be before `to`")
        return self


class WindowJourneyCreate(_Window):
    """Process every call that ended inside a window."""

    kind: Literal["window"]
    org_id: str | None = Field(default=None, min_length=1, description="Defaults to the server's WXCC org.")
    retry_failed: bool = False


class TasksJourneyCreate(_Strict):
    """Process a list of calls by WXCC task id."""

    kind: Literal["tasks"]
    task_ids: list[TaskId] = Field(min_length=1, max_length=MAX_TASK_IDS)
    org_id: str | None = Field(default=None, min_length=1)
    retry_failed: bool = False


class ReprocessWindow(_Window):
    """A window of call end times to reprocess."""


class ReprocessJourneyCreate(_Strict):
    """Analyse already analysed calls again under a newer pipeline version (new prompt/model)."""

    kind: Literal["reprocess"]
    pipeline_version: int = Field(ge=1, description="Must be greater than the server's current pipeline version.")
    task_ids: list[TaskId] | None = Field(default=None, min_length=1, max_length=MAX_TASK_IDS)
    window: ReprocessWindow | None = None
    org_id: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_target(self) -> ReprocessJourneyCreate:
        if (self.task_ids is None) == (self.window is None):
            raise ValueError("give exactly one of `task_ids` or `window`")
        return self


class JourneyCreate(RootModel[WindowJourneyCreate | TasksJourneyCreate | ReprocessJourneyCreate]):
    """The body of `POST /api/v1/journeys`, told apart by `kind`."""

    root: Annotated[WindowJourneyCreate | TasksJourneyCreate | ReprocessJourneyCreate, Field(discriminator="kind")]


class JourneyOut(BaseModel):
    """A journey's record."""

    id: str
    kind: JourneyKind
    state: JourneyState
    org_id: str
    params: dict[str, Any]
    created_by: str
    created_at: str
    pipeline_version: int
    retry_failed: bool

    @classmethod
    def of(cls, journey: Journey) -> JourneyOut:
        return cls(
            id=journey.id,
            kind=journey.kind,
            state=journey.state,
            org_id=journey.org_id,
            params=journey.params,
            created_by=journey.created_by,
            created_at=journey.created_at,
            pipeline_version=journey.pipeline_version,
            retry_failed=journey.retry_failed,
        )


class StageCounters(BaseModel):
    """One stage's counters (ADD-only in the journeys table)."""

    queued: int = 0
    done: int = 0
    skipped: int = 0
    skipped_duplicate: int = 0
    failed: int = 0
    held: int = Field(default=0, description="Calls held back by the license at this stage (they resume later).")
    erased: int = Field(default=0, description="Calls erased before they finished (privacy); they count as finished.")
    billed_audio_s: float = 0
    tokens: int = 0


class Failure(BaseModel):
    """A call that failed, and why."""

    task_id: str
    reason: str | None = None
    stage: str | None = None
    at: float | None = None


class DlqDepth(BaseModel):
    """Messages in a stage's dead-letter queue (the whole queue, all journeys: SQS cannot count by journey cheaply)."""

    stage: str
    messages: int | None = Field(description="None when the queue could not be read.")


class LicenseNotice(BaseModel):
    """The journey's org's license as it bears on the journey: state, usage warning, calls held back."""

    state: LicenseState
    warning: WarningLevel | None = Field(description="`80` or `100` once that share of a monthly limit is used.")
    held: int = Field(description="This journey's calls held back by the license, waiting for a resume.")
    reason: str | None = None


class JourneyStatusOut(BaseModel):
    """A journey with its progress."""

    journey: JourneyOut
    stages: dict[str, StageCounters]
    discovered: int
    finished: int
    pending_poll_windows: int
    billed_audio_seconds: float
    tokens: int
    failures: list[Failure]
    dlq_depth: list[DlqDepth] = Field(description="Whole-queue DLQ depth per stage, not only this journey's.")
    license: LicenseNotice | None = Field(default=None, description="None when the license could not be read.")


class JourneyPage(BaseModel):
    """A page of journeys, newest first; pass `next_cursor` as `cursor` for the next page."""

    items: list[JourneyOut]
    next_cursor: str | None = None


class JourneyListQuery(_Strict):
    """Query of `GET /api/v1/journeys`."""

    state: JourneyState | None = None
    limit: int | None = Field(default=None, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=4096)


class CallQuery(_Strict):
    """Query of `GET /api/v1/calls/{task_id}`."""

    org_id: str | None = Field(default=None, min_length=1, description="Defaults to the server's WXCC org.")


MAX_ANALYTICS_DAYS = 366
DEFAULT_ANALYTICS_DAYS = 7


ANALYTICS_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # calls ended after this; the aggregate blocks are aligned to it
ANALYTICS_END = datetime(9998, 12, 31, tzinfo=UTC)


class _AnalyticsWindow(_Strict):
    from_: AwareDatetime | None = Field(
        default=None,
        alias="from",
        description="Window start (call end times), ISO 8601; default `to` - 7 days.",
    )
    to: AwareDatetime | None = Field(default=None, description="Window end, exclusive; default now.")
    org_id: str | None = Field(default=None, min_length=1, description="Defaults to the server's WXCC org.")
    queue: str | None = Field(default=None, min_length=1, max_length=256)
    agent: str | None = Field(default=None, min_length=1, max_length=256)
    sentiment: Sentiment | None = Field(default=None, description="The customer's sentiment.")
    resolved: bool | None = None

    def window(self) -> tuple[datetime, datetime]:
        """(from, to) with their defaults."""
        to = self.to or datetime.now(UTC)
        return self.from_ or to - timedelta(days=DEFAULT_ANALYTICS_DAYS), to

    @model_validator(mode="after")
    def _bounded(self) -> _AnalyticsWindow:
        start, end = self.window()
        if start >= end:
            raise ValueError("`from` must be before `to`")
        if (end - start).total_seconds() > MAX_ANALYTICS_DAYS * 86400:
            raise ValueError(f"the window may span at most {MAX_ANALYTICS_DAYS} days")
        if start < ANALYTICS_EPOCH or end > ANALYTICS_END:
            raise ValueError("`from` and `to` must lie between 1970-01-01 and 9998-12-31 (UTC)")
        return self


class AnalyticsSummaryQuery(_AnalyticsWindow):
    """Query of `GET /api/v1/analytics/summary` (whole UTC days of call end times)."""

    group_by: GroupBy = "day"


class CallListQuery(_AnalyticsWindow):
    """Query of `GET /api/v1/calls`: analysed calls that ended in [from, to), newest first."""

    topic: str | None = Field(default=None, min_length=1, max_length=256)
    qa_severity: Literal["info", "warning", "critical"] | None = Field(
        default=None, description="Calls with at least one QA flag of this severity."
    )
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=4096)


class S3Object(BaseModel):
    """Where one stored object is."""

    bucket: str
    key: str


class CallOut(BaseModel):
    """A call's tracking row and where its recording, transcript and analysis are stored."""

    org_id: str
    task_id: str
    status: str
    journey_id: str
    pipeline_version: int
    attempts: int
    error: str | None
    lease_stage: str | None
    lease_until: float
    claimed_at: float
    facts: dict[str, Any]
    recordings: list[S3Object]
    transcript: S3Object | None
    analysis: S3Object | None
    record: CallRecord | None = Field(default=None, description="The analytics record, once the call is analysed.")


class Health(BaseModel):
    """Liveness."""

    status: Literal["ok"] = "ok"


class ReadyCheck(BaseModel):
    """One dependency checked by readiness."""

    kind: Literal["queue", "table", "bucket"]
    name: str
    ok: bool
    problem: str | None = None


class Ready(BaseModel):
    """Readiness: every queue, table and bucket is reachable."""

    status: Literal["ready", "not_ready"]
    checks: list[ReadyCheck]
