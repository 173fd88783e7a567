"""Bounded work per request: the API and `callpipe journey start` refuse a journey over a bound, naming the limit."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from cli.journey import run as run_journey_command
from queues.envelope import Kind
from queues.topology import stage_queue
from shared.aws import AwsClients
from shared.config import Settings
from tests.helpers import depth
from tests.integration.api.conftest import AUTH

Client = TestClient[web.Request, web.Application]

# The request schemathesis sent to `callpipe dev`: `from` 705,471 days before `to`, i.e. millions of poll windows.
FLOOD_TO = datetime(2026, 1, 1, tzinfo=UTC)
FLOOD = {"kind": "window", "from": (FLOOD_TO - timedelta(days=705_471)).isoformat(), "to": FLOOD_TO.isoformat()}


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def _nothing_written(api: Client, settings: Settings) -> None:
    listed = await (await api.get("/api/v1/journeys", headers=AUTH)).json()
    assert listed["items"] == []
    async with AwsClients(settings).sqs() as sqs:
        url = (await sqs.get_queue_url(QueueName=stage_queue(settings.name_prefix, Kind.POLL).name))["QueueUrl"]
        assert await depth(sqs, url) == 0


async def _bound(resp: Any) -> dict[str, Any]:
    assert resp.status == 422, await resp.text()
    error: dict[str, Any] = (await resp.json())["error"]
    assert error["code"] == "journey_too_large"
    (detail,) = error["details"]
    assert detail["msg"] == error["message"] and detail["type"] == "bound"
    return dict(detail)


async def test_the_flood_request_is_refused_with_the_window_limit_and_writes_nothing(
    api: Client, booted: Settings
) -> None:
    resp = await api.post("/api/v1/journeys", json=FLOOD, headers=AUTH)
    detail = await _bound(resp)
    assert detail["setting"] == "CALLPIPE_JOURNEY_MAX_WINDOW_S" and detail["limit"] == 31 * 86400
    assert detail["loc"] == ["to"]
    assert "705471.0 days" in detail["msg"] and "31 days" in detail["msg"]
    await _nothing_written(api, booted)
    health = await api.get("/health")
    assert health.status == 200


@pytest.mark.parametrize(
    ("window", "setting", "field"),
    [
        ((timedelta(days=-1200), timedelta(days=-1199)), "CALLPIPE_JOURNEY_MAX_LOOKBACK_S", "from"),
        ((timedelta(hours=-1), timedelta(days=2)), None, "to"),  # `to` in the future
        ((timedelta(days=-40), timedelta(days=-8)), "CALLPIPE_JOURNEY_MAX_WINDOW_S", "to"),  # 32 days
    ],
    ids=["from-older-than-wxcc-keeps", "to-in-the-future", "32-day-window"],
)
async def test_a_window_over_a_bound_is_422_naming_it(
    api: Client, booted: Settings, window: tuple[timedelta, timedelta], setting: str | None, field: str
) -> None:
    body = {"kind": "window", "from": _iso(window[0]), "to": _iso(window[1])}
    detail = await _bound(await api.post("/api/v1/journeys", json=body, headers=AUTH))
    assert (detail["setting"], detail["loc"]) == (setting, [field])
    reprocess = {"kind": "reprocess", "pipeline_version": 2, "window": {"from": body["from"], "to": body["to"]}}
    detail = await _bound(await api.post("/api/v1/journeys", json=reprocess, headers=AUTH))
    assert (detail["setting"], detail["loc"]) == (setting, ["window", field])
    await _nothing_written(api, booted)


async def test_a_window_of_exactly_the_maximum_is_accepted(api: Client) -> None:
    now = datetime.now(UTC)
    body = {"kind": "window", "from": (now - timedelta(days=31)).isoformat(), "to": now.isoformat()}
    resp = await api.post("/api/v1/journeys", json=body, headers=AUTH)
    assert resp.status == 202, await resp.text()


@pytest.mark.parametrize("kind", ["tasks", "reprocess"])
async def test_more_task_ids_than_the_maximum_is_422(api: Client, booted: Settings, kind: str) -> None:
    body: dict[str, Any] = {"kind": kind, "task_ids": [f"t{i}" for i in range(1001)]}
    if kind == "reprocess":
        body["pipeline_version"] = 2
    detail = await _bound(await api.post("/api/v1/journeys", json=body, headers=AUTH))
    assert (detail["setting"], detail["limit"], detail["loc"]) == ("CALLPIPE_JOURNEY_MAX_TASK_IDS", 1000, ["task_ids"])
    await _nothing_written(api, booted)
    body["task_ids"] = body["task_ids"][:1000]
    assert (await api.post("/api/v1/journeys", json=body, headers=AUTH)).status == 202


def _last_json(capsys: pytest.CaptureFixture[str]) -> Any:
    """The command's JSON line (log lines may come before it on stdout)."""
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _cli_args(**given: Any) -> argparse.Namespace:
    args = {"journey_command": "start", "lookback_minutes": None, "from_": None, "to": None, "tasks": None}
    return argparse.Namespace(**{**args, "retry_failed": False, **given})


async def test_the_cli_refuses_the_same_journeys_with_the_same_message(
    api: Client, booted: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    refused = [
        (_cli_args(from_=FLOOD["from"], to=FLOOD["to"]), FLOOD),
        (_cli_args(tasks=",".join(f"t{i}" for i in range(1001))), {"kind": "tasks"}),
    ]
    for args, body in refused:
        if body["kind"] == "tasks":
            body = {"kind": "tasks", "task_ids": args.tasks.split(",")}
        api_error = (await (await api.post("/api/v1/journeys", json=body, headers=AUTH)).json())["error"]
        capsys.readouterr()
        assert await run_journey_command(args, booted) == 2
        printed = _last_json(capsys)
        assert printed["error"] == api_error["message"]
        assert printed["setting"] == api_error["details"][0]["setting"]
    capsys.readouterr()
    assert await run_journey_command(_cli_args(from_="not a time"), booted) == 2
    assert "ISO 8601" in _last_json(capsys)["error"]
    assert await run_journey_command(_cli_args(tasks=" , "), booted) == 2
    assert "task ids" in _last_json(capsys)["error"]
    await _nothing_written(api, booted)
    assert await run_journey_command(_cli_args(lookback_minutes=60), booted) == 0  # a bounded one still starts
    assert _last_json(capsys)["kind"] == "window"
