"""`license_tool`: the org's license status, its monthly usage, and activating a license key (`LicenseService`)."""

from __future__ import annotations

from api.context import ApiContext, org_of
from api.errors import ApiError
from api.mcp.models import LicenseAction, LicenseInput, LicenseOutput, ToolName
from api.mcp.registry import Call, ToolSpec
from api.mcp.services import audited
from api.operations import license_service
from api.routing import Scope
from shared.license.errors import LicenseError
from shared.license.models import LicenseStatus

DESCRIPTION = """\
The callpipe license of a WXCC org: what it allows and how much of it is used.

Actions:
- status: state (active, evaluation, expired, invalid, …), plan, customer, features, monthly allowance of calls and
  audio hours, this month's usage and what remains, warnings, calls held for want of allowance, expiry.
- usage: calls and billed audio per calendar month, this month first, for the last `months` months.
- activate: install a license `key` for the org (it replaces the current license); calls held for want of allowance
  that the new license admits resume at once. Destructive: set confirm to true only after the user agreed.
org_id defaults to the server's WXCC org."""


def spec(c: ApiContext) -> ToolSpec[LicenseInput, LicenseOutput]:
    """The tool, bound to the server's context."""
    service = license_service(c)

    async def activate(org: str, key: str, by: str) -> LicenseStatus:
        try:
            return await service.activate(org, key, by=by)
        except LicenseError as exc:  # nothing was stored: a refusal, with the service's reason
            raise ApiError(422, exc.code, exc.message) from None

    async def handler(call: Call[LicenseInput]) -> LicenseOutput:
        a = call.args
        org = org_of(c, a.org_id)
        if a.action is LicenseAction.STATUS:
            return LicenseOutput(action=a.action, status=await service.status(org))
        if a.action is LicenseAction.USAGE:
            return LicenseOutput(action=a.action, usage=await service.usage(org, a.months))
        key = a.key or ""
        status = await audited(
            c, call.principal, "license.activate", {"org_id": org}, lambda: activate(org, key, call.principal.actor)
        )
        return LicenseOutput(action=a.action, status=status)

    return ToolSpec(
        name=ToolName.LICENSE,
        title="callpipe license",
        description=DESCRIPTION,
        input=LicenseInput,
        output=LicenseOutput,
        handler=handler,
        scopes={LicenseAction.STATUS: Scope.READ, LicenseAction.USAGE: Scope.READ, LicenseAction.ACTIVATE: Scope.ADMIN},
        destructive=frozenset({LicenseAction.ACTIVATE}),
        idempotent=True,
    )
