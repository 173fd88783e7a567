"""`logs_and_reports_tool`: a journey's report and failures, dead letters per stage, a call's transcript and analysis,
the analytics summary of a window."""

from __future__ import annotations

from typing import Any

from api.context import ApiContext, org_of
from api.errors import ApiError
from api.mcp.models import (
    MAX_LIST,
    MAX_TURN_CHARS,
    DeadLetterStage,
    FailureOut,
    ReportsAction,
    ReportsInput,
    ReportsOutput,
    ToolName,
)
from api.mcp.registry import Call, ToolFailure, ToolSpec
from api.mcp.services import dead_letter_depths, dead_letter_sample
from api.models import AnalyticsSummaryQuery
from api.routes.calls import analytics_store
from api.routing import Scope
from shared.analytics import queries
from shared.analytics.store import ListFilters
from shared.reports import build_report
from shared.storage import Storage

DESCRIPTION = """\
Reads what callpipe produced: journey reports, failure reasons, dead letters, call transcripts and analyses, and
analytics over many calls. Read-only.

Actions:
- report (journey_id): the journey's summary: discovered, analysed, skipped, failed calls, billed audio seconds,
  tokens, outcomes and the most frequent failure reasons per stage.
- failures (journey_id): failed calls of the journey with stage and reason (`limit`, at most 50).
- dead_letters: messages waiting in every stage's dead-letter queue; with `stage`, up to `limit` of its messages
  with the error that put them there.
- transcript (task_id): the call's turns (speaker, start and end seconds, text), `limit` turns from `offset`; page
  with `next_offset`. Long turns are cut.
- analysis (task_id): the call's analysis record (summary, sentiment, resolution, topics, QA flags, metrics).
- analytics_summary: totals and groups (group_by day, queue, agent, topic or sentiment) of calls that ended between
  from_time and to_time (default: the last 7 days), with top topics and reasons.
org_id defaults to the server's WXCC org."""


def _failure(job: dict[str, Any]) -> FailureOut:
    at = job.get("at")
    stage, reason = job.get("stage"), job.get("reason", job.get("error"))
    return FailureOut(
        task_id=str(job.get("sk", "")).removeprefix("JOB#"),
        stage=str(stage) if stage is not None else None,
        reason=str(reason)[:MAX_TURN_CHARS] if reason is not None else None,
        at=float(at) if isinstance(at, int | float) else None,
    )


def spec(c: ApiContext) -> ToolSpec[ReportsInput, ReportsOutput]:
    """The tool, bound to the server's context."""

    async def report(a: ReportsInput) -> ReportsOutput:
        assert a.journey_id is not None
        built = await build_report(c.journeys, a.journey_id)
        if built is None:
            raise ApiError(404, "journey_not_found", f"no journey {a.journey_id}")
        try:
            return ReportsOutput(action=a.action, report=built.summary)
        finally:
            built.close()

    async def failures(a: ReportsInput) -> ReportsOutput:
        assert a.journey_id is not None
        if await c.journeys.get(a.journey_id) is None:
            raise ApiError(404, "journey_not_found", f"no journey {a.journey_id}")
        jobs = await c.journeys.jobs(a.journey_id, outcome="failed", limit=a.limit + 1)
        shown = [_failure(j) for j in jobs[: a.limit]]
        note = f"more than {a.limit} failures: see action report for counts per reason" if len(jobs) > a.limit else None
        return ReportsOutput(action=a.action, failures=shown, note=note)

    async def dead_letters(a: ReportsInput) -> ReportsOutput:
        depths = await dead_letter_depths(c)
        stages = [DeadLetterStage(stage=s, messages=n) for s, n in depths.items()]
        for entry in stages:
            if entry.stage == a.stage:
                entry.sample = await dead_letter_sample(c, a.stage, a.limit)
        note = None if a.stage else "pass stage to see a stage's messages and their errors"
        return ReportsOutput(action=a.action, dead_letters=stages, note=note)

    async def transcript(a: ReportsInput) -> ReportsOutput:
        assert a.task_id is not None
        org = org_of(c, a.org_id)
        row = await c.tracking.get(org, a.task_id)
        if row is None:
            raise ApiError(404, "call_not_found", f"no call {a.task_id} in org {org}")
        if not row.transcript_key:
            raise ToolFailure(f"call {a.task_id} has no transcript yet ({row.status.value})")
        full = await queries.transcript(Storage(c.s3), c.resources.results_bucket.name, row.transcript_key)
        page = full.turns[a.offset : a.offset + a.limit]
        cut = 0
        for turn in page:
            if len(turn.text) > MAX_TURN_CHARS:
                turn.text, cut = turn.text[:MAX_TURN_CHARS] + " […]", cut + 1
        end = a.offset + len(page)
        more = end < len(full.turns)
        notes = [f"turns {a.offset}-{end} of {len(full.turns)}"]
        if more:
            notes.append("pass next_offset as offset for more")
        if cut:
            notes.append(f"{cut} long turns cut at {MAX_TURN_CHARS} characters")
        return ReportsOutput(
            action=a.action,
            transcript=full.model_copy(update={"turns": page}),
            next_offset=end if more else None,
            note="; ".join(notes),
        )

    async def analysis(a: ReportsInput) -> ReportsOutput:
        assert a.task_id is not None
        org = org_of(c, a.org_id)
        record = await queries.call_record(analytics_store(c), org, a.task_id)
        if record is None:
            row = await c.tracking.get(org, a.task_id)
            state = row.status.value if row is not None else "unknown to callpipe"
            raise ToolFailure(f"call {a.task_id} has no analysis yet ({state})")
        return ReportsOutput(action=a.action, analysis=record)

    async def analytics_summary(a: ReportsInput) -> ReportsOutput:
        window: dict[str, Any] = {"group_by": a.group_by, "from": a.from_time, "to": a.to_time, "org_id": a.org_id}
        query = AnalyticsSummaryQuery.model_validate({k: v for k, v in window.items() if v is not None})
        summary = await queries.summary(
            analytics_store(c), org_of(c, query.org_id), *query.window(), query.group_by, ListFilters()
        )
        note = None
        if len(summary.groups) > MAX_LIST:
            note = f"{len(summary.groups)} groups: the first {MAX_LIST} shown; narrow the window or group_by"
            summary = summary.model_copy(update={"groups": summary.groups[:MAX_LIST]})
        return ReportsOutput(action=a.action, analytics_summary=summary, note=note)

    actions = {
        ReportsAction.REPORT: report,
        ReportsAction.FAILURES: failures,
        ReportsAction.DEAD_LETTERS: dead_letters,
        ReportsAction.TRANSCRIPT: transcript,
        ReportsAction.ANALYSIS: analysis,
        ReportsAction.ANALYTICS_SUMMARY: analytics_summary,
    }

    async def handler(call: Call[ReportsInput]) -> ReportsOutput:
        return await actions[call.args.action](call.args)

    return ToolSpec(
        name=ToolName.LOGS_AND_REPORTS,
        title="callpipe logs and reports",
        description=DESCRIPTION,
        input=ReportsInput,
        output=ReportsOutput,
        handler=handler,
        scopes=dict.fromkeys(ReportsAction, Scope.READ),
        idempotent=True,
    )
