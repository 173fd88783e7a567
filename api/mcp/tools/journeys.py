"""`journeys_tool`: start a journey (window, task ids, reprocess), read its status, list journeys, cancel, replay."""

from __future__ import annotations

from api.context import ApiContext
from api.create import create_journey
from api.errors import ApiError
from api.listing import list_journeys
from api.mcp.models import JourneysAction, JourneysInput, JourneysOutput, ToolName
from api.mcp.registry import Call, ToolSpec
from api.mcp.services import audited
from api.models import JourneyCreate, JourneyOut
from api.operations import cancel_journey, start_replay
from api.ratelimit import key_identity
from api.replay_jobs import ReplayFilters
from api.routes.dlq import ReplayJobOut
from api.routing import Scope
from api.status import journey_status

DESCRIPTION = """\
Runs and inspects callpipe journeys. A journey is one batch of work: every recorded Webex Contact Center call that
ended in a time window (or a list of WXCC task ids) is fetched, transcribed and analysed.

Actions:
- start: give from_time and to_time (ISO 8601 with offset; the window is of call END times, at most 31 days, not in
  the future) or task_ids. With reprocess_version (newer than the server's pipeline version) it re-analyses already
  analysed calls instead. Answers at once with the journey (state RUNNING); poll `status` until it is COMPLETED.
- status: counters per stage (queued, done, skipped, failed), discovered and finished calls, the first failures.
- list: journeys newest first, `limit` per page (at most 50), optionally of one `state`; page with `cursor`.
- cancel: stop a RUNNING journey. Destructive: set confirm to true only after the user agreed.
- replay: move the journey's dead-lettered messages of one `stage` back to that stage's queue (a job that runs on).
  Destructive: set confirm to true only after the user agreed.
To see why calls failed, use logs_and_reports_tool (failures, report, dead_letters)."""


def _create_body(a: JourneysInput) -> dict[str, object]:
    """The `POST /api/v1/journeys` body the arguments stand for (the API's own model validates it)."""
    body: dict[str, object] = {}
    window = {"from": a.from_time.isoformat(), "to": a.to_time.isoformat()} if a.from_time and a.to_time else None
    if a.reprocess_version is not None:
        body = {"kind": "reprocess", "pipeline_version": a.reprocess_version}
        body.update({"task_ids": a.task_ids} if a.task_ids else {"window": window})
    elif a.task_ids:
        body = {"kind": "tasks", "task_ids": a.task_ids, "retry_failed": a.retry_failed}
    else:
        body = {"kind": "window", **(window or {}), "retry_failed": a.retry_failed}
    if a.org_id:
        body["org_id"] = a.org_id
    return body


def spec(c: ApiContext) -> ToolSpec[JourneysInput, JourneysOutput]:
    """The tool, bound to the server's context."""

    async def handler(call: Call[JourneysInput]) -> JourneysOutput:
        a = call.args
        if a.action is JourneysAction.START:
            body = JourneyCreate.model_validate(_create_body(a))
            journey, _ = await create_journey(
                c, body, idempotency=None, created_by="mcp", identity=key_identity(call.principal.actor)
            )
            return JourneysOutput(
                action=a.action,
                journey=JourneyOut.of(journey),
                note=f"poll journeys_tool status with journey_id {journey.id} until its state is COMPLETED",
            )
        if a.action is JourneysAction.STATUS:
            assert a.journey_id is not None
            status = await c.journeys.status(a.journey_id)
            if status is None:
                raise ApiError(404, "journey_not_found", f"no journey {a.journey_id}")
            return JourneysOutput(action=a.action, status=await journey_status(c, status))
        if a.action is JourneysAction.LIST:
            page = await list_journeys(c, state=a.state, limit=a.limit, cursor=a.cursor)
            more = "; more: pass next_cursor as cursor" if page.next_cursor else ""
            return JourneysOutput(
                action=a.action,
                journeys=page.items,
                next_cursor=page.next_cursor,
                note=f"{len(page.items)} journeys{more}",
            )
        assert a.journey_id is not None
        targets = {"journey_id": a.journey_id}
        if a.action is JourneysAction.CANCEL:
            journey_id = a.journey_id
            journey = await audited(c, call.principal, "journey.cancel", targets, lambda: cancel_journey(c, journey_id))
            return JourneysOutput(action=a.action, journey=JourneyOut.of(journey))
        assert a.stage is not None
        stage = a.stage
        targets["stage"] = stage
        job = await audited(
            c,
            call.principal,
            "dlq.replay",
            targets,
            lambda: start_replay(c, stage, ReplayFilters(journey_id=a.journey_id)),
        )
        return JourneysOutput(
            action=a.action,
            replay=ReplayJobOut.of(job),
            note="the replay runs on; journeys_tool status shows the calls moving again",
        )

    return ToolSpec(
        name=ToolName.JOURNEYS,
        title="callpipe journeys",
        description=DESCRIPTION,
        input=JourneysInput,
        output=JourneysOutput,
        handler=handler,
        scopes={
            JourneysAction.START: Scope.OPERATE,
            JourneysAction.STATUS: Scope.READ,
            JourneysAction.LIST: Scope.READ,
            JourneysAction.CANCEL: Scope.OPERATE,
            JourneysAction.REPLAY: Scope.OPERATE,
        },
        destructive=frozenset({JourneysAction.CANCEL, JourneysAction.REPLAY}),
    )
