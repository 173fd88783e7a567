"""`GET /api/v1/audit?from&to&action`: the audit trail of a time range (admin scope)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.context import ctx
from api.errors import ErrorBody
from api.parsing import json_response, parse_query
from api.routing import Route, RouteGroup, Scope
from shared.audit import AuditEvent

PREFIX = "/api/v1"
MAX_DAYS = 31
DEFAULT_HOURS = 24


class AuditQuery(BaseModel):
    """Query of `GET /api/v1/audit`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: AwareDatetime | None = Field(default=None, alias="from", description="Range start; default `to` - 24 h.")
    to: AwareDatetime | None = Field(default=None, description="Range end, exclusive; default now.")
    action: str | None = Field(
        default=None, pattern=r"^[A-Za-z][A-Za-z0-9_.:-]{0,99}$", description="Only this action (an operation id)."
    )
    limit: int = Field(default=500, ge=1, le=5000, description="Events returned at most (oldest first).")

    @model_validator(mode="after")
    def _range(self) -> AuditQuery:
        end = self.to or datetime.now(UTC)
        start = self.from_ or end - timedelta(hours=DEFAULT_HOURS)
        if end <= start:
            raise ValueError("`to` must be after `from`")
        if end - start > timedelta(days=MAX_DAYS):
            raise ValueError(f"the range is over {MAX_DAYS} days")
        self.from_, self.to = start, end
        return self


class AuditPage(BaseModel):
    """The events of a range, oldest first."""

    from_: datetime = Field(alias="from")
    to: datetime
    events: list[AuditEvent]
    truncated: bool = Field(description="More events matched than `limit`: narrow the range.")

    model_config = ConfigDict(populate_by_name=True)


async def list_audit(request: web.Request) -> web.Response:
    """Audit events (who changed what, with what outcome) between `from` and `to`, optionally of one action."""
    q = parse_query(request, AuditQuery)
    assert q.from_ is not None and q.to is not None  # set by the validator
    events = await ctx(request).audit.read(q.from_, q.to, action=q.action, limit=q.limit + 1)
    page = {"from": q.from_, "to": q.to, "events": events[: q.limit], "truncated": len(events) > q.limit}
    return json_response(AuditPage.model_validate(page))


GROUP = RouteGroup(
    PREFIX,
    [
        Route(
            "GET",
            "/audit",
            list_audit,
            "listAuditEvents",
            "The audit trail of a time range",
            "audit",
            {200: AuditPage, 422: ErrorBody},
            query=AuditQuery,
            notes={422: "`from`/`to` are not ISO 8601 times with a zone, `to` is not after `from`, or over 31 days"},
            scope=Scope.ADMIN,
        ),
    ],
)
