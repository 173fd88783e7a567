"""The license routes: the org's license and usage, activating a key, resuming held calls (`shared.license`)."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.context import ctx, org_of
from api.errors import ApiError, ErrorBody
from api.operations import license_service
from api.parsing import json_response, parse_query, read_json, validate
from api.routing import Route, RouteGroup, Scope
from shared.license.errors import LicenseError
from shared.license.models import LicenseStatus, MonthUsage
from shared.license.service import MAX_USAGE_MONTHS

PREFIX = "/api/v1"
Q = TypeVar("Q", bound=BaseModel)

KEY_ERROR_STATUS = {"license_not_configured": 409}
"""HTTP status of each refused key (422 for every other code: the key itself is not usable)."""


class OrgQuery(BaseModel):
    """Which org (the server's WXCC org by default)."""

    model_config = ConfigDict(extra="forbid")

    org_id: str | None = Field(default=None, min_length=1, max_length=200)


class UsageQuery(OrgQuery):
    """Which org and how many months back."""

    months: int = Field(default=6, ge=1, le=MAX_USAGE_MONTHS)


class LicenseActivate(BaseModel):
    """A license key to activate for the org."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=10_000, description="The key text (`CPL1.….…`), as issued.")
    org_id: str | None = Field(default=None, min_length=1, max_length=200)


class ResumeHeld(BaseModel):
    """Whose held calls to resume."""

    model_config = ConfigDict(extra="forbid")

    org_id: str | None = Field(default=None, min_length=1, max_length=200)


class UsageOut(BaseModel):
    """An org's usage per calendar month (UTC), this month first."""

    org_id: str
    months: list[MonthUsage]


class ResumedOut(BaseModel):
    """How many held calls were sent on again."""

    org_id: str
    resumed: int
    still_held: int


def _query(request: web.Request, model: type[Q]) -> Q:
    """The query string, validated; a parameter given more than once is refused (422), not guessed at."""
    repeated = sorted({k for k in request.query if len(request.query.getall(k)) > 1})
    if repeated:
        raise ApiError(
            422,
            "validation_failed",
            f"query parameter(s) given more than once: {', '.join(repeated)}",
            [{"loc": ["query", k], "msg": "given more than once", "type": "repeated"} for k in repeated],
        )
    return parse_query(request, model)


async def get_license(request: web.Request) -> web.Response:
    """The org's license: entitlements, validity, this month's usage and what remains, warnings, held calls."""
    c = ctx(request)
    org = org_of(c, _query(request, OrgQuery).org_id)
    return json_response(await license_service(c).status(org))


async def put_license(request: web.Request) -> web.Response:
    """Activate a key for the org; 422 with the reason when the key is not usable (nothing is stored then)."""
    c = ctx(request)
    body = validate(LicenseActivate, await read_json(request))
    org = org_of(c, body.org_id)
    try:
        status = await license_service(c).activate(org, body.key, by="api")
    except LicenseError as exc:
        raise ApiError(KEY_ERROR_STATUS.get(exc.code, 422), exc.code, exc.message) from None
    return json_response(status)


async def get_usage(request: web.Request) -> web.Response:
    """The org's usage of the last `months` months (months without usage read as zeros)."""
    c = ctx(request)
    query = _query(request, UsageQuery)
    org = org_of(c, query.org_id)
    return json_response(UsageOut(org_id=org, months=await license_service(c).usage(org, query.months)))


async def resume_held(request: web.Request) -> web.Response:
    """Resume the org's held calls, as many as its license admits now."""
    c = ctx(request)
    raw = await request.read()
    body = validate(ResumeHeld, await read_json(request)) if raw.strip() else ResumeHeld()
    org = org_of(c, body.org_id)
    licensing = license_service(c)
    resumed = await licensing.resume_held(org)
    return json_response(ResumedOut(org_id=org, resumed=resumed, still_held=await licensing.table.count_held(org)))


GROUP = RouteGroup(
    PREFIX,
    [
        Route(
            "GET",
            "/license",
            get_license,
            "getLicense",
            "The org's license: entitlements, period, usage, remaining, state",
            "license",
            {200: LicenseStatus, 422: ErrorBody},
            query=OrgQuery,
            notes={422: "No `org_id` and no server default, an unknown or repeated parameter"},
            scope=Scope.READ,
        ),
        Route(
            "PUT",
            "/license",
            put_license,
            "activateLicense",
            "Activate a license key for the org (held calls it admits resume)",
            "license",
            {200: LicenseStatus, 400: ErrorBody, 409: ErrorBody, 422: ErrorBody},
            body=LicenseActivate,
            notes={
                409: "`license_not_configured`: the server has no license public key to verify keys with",
                422: (
                    "The key is refused: `license_invalid` (garbage, truncated, tampered, not signed by the vendor), "
                    "`license_expired`, `license_not_yet_valid`, `license_wrong_org`; or the body does not validate"
                ),
            },
            scope=Scope.ADMIN,
        ),
        Route(
            "GET",
            "/license/usage",
            get_usage,
            "getLicenseUsage",
            "The org's metered usage per month (analysed calls, billed audio), this month first",
            "license",
            {200: UsageOut, 422: ErrorBody},
            query=UsageQuery,
            notes={
                422: f"`months` is not an integer from 1 to {MAX_USAGE_MONTHS}, or an unknown or repeated parameter"
            },
            scope=Scope.READ,
        ),
        Route(
            "POST",
            "/license/resume-held",
            resume_held,
            "resumeHeldCalls",
            "Resume calls held by the license, as many as it admits now",
            "license",
            {200: ResumedOut, 400: ErrorBody, 422: ErrorBody},
            body=ResumeHeld,
            scope=Scope.ADMIN,
        ),
    ],
)
