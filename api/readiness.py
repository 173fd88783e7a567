"""Readiness: every stage queue, table and bucket of the deployment answers, checked concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from api.context import ApiContext
from api.models import ReadyCheck
from queues.topology import stage_queues

CHECK_TIMEOUT_S = 5.0


async def _check(kind: str, name: str, call: Awaitable[object]) -> ReadyCheck:
    try:
        await asyncio.wait_for(call, timeout=CHECK_TIMEOUT_S)
    except Exception as exc:
        problem = type(exc).__name__ if isinstance(exc, TimeoutError) else str(exc)[:300]
        return ReadyCheck(kind=kind, name=name, ok=False, problem=problem)  # type: ignore[arg-type]
    return ReadyCheck(kind=kind, name=name, ok=True)  # type: ignore[arg-type]


async def readiness(ctx: ApiContext) -> list[ReadyCheck]:
    """One check per work queue, DLQ, table and bucket."""
    checks: list[Awaitable[ReadyCheck]] = []
    for spec in stage_queues(ctx.settings.name_prefix, include_echo=False):
        for name in (spec.name, spec.dlq_name):
            checks.append(_check("queue", name, ctx.sqs.get_queue_url(QueueName=name)))
    for table in ctx.resources.tables():
        checks.append(_check("table", table.name, ctx.dynamodb.describe_table(TableName=table.name)))
    for bucket in ctx.resources.buckets():
        checks.append(_check("bucket", bucket.name, ctx.s3.head_bucket(Bucket=bucket.name)))
    return list(await asyncio.gather(*checks))
