"""The callpipe MCP server: the four tools on the SDK's `MCPServer`, bound to one `ApiContext`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import Tool

from api.auth import Principal
from api.context import ApiContext
from api.mcp.access import PRINCIPAL_STATE, STDIO_PRINCIPAL
from api.mcp.registry import CallerOf, ToolSpec, narrowed, register
from api.mcp.tools import journeys, license, reports, simulator

NAME = "callpipe"
INSTRUCTIONS = """\
callpipe copies recorded Webex Contact Center calls to S3, transcribes and analyses them, in batches called journeys.
Use journeys_tool to start a journey for a time window (or task ids) and follow it to COMPLETED; logs_and_reports_tool
to read its report, why calls failed, dead letters, a call's transcript or analysis, and analytics over a period;
wxcc_simulator_tool to control the WXCC simulator in development; license_tool for the license and its usage.
Destructive actions (cancel, replay, activate) need confirm: true, only after the user agreed."""


def specs(c: ApiContext) -> list[ToolSpec[Any, Any]]:
    """The four tools, bound to the context."""
    return [journeys.spec(c), reports.spec(c), simulator.spec(c.settings), license.spec(c)]


def http_principal(request: Any) -> Principal | None:
    """The principal the HTTP guard (`access.RequireKey`) found for this request, if any."""
    scope = getattr(request, "scope", None)
    state = scope.get("state") if isinstance(scope, dict) else None
    principal = state.get(PRINCIPAL_STATE) if isinstance(state, dict) else None
    return principal if isinstance(principal, Principal) else None


def _http_caller(context: Context) -> Principal:
    principal = http_principal(context.request_context.request)
    if principal is None:  # the guard always sets it: a request that got here without one is refused
        raise ToolError("unauthorized: no API key was checked for this request")
    return principal


def _stdio_caller(context: Context) -> Principal:
    return STDIO_PRINCIPAL


class ScopedToolList:
    """Middleware: `tools/list` over HTTP shows each caller only the tools and actions its key's scope allows."""

    def __init__(self, tools: Sequence[ToolSpec[Any, Any]]) -> None:
        self._specs = {spec.name.value: spec for spec in tools}

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "tools/list" or not isinstance(result, dict):
            return result  # the chain hands back the wire form (a dict) of the handler's result
        principal = http_principal(ctx.request)
        shown = []
        for wire in result.get("tools", []):
            tool = Tool.model_validate(wire)
            spec = self._specs.get(tool.name)
            view = narrowed(tool, spec, principal) if spec is not None and principal is not None else None
            if view is not None:
                shown.append(view if view is not tool else wire)
        return {**result, "tools": [t if isinstance(t, dict) else _wire(t) for t in shown]}


def _wire(tool: Tool) -> dict[str, Any]:
    return tool.model_dump(mode="json", by_alias=True, exclude_none=True)


def build_server(c: ApiContext, *, http: bool) -> MCPServer[Any]:
    """The MCP server over `c`: on HTTP callers are the guard's principals (tools narrowed to their scope); on
    stdio the local user (admin)."""
    server: MCPServer[Any] = MCPServer(NAME, instructions=INSTRUCTIONS, log_level="WARNING")
    tools = specs(c)
    caller_of: CallerOf = _http_caller if http else _stdio_caller
    for spec in tools:
        register(server, spec, caller_of)
    if http:
        server.middleware.append(ScopedToolList(tools))
    return server
