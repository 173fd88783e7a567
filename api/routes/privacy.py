"""`POST /api/v1/privacy/erasures` starts an erasure (task ids, a customer number or a window); `GET …/{id}` shows
its progress and counts. Both need the admin scope. The erasure runs in this API process (`shared.privacy.jobs`)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from api.context import ctx, org_of
from api.errors import ApiError, ErrorBody
from api.middleware import PRINCIPAL
from api.parsing import json_response, read_json, validate
from api.routing import Route, RouteGroup, Scope
from shared.audit import FrontDoor
from shared.logging import get_logger
from shared.privacy.erasure import Eraser
from shared.privacy.jobs import ErasureJob, ErasureJobs, ErasureRequest, run_erasure
from shared.privacy.keys import cached_key

log = get_logger(__name__)
PREFIX = "/api/v1"
_RUNNING: set[asyncio.Task[ErasureJob]] = set()  # held so a running erasure is not garbage-collected


def _jobs(request: web.Request) -> ErasureJobs:
    c = ctx(request)
    return ErasureJobs(c.dynamodb, c.resources.coordination_table.name)


async def create_erasure(request: web.Request) -> web.Response:
    """Start an erasure; 202 with the job and its Location."""
    body = validate(ErasureRequest, await read_json(request))
    c = ctx(request)
    if body.task_ids is not None:  # task ids name calls of one org: refuse (not erase nothing) when none is known
        body = body.model_copy(update={"org_id": org_of(c, body.org_id)})
    jobs = _jobs(request)
    key = await cached_key(c.settings)
    job = await jobs.create(body.mode)
    principal = request.get(PRINCIPAL)
    task = asyncio.create_task(
        run_erasure(
            job,
            body,
            eraser=Eraser(c.dynamodb, c.s3, c.resources),
            jobs=jobs,
            audit=c.audit,
            hmac_key=key,
            default_org=c.settings.wxcc_org_id,
            actor=principal.actor if principal is not None else "anonymous",
            actor_label=principal.label if principal is not None else None,
            front_door=FrontDoor.HTTP,
        )
    )
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    log.info("erasure_started", erasure_id=job.id, mode=job.mode)
    return json_response(job, status=202, headers={"Location": f"{PREFIX}/privacy/erasures/{job.id}"})


async def get_erasure(request: web.Request) -> web.Response:
    """An erasure's progress and, once finished, what it removed (counts per kind)."""
    job = await _jobs(request).get(request.match_info["erasure_id"])
    if job is None:
        raise ApiError(404, "erasure_not_found", f"no erasure {request.match_info['erasure_id']}")
    return json_response(job)


GROUP = RouteGroup(
    PREFIX,
    [
        Route(
            "POST",
            "/privacy/erasures",
            create_erasure,
            "createErasure",
            "Erase calls everywhere: by task ids, a customer number, or a window",
            "privacy",
            {202: ErasureJob, 422: ErrorBody},
            body=ErasureRequest,
            notes={
                422: "not exactly one of task_ids, customer_number, or from and to; a malformed value; or task_ids "
                "without org_id when the server has no default WXCC org"
            },
            response_headers={202: {"Location": "The erasure's URL"}},
            scope=Scope.ADMIN,
        ),
        Route(
            "GET",
            "/privacy/erasures/{erasure_id}",
            get_erasure,
            "getErasure",
            "An erasure's progress and counts",
            "privacy",
            {200: ErasureJob, 404: ErrorBody},
            scope=Scope.ADMIN,
        ),
    ],
)
