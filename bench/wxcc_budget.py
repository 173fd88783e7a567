"""WXCC requests per call: what 1,000 calls cost against WXCC's 300 requests/minute through the poll and fetch stages.

Setup: moto (its own process), the WXCC simulator and the OpenAI fake; `--calls` short recorded calls that all ended
before start-up (one leg each, recordings available at once), access tokens that live `--token-ttl-s` (30 s, far
below the default refresh margin of 300 s), `refresh_token` auth (every refresh rotates the refresh token).

Run: one journey over the window, the poll and fetch consumers in this process (CALLPIPE_CONSUMER_CONCURRENCY
`--concurrency` handler slots each, as one worker of each stage has), until every call is FETCHED.

Measured (what the simulator served, not what the client thinks it sent):
* wxcc_requests: data-plane requests (search pages + captures queries + task pages), retries included;
* requests_per_call: wxcc_requests ÷ calls. The target is ≤ 0.15 + the search pages per call (1 per 100 calls);
  at WXCC's default 300 requests/minute, 0.11 requests per call is ~2,700 calls a minute for one client id;
* tokens: access tokens issued (the target is ≤ wxcc_requests ÷ 10 with 30 s tokens);
* wall_s: journey start → last call fetched (moto's speed dominates it; not a figure of WXCC's cost).

Last line: calls=… wxcc_requests=… requests_per_call=… tokens=… wall_s=…
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from stack import Observer, ended_calls_config, pipeline_fields, run_stages, services

from queues.envelope import Kind
from shared.config import Settings
from shared.logging import configure_logging

DATA_ENDPOINTS = ("search", "captures", "tasks")


async def main(args: argparse.Namespace) -> None:
    configure_logging("WARNING", "json")
    scale = 0.02  # calls of a few seconds: recordings of a few hundred KB
    config = ended_calls_config(
        args.calls,
        longest_s=360 * scale,
        seed=19,
        duration_scale=scale,
        abandoned_fraction=0,
        unrecorded_fraction=0,
        consult_fraction=0,
        capture_pending_fraction=0,
        availability_delay_s=0,
        access_token_ttl_s=args.token_ttl_s,
    )
    async with services(config, aws_process=True) as svc:
        settings = Settings(
            **pipeline_fields(svc, consumer_concurrency=args.concurrency, wxcc_auth_mode="refresh_token")
        )
        assert settings.wxcc_token_refresh_margin_s > args.token_ttl_s, "the margin must exceed the token lifetime"
        now_ms = svc.sim.state.clock.now_ms()
        calls = svc.sim.state.ended_between(config.window_start_ms or 0, now_ms)
        recorded = [c for c in calls if c.recordings and c.capture_requested]
        print(
            f"method: {len(recorded)} recorded calls (of {len(calls)}), one journey, poll + fetch consumers in one "
            f"process with {args.concurrency} slots each, {args.token_ttl_s} s access tokens (refresh margin "
            f"{settings.wxcc_token_refresh_margin_s:.0f} s), captures batch wait "
            f"{settings.wxcc_captures_batch_wait_s} s"
        )
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        async with Observer(settings) as obs, run_stages((Kind.POLL, Kind.FETCH), settings):
            started = time.perf_counter()
            journey = await obs.start(config.org_id, from_ms=config.window_start_ms or 0, to_ms=now_ms)
            await obs.wait_count(journey.id, "fetch", "done", len(recorded), limit_s=args.limit_s)
            wall_s = time.perf_counter() - started
            status = await obs.status(journey.id)
    stats = svc.sim.state.stats
    served = {endpoint: stats.requests.get(endpoint, 0) for endpoint in DATA_ENDPOINTS}
    wxcc_requests = sum(served.values())
    tokens = sum(svc.sim.state.tokens.issued.values())
    n = len(recorded)
    print(
        f"  served: {served}, recordings {stats.requests.get('recordings', 0)}, token grants "
        f"{dict(svc.sim.state.tokens.issued)}, rate limited {stats.rate_limited}"
    )
    print(
        f"  captures per call {served['captures'] / n:.3f} (ids per query {n / max(1, served['captures']):.1f}); "
        f"search pages per call {served['search'] / n:.3f}; tokens per request {tokens / max(1, wxcc_requests):.3f}"
    )
    print(
        f"  journey: fetch done {status.count('fetch', 'done'):.0f}, poll queued {status.count('poll', 'queued'):.0f}"
    )
    print(
        f"calls={n} wxcc_requests={wxcc_requests} requests_per_call={wxcc_requests / n:.3f} tokens={tokens} "
        f"wall_s={wall_s:.1f}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=10, help="handler slots of each stage's consumer")
    parser.add_argument("--token-ttl-s", type=int, default=30, help="lifetime of the simulator's access tokens")
    parser.add_argument("--limit-s", type=float, default=900, help="give up after this long")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
