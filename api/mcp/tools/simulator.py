"""`wxcc_simulator_tool`: the WXCC simulator's control API (stats, faults, calls, clock) over HTTP, for development.

Production code never imports the simulator: this talks to its control endpoints (`/api/v1/simulator/*`) with
httpx at `CALLPIPE_WXCC_SIMULATOR_URL`, and refuses with a clear message when that is not set.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from api.mcp.models import (
    MAX_TEXT_CHARS,
    SimulatorAction,
    SimulatorInput,
    SimulatorOutput,
    ToolName,
)
from api.mcp.registry import Call, ToolFailure, ToolSpec
from api.routing import Scope
from shared.config import Settings

CONTROL = "/api/v1/simulator"
TIMEOUT_S = 15.0
MAX_CALLS_SHOWN = 20

DESCRIPTION = """\
Controls the WXCC (Webex Contact Center) API simulator that local and test deployments of callpipe poll instead of
Cisco's API. Only available where CALLPIPE_WXCC_SIMULATOR_URL is set (never in production).

Actions:
- stats: requests and HTTP statuses per WXCC endpoint (token, tasks, search, captures, recordings), faults injected
  per kind, downloads, the number of simulated calls and the simulated now.
- list_faults: the active fault rules and what is left of their counts.
- inject_faults: add `rules` (append=true, default) or replace the active ones (append=false). A rule has a kind
  (rate_limit, server_error, slow, truncate, expired_url, malformed), optional endpoints, and fires on the next
  `count` matching requests or with `probability` per request (e.g. 10 % 5xx:
  {"kind": "server_error", "probability": 0.1, "status": 503}).
- clear_faults: drop every fault rule.
- add_calls: generate `count` calls that ended within the last `last_seconds`.
- clock / advance_clock: read, or move forward by advance_s seconds, the simulated now."""


def _bounded(action: SimulatorAction, result: dict[str, Any]) -> SimulatorOutput:
    """The answer, with long call lists cut and anything still too large replaced by a note."""
    notes = []
    calls = result.get("calls")
    if isinstance(calls, list) and len(calls) > MAX_CALLS_SHOWN:
        result = {**result, "calls": calls[:MAX_CALLS_SHOWN], "calls_total": len(calls)}
        notes.append(f"{len(calls)} calls: the first {MAX_CALLS_SHOWN} shown")
    if len(json.dumps(result)) > MAX_TEXT_CHARS:
        keys = sorted(result)
        result = {"keys": keys}
        notes.append(f"the answer is over {MAX_TEXT_CHARS} characters: only its keys are shown")
    return SimulatorOutput(action=action, result=result, note="; ".join(notes) or None)


def spec(settings: Settings) -> ToolSpec[SimulatorInput, SimulatorOutput]:
    """The tool, talking to the simulator `settings` name (if any)."""

    async def request(method: str, path: str, body: Any = None) -> dict[str, Any]:
        base = settings.wxcc_simulator_url
        if not base:
            raise ToolFailure(
                "no WXCC simulator is configured (CALLPIPE_WXCC_SIMULATOR_URL is not set): this deployment talks to "
                "the real Webex Contact Center, whose faults and clock cannot be controlled"
            )
        try:
            async with httpx.AsyncClient(base_url=base.rstrip("/"), timeout=TIMEOUT_S) as http:
                response = await http.request(method, CONTROL + path, json=body)
        except httpx.HTTPError as exc:
            raise ToolFailure(f"the WXCC simulator at {base} did not answer: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise ToolFailure(f"the WXCC simulator refused ({response.status_code}): {response.text[:500]}")
        answer = response.json()
        return answer if isinstance(answer, dict) else {"items": answer}

    async def handler(call: Call[SimulatorInput]) -> SimulatorOutput:
        a = call.args
        match a.action:
            case SimulatorAction.STATS:
                result = await request("GET", "/stats")
            case SimulatorAction.LIST_FAULTS:
                result = await request("GET", "/faults")
            case SimulatorAction.INJECT_FAULTS:
                rules = [r.wire() for r in a.rules or []]
                result = await request("POST", "/faults", {"rules": rules, "append": a.append})
            case SimulatorAction.CLEAR_FAULTS:
                result = await request("DELETE", "/faults")
            case SimulatorAction.ADD_CALLS:
                result = await request("POST", "/calls", {"count": a.count, "lastSeconds": a.last_seconds})
            case SimulatorAction.CLOCK:
                result = await request("GET", "/clock")
            case SimulatorAction.ADVANCE_CLOCK:
                result = await request("POST", "/clock", {"advanceS": a.advance_s})
        return _bounded(a.action, result)

    return ToolSpec(
        name=ToolName.WXCC_SIMULATOR,
        title="WXCC simulator controls",
        description=DESCRIPTION,
        input=SimulatorInput,
        output=SimulatorOutput,
        handler=handler,
        scopes={
            SimulatorAction.STATS: Scope.READ,
            SimulatorAction.LIST_FAULTS: Scope.READ,
            SimulatorAction.CLOCK: Scope.READ,
            SimulatorAction.INJECT_FAULTS: Scope.OPERATE,
            SimulatorAction.CLEAR_FAULTS: Scope.OPERATE,
            SimulatorAction.ADD_CALLS: Scope.OPERATE,
            SimulatorAction.ADVANCE_CLOCK: Scope.OPERATE,
        },
        open_world=True,
    )
