"""Service functions the MCP tools share with the HTTP API: the API's context outside aiohttp, and the logic the routes
keep inline (read dead letters, a journey's failures), plus the audit record of
a destructive MCP action."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiohttp import web

from api.auth import Principal
from api.config import ApiConfig
from api.context import CONTEXT, ApiContext, aws_context
from api.errors import ApiError
from api.status import dlq_depth
from queues.dlq import list_dead_letters
from queues.envelope import Kind
from shared.audit import AuditEvent, AuditLog, FrontDoor, Outcome, outcome_of
from shared.aws import AwsClients
from shared.config import Settings
from shared.journeys import STAGES
from shared.logging import get_logger

log = get_logger(__name__)
T = TypeVar("T")


@asynccontextmanager
async def api_context(
    settings: Settings, config: ApiConfig | None = None, clients: AwsClients | None = None
) -> AsyncIterator[ApiContext]:
    """The same `ApiContext` the API server opens on startup (AWS clients, stores, producer, replay runner), for a
    front door that is not the aiohttp app; closed (replay jobs stopped first) on exit."""
    holder = web.Application()
    lifecycle = aws_context(settings, config or ApiConfig(), clients or AwsClients(settings))(holder)
    await anext(lifecycle)
    try:
        yield holder[CONTEXT]
    finally:
        await anext(lifecycle, None)


async def dead_letter_sample(c: ApiContext, stage: str, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` messages of a stage's DLQ with their reasons, newest first (read without consuming them)."""
    letters = await list_dead_letters(c.sqs, await c.directory.urls(Kind(stage)), max_messages=limit)
    letters.sort(key=lambda letter: letter.age_s)
    return [{**letter.__dict__, "age_s": round(letter.age_s, 1)} for letter in letters]


async def dead_letter_depths(c: ApiContext) -> dict[str, int | None]:
    """Messages in each stage's DLQ (None when a queue could not be read)."""
    return {stage: (await dlq_depth(c, stage)).messages for stage in STAGES}


async def audit(
    c: ApiContext, principal: Principal, action: str, targets: dict[str, str], outcome: Outcome, detail: str | None
) -> None:
    """Record a destructive MCP action in the audit trail; a failed write is logged, the action stands."""
    event = AuditEvent(
        actor=principal.actor,
        actor_label=principal.label,
        front_door=FrontDoor.MCP,
        action=action,
        targets=targets,
        outcome=outcome,
        detail=detail,
    )
    try:
        await AuditLog.for_prefix(c.s3, c.settings.name_prefix).write(event)
    except Exception as exc:
        log.warning("mcp_audit_write_failed", action=action, error=type(exc).__name__)


def error_code(exc: BaseException) -> str:
    """A short machine reason for the audit trail: the API error's code, else the exception's type."""
    return exc.code if isinstance(exc, ApiError) else type(exc).__name__


async def audited(
    c: ApiContext, principal: Principal, action: str, targets: dict[str, str], work: Callable[[], Awaitable[T]]
) -> T:
    """Run a destructive action and record it in the audit trail with its outcome (ok, denied, failed)."""
    try:
        result = await work()
    except Exception as exc:
        outcome = outcome_of(exc.status) if isinstance(exc, ApiError) else Outcome.FAILED
        await audit(c, principal, action, targets, outcome, error_code(exc))
        raise
    await audit(c, principal, action, targets, Outcome.OK, None)
    return result
