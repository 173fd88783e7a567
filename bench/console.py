"""The web console's weight and speed: JS shipped gzipped, and in Chromium the time to a rendered calls page with
10,000 calls in its range and to a rendered call page.

Method: the build in console/dist (built first when missing or with `--build`: `npm ci` + `npm run build`). JS shipped
is the sum of the gzip sizes (level 9) of every JS file index.html loads (`<script src>`, `<link rel=modulepreload>`)
and of every chunk those import, statically or lazily (`import("./x.js")`), found by following the chunk names in
the files. Then `callpipe dev --calls 20` (its own process, an API key required), a window journey over its calls
(waited for until COMPLETED), and `--calls` (10,000) more analysed calls written straight into its analytics table,
records and aggregates as the analyze stage leaves them (`bench/analytics.py`'s calls, for the simulator's org),
ending over the last 6 days (records put, their sums ADDed to the aggregate items: the pipeline's calls keep their
counts): the calls page's default range (the last 7 days) holds them all. In the e2e's Chromium
(console/e2e/measure.mjs): sign in, one warm-up visit of each page, then `--runs` navigations to `/calls` (until its
table has rows) and to a pipeline-analysed call (until its transcript and analysis show); each time is the page's
`performance.now()` at that point (milliseconds since the navigation started). The medians are reported.
Last line: js_gzip_kb=… calls_page_ms=… call_page_ms=…   (targets: js_gzip_kb ≤ 250; both pages ≤ 1,500 ms)
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import hashlib
import io
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.analytics import BATCH, a_record
from shared.analytics.aggregates import Counters, add, contribution
from shared.analytics.store import AnalyticsStore
from shared.aws import AwsClients
from shared.config import Settings
from shared.logging import configure_logging

REPO = Path(__file__).resolve().parent.parent
CONSOLE = REPO / "console"
DIST = CONSOLE / "dist"
E2E = CONSOLE / "e2e"
CALLPIPE = REPO / ".venv" / "bin" / "callpipe"
API_KEY = "bench-console-key-51d2"
_SCRIPT = re.compile(r"""<script[^>]*\bsrc="([^"]+\.js)\"""")
_PRELOAD = re.compile(r"""<link[^>]*\brel="modulepreload"[^>]*\bhref="([^"]+\.js)\"""")
_CHUNK = re.compile(r"""["'`](?:\./|/assets/|assets/)?([\w.~-]+\.js)["'`]""")


def build(force: bool) -> None:
    """Build console/dist from the lockfile when it is missing (or always with `force`)."""
    if (DIST / "index.html").is_file() and not force:
        return
    if not (CONSOLE / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=CONSOLE, check=True)
    subprocess.run(["npm", "run", "build"], cwd=CONSOLE, check=True)


def shipped_js(dist: Path) -> dict[str, int]:
    """Every JS file the page can load (entry, preloads and the chunks they import) → its gzip size in bytes."""
    index = (dist / "index.html").read_text()
    pending = [Path(src).name for src in _SCRIPT.findall(index) + _PRELOAD.findall(index)]
    sizes: dict[str, int] = {}
    while pending:
        name = pending.pop()
        if name in sizes or not (dist / "assets" / name).is_file():
            continue
        data = (dist / "assets" / name).read_bytes()
        sizes[name] = len(gzip.compress(data, compresslevel=9))
        pending.extend(_CHUNK.findall(data.decode("utf-8", errors="replace")))
    return sizes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_dev(calls: int) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    """`callpipe dev` with the bench's key required; returns the process, the API URL and the variables it printed."""
    api_port, aws_port = free_port(), free_port()
    env = {
        **os.environ,
        "CALLPIPE_API_KEY_HASHES": json.dumps([hashlib.sha256(API_KEY.encode()).hexdigest()]),
        "CALLPIPE_API_CONSOLE_DIR": str(DIST),
        "CALLPIPE_LOG_LEVEL": "WARNING",
    }
    args = [str(CALLPIPE), "dev", "--calls", str(calls), "--api-port", str(api_port), "--aws-port", str(aws_port)]
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    exported: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if found := re.match(r"^\s*export (\w+)='(.*)'$", line):
            exported[found[1]] = found[2]
        if line.startswith("Ctrl-C stops"):
            return proc, f"http://127.0.0.1:{api_port}", exported
    raise RuntimeError(f"callpipe dev exited ({proc.wait()}) before it was up")


def stop_dev(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_journey(http: httpx.Client) -> str:
    """A window journey over the simulator's calls (the last 24 hours), waited for until COMPLETED; its location."""
    now = datetime.now(UTC).replace(microsecond=0)
    body = {"kind": "window", "from": (now - timedelta(hours=23)).isoformat(), "to": now.isoformat()}
    created = http.post("/api/v1/journeys", json=body)
    created.raise_for_status()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        state = http.get(created.headers["Location"]).json()["journey"]["state"]
        if state == "COMPLETED":
            return str(created.headers["Location"])
        if state in ("FAILED", "CANCELLED"):
            raise RuntimeError(f"the journey is {state}")
        time.sleep(1)
    raise RuntimeError("the journey did not complete in 300 s")


def seed_items(
    store: AnalyticsStore, org: str, calls: int, start_ms: int, span_ms: int, totals: dict[str, Counters]
) -> Iterator[dict[str, Any]]:
    """`bench/analytics.py`'s analysed calls for `org`: the record items, and into `totals` their aggregate sums."""
    rng = random.Random(13)
    for i in range(calls):
        record = a_record(rng, i, start_ms, span_ms).model_copy(update={"org_id": org})
        own = contribution(record)
        yield store.write_items(record, own, None)[0]["Put"]["Item"]
        for key, counts in own.items():
            add(totals.setdefault(key, {}), counts)


async def seed(settings: Settings, calls: int, days: int, writers: int = 4) -> int:
    """Write the records (BatchWriteItem, `writers` loops), then ADD their sums to the aggregate items, as the analyze
    stage does (the pipeline's own calls keep their counts); returns how many items were written."""
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    span_ms = days * 86_400_000
    org, table = settings.wxcc_org_id, f"{settings.name_prefix}-analytics"
    written = 0
    async with AwsClients(settings).dynamodb() as ddb:
        store = AnalyticsStore(ddb, table)
        totals: dict[str, Counters] = {}
        records = seed_items(store, org, calls, now_ms - span_ms, span_ms - 60_000, totals)
        lock = asyncio.Lock()

        async def record_writer() -> None:
            nonlocal written
            while True:
                async with lock:
                    batch = [item for _, item in zip(range(BATCH), records, strict=False)]
                if not batch:
                    return
                requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in batch]
                while requests:
                    answer = await ddb.batch_write_item(RequestItems={table: requests})  # type: ignore[dict-item]
                    requests = [dict(r) for r in answer.get("UnprocessedItems", {}).get(table, [])]
                written += len(batch)

        await asyncio.gather(*(record_writer() for _ in range(writers)))
        pending = iter(store.aggregate_items(org, totals))

        async def aggregate_writer() -> None:
            nonlocal written
            for item in pending:
                key = {"pk": item["pk"], "sk": item["sk"]}
                names = sorted(set(item) - set(key))
                for start in range(0, len(names), 100):  # ADD (the pipeline's own counts stay), in pieces under 4 KB
                    part = names[start : start + 100]
                    await ddb.update_item(
                        TableName=table,
                        Key=key,
                        UpdateExpression="ADD " + ", ".join(f"#n{i} :v{i}" for i in range(len(part))),
                        ExpressionAttributeNames={f"#n{i}": name for i, name in enumerate(part)},
                        ExpressionAttributeValues={f":v{i}": item[name] for i, name in enumerate(part)},
                    )
                written += 1

        await asyncio.gather(*(aggregate_writer() for _ in range(writers)))
    return written


def measure(url: str, call_id: str, runs: int) -> dict[str, Any]:
    """console/e2e/measure.mjs in Chromium (installed from the OS packages when missing)."""
    subprocess.run(["bash", str(REPO / "scripts" / "chromium.sh")], check=True, stdout=subprocess.DEVNULL)
    if not (E2E / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=E2E, check=True)
    args = ["node", "measure.mjs", "--url", url, "--key", API_KEY, "--call", call_id, "--runs", str(runs)]
    out = subprocess.run(args, cwd=E2E, check=True, capture_output=True, text=True, timeout=600)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(calls: int, days: int, runs: int, force_build: bool) -> None:
    build(force_build)
    sizes = shipped_js(DIST)
    js_kb = sum(sizes.values()) / 1024
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"  {name}: {size / 1024:.1f} KiB gzipped")
    print(f"JS shipped: {len(sizes)} files, {js_kb:.1f} KiB gzipped (level 9)", flush=True)

    proc, url, env = start_dev(20)
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60) as http:
            settings = Settings(
                name_prefix=env["CALLPIPE_NAME_PREFIX"],
                aws_endpoint_url=env["AWS_ENDPOINT_URL"],
                aws_region=env["AWS_REGION"],
                wxcc_org_id=env["CALLPIPE_WXCC_ORG_ID"],
            )
            journey = run_journey(http)
            report = http.get(f"{journey}/report", params={"format": "csv"})
            analysed = [row["task_id"] for row in csv.DictReader(io.StringIO(report.text)) if row["analysis_key"]]
            assert analysed, f"the journey analysed no call: {report.text[:500]}"
            began = time.perf_counter()
            items = asyncio.run(seed(settings, calls, days))
            print(f"seeded {calls} analysed calls ({items} items) in {time.perf_counter() - began:.0f} s", flush=True)
            today = datetime.now(UTC).date()
            window = {"from": f"{today - timedelta(days=6)}T00:00:00Z", "to": f"{today + timedelta(days=1)}T00:00:00Z"}
            in_range = http.get("/api/v1/analytics/summary", params=window).json()["totals"]["calls"]
            assert in_range >= calls, f"only {in_range} calls in the calls page's range"
        result = measure(url, analysed[0], runs)
    finally:
        stop_dev(proc)
    assert not result["errors"], result["errors"]
    calls_ms, call_ms = statistics.median(result["calls_page_ms"]), statistics.median(result["call_page_ms"])
    print(f"calls in the calls page's range (last 7 days): {in_range}; first page rows: {result['rows']}")
    print(f"first visits (assets not cached yet): calls page {result['first_calls_page_ms']:.0f} ms, "
          f"call page {result['first_call_page_ms']:.0f} ms")  # fmt: skip
    print(f"calls page: median {calls_ms:.0f} ms of {runs} ({', '.join(f'{v:.0f}' for v in result['calls_page_ms'])})")
    print(f"call page: median {call_ms:.0f} ms of {runs} ({', '.join(f'{v:.0f}' for v in result['call_page_ms'])})")
    print(f"js_gzip_kb={js_kb:.1f} calls_page_ms={calls_ms:.0f} call_page_ms={call_ms:.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000, help="analysed calls seeded into the calls page's range")
    parser.add_argument("--days", type=int, default=6, help="the seeded calls end over the last N days")
    parser.add_argument("--runs", type=int, default=5, help="timed navigations to each page")
    parser.add_argument("--build", action="store_true", help="rebuild console/dist even when it exists")
    args = parser.parse_args()
    configure_logging("WARNING", "json")
    main(args.calls, args.days, args.runs, args.build)
