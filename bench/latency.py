"""Capture-available → analysed: 50 calls through webhooks vs through a poll every 5 minutes (simulated clock).

A discrete-event model of the two ways a call enters the pipeline, with fixed simulated latencies (the defaults
below, every one a flag), so the figures compare the *paths*, not this machine's emulators:

* webhook path: WXCC posts `capture:available` `--webhook-delay-s` after the recording is ready; the receiver
  claims the call and queues its fetch (`--accept-s`); the fetch stage picks it up (`--hop-s`), waits for its captures
  batch (`--batch-wait-s`, CALLPIPE_WXCC_CAPTURES_BATCH_WAIT_S: up to 10 calls share one captures query) and downloads
  (`--download-s`); transcribe and analyze follow (a hop + `--transcribe-s`, a hop + `--analyze-s`). Webhooks are not
  guaranteed: `--lost` of them never arrive and the reconciliation poll (`--reconcile-min`) finds those calls.
* poll path: a journey starts every `--poll-min` minutes over the calls that *ended* in its lookback; its poll message
  takes a hop and a search (`--search-s`); each found call is fetched as above. A call whose recording is not ready
  yet (it is listed `--ready-after-end-s` after the end) gets `recording: []` and is retried like NotReadyYet
  (CALLPIPE_NOT_READY_BASE_S, doubling) — each retry another captures query.

WXCC requests counted per path: search pages (one per poll run / reconciliation run: ≤ 100 calls a page) and
captures queries (one per batch of ≤ 10 fetches inside one batch window), divided by the calls.

Last line: webhook_p50_s=… webhook_p95_s=… poll_p50_s=… missed=… wxcc_requests_per_call_webhook=…
wxcc_requests_per_call_poll=…
"""

from __future__ import annotations

import argparse
import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Model:
    calls: int
    spread_min: float
    webhook_delay_s: float
    accept_s: float
    hop_s: float
    batch_wait_s: float
    download_s: float
    transcribe_s: float
    analyze_s: float
    poll_min: float
    search_s: float
    ready_after_end_s: float
    not_ready_base_s: float
    lost: float
    reconcile_min: float
    seed: int


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


class Captures:
    """Captures queries: fetches that arrive within one batch window share a query (≤ 10 task ids)."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        self._open: list[tuple[float, int]] = []  # (window start, task ids in it)
        self.queries = 0

    def ask(self, at: float) -> float:
        """When the answer for a fetch asking at `at` comes back (the end of its batch window)."""
        for i, (start, size) in enumerate(self._open):
            if start <= at < start + self.wait_s and size < 10:
                self._open[i] = (start, size + 1)
                return start + self.wait_s
        self._open.append((at, 1))
        self.queries += 1
        return at + self.wait_s


def _pipeline(m: Model, captures: Captures, fetch_at: float, ready_at: float) -> float:
    """When a call whose fetch message is read at `fetch_at` is analysed (its recording is listed from `ready_at`)."""
    asked = fetch_at
    backoff = m.not_ready_base_s
    while True:
        answered = captures.ask(asked)
        if answered >= ready_at:
            break
        asked = answered + backoff  # `recording: []`: NotReadyYet, the message comes back later
        backoff *= 2
    fetched = answered + m.download_s
    transcribed = fetched + m.hop_s + m.transcribe_s
    return transcribed + m.hop_s + m.analyze_s


def run(m: Model) -> dict[str, float]:
    rng = random.Random(m.seed)
    ready = sorted(rng.uniform(0, m.spread_min * 60) for _ in range(m.calls))  # capture-available times
    ended = [r - m.ready_after_end_s for r in ready]
    horizon = m.spread_min * 60 + 3 * 3600

    # --- webhooks (+ the reconciliation poll for the lost ones)
    captures = Captures(m.batch_wait_s)
    lost = {i for i in range(m.calls) if (i * m.lost) % 1 + m.lost >= 1 and m.lost > 0}  # evenly spread
    webhook: dict[int, float] = {}
    for i, r in enumerate(ready):
        if i not in lost:
            webhook[i] = _pipeline(m, captures, r + m.webhook_delay_s + m.accept_s + m.hop_s, r)
    searches_webhook = 0
    tick = m.reconcile_min * 60
    last_ready = ready[-1]
    while tick < horizon and (len(webhook) < m.calls or tick <= last_ready + m.reconcile_min * 60):
        searches_webhook += 1  # the reconciliation runs on its schedule whether or not anything was lost
        start = tick + m.hop_s + m.search_s
        for i in sorted(lost):
            if i not in webhook and ended[i] <= tick:
                webhook[i] = _pipeline(m, captures, start + m.hop_s, ready[i])
        tick += m.reconcile_min * 60
    webhook_queries = captures.queries + searches_webhook

    # --- a poll every `poll_min` minutes
    captures = Captures(m.batch_wait_s)
    poll: dict[int, float] = {}
    polls = 0
    tick = m.poll_min * 60
    while tick < horizon and len(poll) < m.calls:
        polls += 1
        start = tick + m.hop_s + m.search_s
        for i in range(m.calls):
            if i not in poll and ended[i] <= tick:
                poll[i] = _pipeline(m, captures, start + m.hop_s, ready[i])
        tick += m.poll_min * 60
    poll_queries = captures.queries + polls

    webhook_lat = [webhook[i] - ready[i] for i in webhook]
    poll_lat = [poll[i] - ready[i] for i in poll]
    direct = [webhook[i] - ready[i] for i in webhook if i not in lost]
    return {
        "webhook_p50_s": _percentile(webhook_lat, 0.5),
        "webhook_p95_s": _percentile(webhook_lat, 0.95),
        "webhook_direct_p95_s": _percentile(direct, 0.95),
        "poll_p50_s": _percentile(poll_lat, 0.5),
        "poll_p95_s": _percentile(poll_lat, 0.95),
        "missed": (m.calls - len(webhook)) + (m.calls - len(poll)),
        "lost": len(lost),
        "wxcc_requests_per_call_webhook": webhook_queries / m.calls,
        "wxcc_requests_per_call_poll": poll_queries / m.calls,
        "polls": polls,
        "reconciliations": searches_webhook,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calls", type=int, default=50)
    p.add_argument("--spread-min", type=float, default=30, help="recordings become available over this many minutes")
    p.add_argument("--webhook-delay-s", type=float, default=2.0)
    p.add_argument("--accept-s", type=float, default=0.1)
    p.add_argument("--hop-s", type=float, default=0.5, help="a message's wait in SQS before a consumer reads it")
    p.add_argument("--batch-wait-s", type=float, default=1.0)
    p.add_argument("--download-s", type=float, default=2.0)
    p.add_argument("--transcribe-s", type=float, default=20.0)
    p.add_argument("--analyze-s", type=float, default=5.0)
    p.add_argument("--poll-min", type=float, default=5.0)
    p.add_argument("--search-s", type=float, default=1.0)
    p.add_argument("--ready-after-end-s", type=float, default=30.0)
    p.add_argument("--not-ready-base-s", type=float, default=60.0)
    p.add_argument("--lost", type=float, default=0.0, help="fraction of webhooks never delivered (e.g. 0.2)")
    p.add_argument("--reconcile-min", type=float, default=60.0, help="the reconciliation poll's period")
    p.add_argument("--seed", type=int, default=17)
    a = p.parse_args()
    m = Model(**{k: v for k, v in vars(a).items()})
    r = run(m)
    print(
        f"model: {m.calls} calls ready over {m.spread_min:g} min; webhook +{m.webhook_delay_s:g} s, poll every "
        f"{m.poll_min:g} min, reconciliation every {m.reconcile_min:g} min, {r['lost']:.0f} webhooks lost"
    )
    print(
        f"webhooks: p50 {r['webhook_p50_s']:.1f} s, p95 {r['webhook_p95_s']:.1f} s (delivered ones: p95 "
        f"{r['webhook_direct_p95_s']:.1f} s), {r['reconciliations']:.0f} reconciliation searches"
    )
    print(f"poll: p50 {r['poll_p50_s']:.1f} s, p95 {r['poll_p95_s']:.1f} s over {r['polls']:.0f} polls")
    print(
        f"webhook_p50_s={r['webhook_p50_s']:.1f} webhook_p95_s={r['webhook_p95_s']:.1f} "
        f"poll_p50_s={r['poll_p50_s']:.1f} missed={r['missed']:.0f} "
        f"wxcc_requests_per_call_webhook={r['wxcc_requests_per_call_webhook']:.3f} "
        f"wxcc_requests_per_call_poll={r['wxcc_requests_per_call_poll']:.3f}"
    )


if __name__ == "__main__":
    main()
