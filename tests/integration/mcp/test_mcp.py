"""The MCP tools through the SDK's own client, over streamable HTTP and stdio, against a running dev stack."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from api.mcp.models import ToolName
from api.routing import Scope
from shared.audit import AuditLog, FrontDoor, Outcome
from tests.helpers import eventually
from tests.integration.mcp.conftest import McpStack

pytestmark = pytest.mark.timeout(300)


@asynccontextmanager
async def http_client(stack: McpStack, scope: Scope | None = Scope.ADMIN) -> AsyncIterator[Client]:
    headers = stack.headers(scope) if scope is not None else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120)) as http,
        Client(streamable_http_client(stack.url, http_client=http)) as client,
    ):
        yield client


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured output of a call that must have succeeded."""
    assert not result.is_error, result.content
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


async def run_journey(client: Client, arguments: dict[str, Any]) -> dict[str, Any]:
    """Start a journey through journeys_tool and follow its status to COMPLETED; the last status."""
    started = ok(await client.call_tool(ToolName.JOURNEYS, {"action": "start", **arguments}))
    journey_id = started["journey"]["id"]
    assert started["journey"]["state"] == "RUNNING" and journey_id in started["note"]
    status: dict[str, Any] = {}

    async def completed() -> bool:
        nonlocal status
        status = ok(await client.call_tool(ToolName.JOURNEYS, {"action": "status", "journey_id": journey_id}))
        return bool(status["status"]["journey"]["state"] == "COMPLETED")

    await eventually(completed, timeout=120, interval=1)
    last: dict[str, Any] = status["status"]
    return last


async def analysed_task(stack: McpStack, journey_id: str) -> str:
    async for page in stack.stack.journeys.job_pages(journey_id):
        for job in page:
            if job.get("outcome") == "analyzed":
                return str(job["task_id"])
    raise AssertionError(f"journey {journey_id} analysed no call")


async def read_back(stack: McpStack, client: Client, journey_id: str, discovered: int) -> None:
    """The journey's report, and a transcript and analysis of one of its calls, through logs_and_reports_tool."""
    report = ok(await client.call_tool(ToolName.LOGS_AND_REPORTS, {"action": "report", "journey_id": journey_id}))
    summary = report["report"]
    assert summary["journey_id"] == journey_id and summary["final"] is True
    assert summary["discovered"] == discovered and summary["analyzed"] == discovered and summary["failed"] == 0
    task_id = await analysed_task(stack, journey_id)
    page = ok(
        await client.call_tool(ToolName.LOGS_AND_REPORTS, {"action": "transcript", "task_id": task_id, "limit": 2})
    )
    turns = page["transcript"]["turns"]
    assert page["transcript"]["task_id"] == task_id and 1 <= len(turns) <= 2 and turns[0]["text"]
    if page["next_offset"] is not None:  # bounded: a page of 2 turns, and where the next one starts
        assert page["next_offset"] == 2 and "offset" in page["note"]
    analysis = ok(await client.call_tool(ToolName.LOGS_AND_REPORTS, {"action": "analysis", "task_id": task_id}))
    assert analysis["analysis"]["task_id"] == task_id


async def test_http_tools_list_names_schemas_and_annotations(mcp_stack: McpStack) -> None:
    async with http_client(mcp_stack) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {name.value for name in ToolName}
    for tool in tools.values():
        assert "action" in tool.input_schema["required"] and tool.output_schema is not None
        assert tool.output_schema["properties"]["action"] and len(tool.description or "") > 200
    journeys, reports = tools[ToolName.JOURNEYS], tools[ToolName.LOGS_AND_REPORTS]
    assert journeys.annotations is not None and reports.annotations is not None
    assert journeys.annotations.read_only_hint is False and journeys.annotations.destructive_hint is True
    assert reports.annotations.read_only_hint is True
    assert {"confirm", "from_time", "to_time", "task_ids", "journey_id"} <= set(journeys.input_schema["properties"])


async def test_http_read_key_sees_and_runs_only_read_actions(mcp_stack: McpStack) -> None:
    async with http_client(mcp_stack, Scope.READ) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        journeys = tools[ToolName.JOURNEYS]
        assert journeys.input_schema["properties"]["action"]["enum"] == ["status", "list"]
        assert journeys.annotations is not None and journeys.annotations.read_only_hint is True
        assert tools[ToolName.LICENSE].input_schema["properties"]["action"]["enum"] == ["status", "usage"]
        refused = await client.call_tool(ToolName.JOURNEYS, {"action": "cancel", "journey_id": "j-1", "confirm": True})
        assert "needs the operate scope" in error_text(refused)
        assert ok(await client.call_tool(ToolName.JOURNEYS, {"action": "list"}))["action"] == "list"
    async with http_client(mcp_stack, Scope.OPERATE) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert "activate" not in tools[ToolName.LICENSE].input_schema["properties"]["action"]["enum"]
        operate_journeys = tools[ToolName.JOURNEYS].annotations
        assert operate_journeys is not None and operate_journeys.destructive_hint is True  # every action of it


async def test_http_without_a_valid_key_is_refused(mcp_stack: McpStack) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with httpx.AsyncClient(timeout=10) as http:
        bare = await http.post(mcp_stack.url, json=initialize)
        wrong = await http.post(mcp_stack.url, json=initialize, headers={"X-API-Key": "not-a-key"})
    assert bare.status_code == 401 and bare.json()["error"]["code"] == "unauthorized"
    assert wrong.status_code == 401 and "not valid" in wrong.json()["error"]["message"]
    with pytest.raises(Exception):  # noqa: B017 - the SDK surfaces the 401 as its own error type
        async with http_client(mcp_stack, None) as client:
            await client.list_tools()


async def test_http_fault_journey_report_transcript_and_stats(mcp_stack: McpStack) -> None:
    async with http_client(mcp_stack) as client:
        fault = {"kind": "server_error", "endpoints": ["search", "tasks"], "count": 1, "status": 503}
        injected = ok(await client.call_tool(ToolName.WXCC_SIMULATOR, {"action": "inject_faults", "rules": [fault]}))
        assert [r["kind"] for r in injected["result"]["rules"]] == ["server_error"]
        now = datetime.now(UTC)
        window = {"from_time": (now - timedelta(hours=2)).isoformat(), "to_time": now.isoformat()}
        status = await run_journey(client, window)
        assert status["discovered"] == 4 and status["stages"]["analyze"]["done"] == 4
        stats = ok(await client.call_tool(ToolName.WXCC_SIMULATOR, {"action": "stats"}))["result"]
        assert stats["faults"]["server_error"] == 1  # the poll stage met the 503 and retried past it
        assert ok(await client.call_tool(ToolName.WXCC_SIMULATOR, {"action": "clear_faults"}))["result"]["rules"] == []
        await read_back(mcp_stack, client, status["journey"]["id"], 4)
        not_confirmed = await client.call_tool(
            ToolName.JOURNEYS, {"action": "cancel", "journey_id": status["journey"]["id"]}
        )
        assert "confirm: true" in error_text(not_confirmed)
        finished = await client.call_tool(
            ToolName.JOURNEYS, {"action": "cancel", "journey_id": status["journey"]["id"], "confirm": True}
        )
        assert "journey_not_running" in error_text(finished)
        async with mcp_stack.stack.clients.s3() as s3:
            events = await AuditLog.for_prefix(s3, mcp_stack.settings.name_prefix).read(
                now - timedelta(minutes=5), datetime.now(UTC) + timedelta(minutes=1), action="journey.cancel"
            )
        assert [(e.front_door, e.outcome, e.actor, e.targets) for e in events] == [
            (FrontDoor.MCP, Outcome.DENIED, "key:admin", {"journey_id": status["journey"]["id"]})
        ]  # the refused cancel is in the audit trail; the unconfirmed one never ran
        license_status = ok(await client.call_tool(ToolName.LICENSE, {"action": "status"}))["status"]
        assert license_status["org_id"] == mcp_stack.settings.wxcc_org_id and license_status["state"] == "evaluation"


async def test_stdio_tools_journey_report_license_and_bad_arguments(mcp_stack: McpStack) -> None:
    async with Client(mcp_stack.stdio) as client:
        tools = (await client.list_tools()).tools
        assert {t.name for t in tools} == {name.value for name in ToolName}
        added = ok(
            await client.call_tool(ToolName.WXCC_SIMULATOR, {"action": "add_calls", "count": 1, "last_seconds": 900})
        )
        task_id = added["result"]["calls"][0]["taskId"]
        status = await run_journey(client, {"task_ids": [task_id]})
        assert status["stages"]["analyze"]["done"] == 1
        await read_back(mcp_stack, client, status["journey"]["id"], 1)
        license_status = ok(await client.call_tool(ToolName.LICENSE, {"action": "status"}))["status"]
        assert license_status["state"] == "evaluation"
        missing = await client.call_tool(ToolName.JOURNEYS, {"action": "start"})
        assert "needs either from_time and to_time, or task_ids" in error_text(missing)
        wrong_type = await client.call_tool(ToolName.LOGS_AND_REPORTS, {"action": "transcript", "limit": "many"})
        assert "limit" in error_text(wrong_type)
        unknown = await client.call_tool(ToolName.LOGS_AND_REPORTS, {"action": "report", "journey_id": "no-such"})
        assert "journey_not_found" in error_text(unknown)
        activate = await client.call_tool(
            ToolName.LICENSE, {"action": "activate", "key": "CPL1.bogus", "confirm": True}
        )
        assert "license_" in error_text(activate)
        stats = ok(await client.call_tool(ToolName.WXCC_SIMULATOR, {"action": "stats"}))
        assert json.dumps(stats["result"])  # the simulator's answer, as structured content
