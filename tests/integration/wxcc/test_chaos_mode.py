"""Chaos mode: the simulator's `malformed` fault against the real client and a real stage.

Extra fields are ignored; a missing or mistyped field, HTML, a cut or an empty body is a `WxccMalformedResponse`
naming the endpoint and the field, retried a bounded number of times; a stage's message then lands in the DLQ with
that reason while the worker keeps processing other calls.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from types_aiobotocore_dynamodb import DynamoDBClient

from queues.directory import QueueDirectory
from queues.envelope import Envelope, Kind
from shared.config import Settings
from shared.errors import Retryable
from shared.resources import DataResources
from shared.tracking import CallStatus
from shared.wxcc.client import WxccClient
from shared.wxcc.errors import WxccMalformedResponse
from shared.wxcc.tokens import TokenProvider
from simulator.wxcc.cli import config_from_args, configure_parser
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.server import SimulatorHandle
from tests.helpers import depth, receive_all
from tests.integration.pipeline.conftest import running_stack
from tests.integration.wxcc.conftest import wxcc_settings

MAX_ATTEMPTS = 3  # inline attempts per client call in these tests (short backoffs)


@asynccontextmanager
async def client_for(settings: Settings, ddb: DynamoDBClient) -> AsyncIterator[WxccClient]:
    table = DataResources(settings.name_prefix).coordination_table.name
    async with httpx.AsyncClient() as http:
        yield WxccClient(http, TokenProvider(ddb, table, http, settings), settings)


async def control(sim: SimulatorHandle, method: str, path: str, body: Any = None) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.request(method, sim.url(f"/api/v1/simulator/{path}"), json=body)


async def chaos(sim: SimulatorHandle, **rule: Any) -> None:
    response = await control(sim, "POST", "faults", {"rules": [{"kind": "malformed", **rule}]})
    assert response.status_code == 200, response.text


async def stats(sim: SimulatorHandle) -> dict[str, Any]:
    body: dict[str, Any] = (await control(sim, "GET", "stats")).json()
    return body


def window(sim: SimulatorHandle) -> tuple[int, int]:
    now = sim.state.clock.now_ms()
    return now - 48 * 3600 * 1000, now


def ready_recorded(sim: SimulatorHandle) -> list[str]:
    now = sim.state.clock.now_ms()
    return [
        c.task_id
        for c in sim.state.calls.values()
        if (available := c.recordings_available_from(0)) is not None and available <= now
    ]


async def call_endpoint(client: WxccClient, sim: SimulatorHandle, endpoint: str) -> Any:
    """What the client makes of one endpoint's answer (the token endpoint is behind every call)."""
    start, end = window(sim)
    if endpoint == "tasks":
        return sorted([t.id async for t in client.tasks(start, end)])
    if endpoint == "search":
        return sorted([t.id async for t in client.ended_calls(start, end)])
    ids = ready_recorded(sim)[:3]
    captures = await client.captures(ids)
    return {
        t: sorted((r.id, r.attributes.call_type, r.attributes.channel1) for r in c.recording)
        for t, c in captures.items()
    }


TOKEN_PATH = "POST /v1/applications/sim-service-app/token"
WHERE = {
    "token": TOKEN_PATH,
    "tasks": "GET /v1/tasks",
    "search": "POST /search",
    "captures": "POST /v1/captures/query",
}
# (endpoint, mutation) → what the error must name besides the endpoint
CASES: dict[tuple[str, str], str] = {
    ("token", "drop_field"): "access_token: Field required",
    ("token", "wrong_type"): "access_token: Input should be a valid string",
    ("tasks", "drop_field"): "data.0.attributes.createdTime: Field required",
    ("tasks", "wrong_type"): "data: Input should be a valid list",
    ("search", "drop_field"): "data.taskDetails.pageInfo: Field required",
    ("search", "wrong_type"): "data.taskDetails.tasks: Input should be a valid list",
    ("captures", "drop_field"): "data.0.recording.0.attributes.filePath: Field required",
    ("captures", "wrong_type"): "data.0.recording: Input should be a valid list",
    **{(e, "html"): "body is not JSON (text/html" for e in WHERE},
    **{(e, "truncated"): "body is not JSON (application/json" for e in WHERE},
    **{(e, "empty"): "empty body (application/json)" for e in WHERE},
}


@pytest.mark.parametrize(("endpoint", "mutation"), list(CASES), ids=[f"{e}-{m}" for e, m in CASES])
async def test_each_malformed_answer_is_a_clear_retryable_error_naming_endpoint_and_field(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle, endpoint: str, mutation: str
) -> None:
    s = wxcc_settings(settings, sim, wxcc_max_attempts=MAX_ATTEMPTS)
    await chaos(sim, endpoints=[endpoint], mutation=mutation, count=100)
    async with client_for(s, ddb) as client:
        with pytest.raises(WxccMalformedResponse) as caught:
            await call_endpoint(client, sim, endpoint)
    error = caught.value
    assert isinstance(error, Retryable), "a malformed answer must be retried, not crash or fail at once"
    assert str(error).startswith(WHERE[endpoint]), str(error)
    assert CASES[endpoint, mutation] in str(error), str(error)
    assert error.endpoint == WHERE[endpoint]
    if mutation in ("drop_field", "wrong_type"):
        assert CASES[endpoint, mutation].split(":")[0] in error.fields
    assert "12345" not in str(error), "the error shows a value of the answer (wrong_type puts 12345 in)"
    # Bounded: the client tried MAX_ATTEMPTS times, then gave up with the error.
    seen = await stats(sim)
    assert seen["requests"][endpoint] == MAX_ATTEMPTS
    assert seen["faults"] == {"malformed": MAX_ATTEMPTS}


@pytest.mark.parametrize("endpoint", list(WHERE))
async def test_extra_fields_everywhere_are_ignored(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle, endpoint: str
) -> None:
    s = wxcc_settings(settings, sim, wxcc_max_attempts=1)
    async with client_for(s, ddb) as client:
        clean = await call_endpoint(client, sim, "captures" if endpoint == "token" else endpoint)
    await chaos(sim, endpoints=[endpoint], mutation="extra_fields", count=100)
    async with client_for(s, ddb) as client:
        if endpoint == "token":  # force a fresh token through the spoiled token endpoint
            await control(sim, "POST", "tokens/expire")
        noisy = await call_endpoint(client, sim, "captures" if endpoint == "token" else endpoint)
    assert noisy == clean
    assert clean, "nothing was compared"
    assert (await stats(sim))["faults"] == {"malformed": 1}


async def test_a_single_malformed_answer_is_absorbed_by_the_inline_retry(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    s = wxcc_settings(settings, sim, wxcc_max_attempts=MAX_ATTEMPTS)
    async with client_for(s, ddb) as client:
        clean = await call_endpoint(client, sim, "search")
        await chaos(sim, endpoints=["search"], mutation="any", count=1)
        again = await call_endpoint(client, sim, "search")
    assert again == clean
    seen = await stats(sim)
    assert seen["faults"] == {"malformed": 1}


async def test_mutation_any_takes_each_mutation_in_turn_and_the_rule_is_listed(sim: SimulatorHandle) -> None:
    await chaos(sim, endpoints=["captures"], mutation="any", count=6)
    listed = (await control(sim, "GET", "faults")).json()["rules"]
    assert listed[0]["kind"] == "malformed" and listed[0]["mutation"] == "any" and listed[0]["remaining"] == 6
    token = await _service_app_token(sim)
    ids = ready_recorded(sim)[:1]
    body = {"query": {"orgId": sim.config.org_id, "taskIds": ids, "urlExpiration": 5}}
    seen: list[str] = []
    async with httpx.AsyncClient() as http:
        for _ in range(7):
            r = await http.post(sim.url("/v1/captures/query"), json=body, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200
            seen.append(_describe(r))
    assert seen == ["drop_field", "wrong_type", "extra_fields", "html", "truncated", "empty", "clean"]


def _describe(r: httpx.Response) -> str:
    if not r.content:
        return "empty"
    if r.headers["Content-Type"].startswith("text/html"):
        return "html"
    try:
        body = r.json()
    except ValueError:
        return "truncated"
    if "chaosExtra" in body:
        return "extra_fields"
    recording = body["data"][0]["recording"]
    if isinstance(recording, dict):
        return "wrong_type"
    return "clean" if "filePath" in recording[0]["attributes"] else "drop_field"


async def _service_app_token(sim: SimulatorHandle) -> str:
    cfg = sim.config
    async with httpx.AsyncClient() as http:
        r = await http.post(
            sim.url(f"/v1/applications/{cfg.application_id}/token"),
            json={"clientId": cfg.client_id, "clientSecret": cfg.client_secret, "targetOrgId": cfg.org_id},
        )
    return str(r.json()["access_token"])


async def test_bad_chaos_rules_are_refused_and_the_cli_accepts_good_ones(sim: SimulatorHandle) -> None:
    refused = await control(sim, "POST", "faults", [{"kind": "malformed", "mutation": "scramble", "count": 1}])
    assert refused.status_code == 400 and "mutation" in refused.text
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    rule = {"kind": "malformed", "endpoints": ["tasks"], "probability": 0.2, "mutation": "drop_field", "field": "meta"}
    config = config_from_args(parser.parse_args(["--fault", json.dumps(rule)]))
    [parsed] = config.faults
    assert (parsed.kind, parsed.mutation, parsed.field, parsed.probability) == ("malformed", "drop_field", "meta", 0.2)


async def test_a_fetch_worker_survives_chaos_dead_letters_the_call_with_the_reason_and_fetches_others(
    settings: Settings,
) -> None:
    config = SimulatorConfig(
        calls=8, seed=17, window_hours=1, duration_scale=0.06, availability_delay_s=0, capture_pending_fraction=0
    )
    # Two receives of two attempts each: four spoiled captures answers exhaust the victim's message.
    tuned = settings.model_copy(update={"max_receive_count": 2})
    async with running_stack(tuned, config, wxcc_max_attempts=2) as stack:
        sim = stack.sim
        now = sim.state.clock.now_ms()
        recorded = [
            c.task_id
            for c in sim.state.ended_between(now - 2 * 3600 * 1000, now)
            if c.recordings and c.capture_requested
        ]
        assert len(recorded) >= 3
        victim, others = recorded[0], recorded[1:3]
        await chaos(sim, endpoints=["captures"], mutation="wrong_type", count=4)
        first = await stack.start_tasks(victim)
        async with stack.clients.sqs() as sqs:
            urls = await QueueDirectory(sqs, stack.settings.name_prefix).urls(Kind.FETCH)
            [dead] = await receive_all(sqs, urls.dlq_url, expected=1, timeout=60)
            attrs: Any = dead["MessageAttributes"]
            assert attrs["error_type"]["StringValue"] == "WxccMalformedResponse"
            reason = attrs["error_message"]["StringValue"]
            assert "POST /v1/captures/query" in reason and "data.0.recording: Input should be a valid list" in reason
            assert Envelope.from_body(str(dead["Body"])).task_id == victim
            seen = await stats(sim)
            assert seen["faults"] == {"malformed": 4}
            assert seen["requests"]["captures"] == 4, "retries were not bounded"
            row = await stack.tracking.get(sim.config.org_id, victim)
            assert row is not None and row.status is CallStatus.CLAIMED, "the call must stay replayable"

            # The same fetch worker goes on with other calls.
            second = await stack.start_tasks(*others)
            status = await stack.finished(second, timeout=120)
            assert status.count("analyze", "done") == len(others)
            assert await depth(sqs, urls.dlq_url) == 1
            assert await depth(sqs, urls.url) == 0
        for task_id in others:
            row = await stack.tracking.get(sim.config.org_id, task_id)
            assert row is not None and row.status is CallStatus.ANALYZED
        assert first.id != second.id


async def test_a_journey_under_probabilistic_chaos_still_analyses_every_recorded_call_once(settings: Settings) -> None:
    config = SimulatorConfig(
        calls=8, seed=17, window_hours=1, duration_scale=0.06, availability_delay_s=0, capture_pending_fraction=0
    )
    async with running_stack(settings, config) as stack:
        sim = stack.sim
        # Every token, search and captures answer may be spoiled in any way: the inline retries absorb it.
        await chaos(sim, endpoints=["token", "search", "captures"], mutation="any", probability=0.6)
        now = sim.state.clock.now_ms()
        start = now - 2 * 3600 * 1000
        recorded = {c.task_id for c in sim.state.ended_between(start, now) if c.recordings and c.capture_requested}
        journey = await stack.start(start, now)
        status = await stack.finished(journey, timeout=120)
        assert status.count("analyze", "done") == len(recorded)
        assert set(stack.openai.stats.transcriptions_by_task) == recorded
        assert stack.openai.stats.completions == len(recorded), "a call was analysed twice"
        injected = (await stats(sim))["faults"].get("malformed", 0)
        assert injected >= 2, "chaos mode did not fire; the test proves nothing"
        async with stack.clients.sqs() as sqs:
            for kind in (Kind.POLL, Kind.FETCH):
                urls = await QueueDirectory(sqs, stack.settings.name_prefix).urls(kind)
                assert await depth(sqs, urls.dlq_url) == 0
