"""`GET /metrics` on the API: Prometheus text, no key, counting what this process did."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient

from shared.metrics import stage_metrics

Client = TestClient[web.Request, web.Application]


async def test_metrics_are_served_without_a_key_in_prometheus_format(api: Client) -> None:
    stage_metrics("api-test").received(2)
    resp = await api.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert 'callpipe_messages_received_total{stage="api-test"} 2.0' in await resp.text()
