"""Schemathesis against the running API's own `/api/v1/openapi.json`: no 5xx, every response as documented.

The API runs inside `callpipe dev` (its own process: AWS endpoint, WXCC simulator, OpenAI fake, all four workers
working a journey over the simulator's calls, and the API on one event loop, as in the run where one request flooded
the stack), so the fuzzer's blocking HTTP calls never share an event loop with the server. Each operation gets positive
and negative examples, once with a valid key and once without any key (auth enabled). Generation is derandomized: a
failure reproduces. Afterwards the flood request is refused and the API still answers at once.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import app_routes
from api.auth import hash_key
from shared.aws import AwsClients
from shared.config import Settings
from shared.dynamo import to_attr
from shared.resources import DataResources
from shared.tracking import TrackingTable
from shared.transcripts import Transcript

pytestmark = pytest.mark.slow

API_KEY = "fuzz-key-5a0f7c1e9b"
TASK = "task-seeded-1"
DEV_PREFIX = "callpipe-dev"  # the prefix `callpipe dev` uses
AUTH = {"Authorization": f"Bearer {API_KEY}"}
OPERATIONS = [(route.method, route.path) for route in app_routes()]
# Negative examples need something to break: a body, a query or a path parameter.
WITH_INPUT = [(r.method, r.path) for r in app_routes() if r.body or r.query or "{" in r.path or r.headers]
MODES = [(m, p, GenerationMode.POSITIVE) for m, p in OPERATIONS] + [
    (m, p, GenerationMode.NEGATIVE) for m, p in WITH_INPUT
]
MODE_IDS = [f"{m} {p} {mode}" for m, p, mode in MODES]
CALLPIPE = str(Path(sys.executable).with_name("callpipe"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the API exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the API was not ready within {timeout} s:\n{log.read_text()[-3000:]}")


async def _seed_a_call(endpoint: str, org: str) -> None:
    """One tracking row in the dev stack's tables with a stored recording and transcript, so the call, transcript and
    recording operations have a 200 to document."""
    settings = Settings(name_prefix=DEV_PREFIX, aws_region="us-east-1", aws_endpoint_url=endpoint)
    resources = DataResources(settings.name_prefix)
    clients = AwsClients(settings)
    recording, transcript = "seeded/rec.wav", "transcripts/seeded.json"
    async with clients.dynamodb() as ddb, clients.s3() as s3:
        await s3.put_object(Bucket=resources.recordings_bucket.name, Key=recording, Body=b"RIFF")
        body = Transcript(task_id=TASK, model="seeded", segments=[]).model_dump_json()
        await s3.put_object(Bucket=resources.results_bucket.name, Key=transcript, Body=body.encode())
        rows = TrackingTable(ddb, resources.tracking_table.name)
        put = rows.claim_put(
            org, TASK, "j-seeded", pipeline_version=1, retry_failed=False, lease_s=60, facts={"channel": "telephony"}
        )
        put["Item"]["recording_keys"] = to_attr([{"key": recording, "call_type": "main"}])
        put["Item"]["transcript_key"] = {"S": transcript}
        await ddb.put_item(**put)


def _wait_for_line(log: Path, proc: subprocess.Popen[bytes], pattern: re.Pattern[str], timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"callpipe dev exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        found = pattern.search(log.read_text(errors="replace"))
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no {pattern.pattern!r} within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`callpipe dev` with keys configured: its own AWS endpoint, the WXCC simulator, the OpenAI fake, all four
    workers and the API in one process (the stack the flood took down); yields the API's base URL."""
    api_port, aws_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLPIPE_", "AWS_ENDPOINT"))}
    env.update(
        CALLPIPE_API_KEY_HASHES=f'["{hash_key(API_KEY)}"]',
        CALLPIPE_API_MAX_BODY_BYTES=str(64 * 1024),
    )
    log = tmp_path_factory.mktemp("fuzz") / "dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [CALLPIPE, "dev", "--calls", "10", "--api-port", str(api_port), "--aws-port", str(aws_port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{api_port}"
    try:
        org = _wait_for_line(log, proc, re.compile(r"export CALLPIPE_WXCC_ORG_ID='([^']+)'"))
        _wait_ready(base, proc, log)
        loop = asyncio.new_event_loop()  # the session's loop belongs to pytest-asyncio; this step gets its own
        try:
            loop.run_until_complete(_seed_a_call(f"http://127.0.0.1:{aws_port}", org))
        finally:
            loop.close()
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    assert code == 0, log.read_text()[-3000:]
    assert "api_unhandled_error" not in log.read_text(), log.read_text()[-3000:]


@pytest.fixture(scope="module")
def known(live_api: str) -> dict[str, str]:
    """Path parameters that exist: a journey over the simulator's calls (so the workers have work while the fuzzer
    runs), the seeded call, a real stage, a replay job, an erasure job (of a call that never existed)."""
    now = datetime.now(UTC)
    window = {"kind": "window", "from": (now - timedelta(hours=25)).isoformat(), "to": now.isoformat()}
    created = httpx.post(f"{live_api}/api/v1/journeys", json=window, headers=AUTH, timeout=10)
    assert created.status_code == 202, created.text
    replay = httpx.post(f"{live_api}/api/v1/dlq/poll/replay", json={"dry_run": True}, headers=AUTH, timeout=10)
    assert replay.status_code == 202, replay.text
    erasure = httpx.post(
        f"{live_api}/api/v1/privacy/erasures", json={"task_ids": ["task-never-seen"]}, headers=AUTH, timeout=10
    )
    assert erasure.status_code == 202, erasure.text
    return {
        "journey_id": created.json()["id"],
        "task_id": TASK,
        "stage": "fetch",
        "replay_id": replay.json()["id"],
        "erasure_id": erasure.json()["id"],
    }


def _run(fuzz: Any, mode: GenerationMode) -> None:
    """Run a fuzz test; a negative one whose inputs all accept any string has nothing to break, and says so."""
    try:
        fuzz()
    except Unsatisfiable:
        if mode is not GenerationMode.NEGATIVE:
            raise
        pytest.skip("every input of this operation accepts any string: no negative case exists")


def _cases(operation: Any, mode: GenerationMode, known: dict[str, str]) -> Any:
    """Generated cases; positive ones half of the time on path parameters that exist, so 200s get checked too."""
    generated = operation.as_strategy(generation_mode=mode)
    names = [p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"]
    if mode is GenerationMode.NEGATIVE or not names:
        return generated
    return st.one_of(generated, operation.as_strategy(path_parameters={n: known[n] for n in names}))


@pytest.fixture(scope="module")
def live_schema(live_api: str) -> Any:
    """The schema as the running server serves it (not the route table the test knows)."""
    schema = schemathesis.openapi.from_url(f"{live_api}/api/v1/openapi.json")
    schema.config.update(base_url=live_api)
    # A generated body over CALLPIPE_API_MAX_BODY_BYTES is refused (documented) with 413 before it is parsed.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    return schema


def test_the_live_document_lists_every_route(live_schema: Any) -> None:
    served = {(method.upper(), path) for path, item in live_schema.raw_schema["paths"].items() for method in item}
    assert served == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path", "mode"), MODES, ids=MODE_IDS)
def test_with_a_key_every_response_is_documented(
    live_schema: Any, known: dict[str, str], method: str, path: str, mode: GenerationMode
) -> None:
    operation = live_schema[path][method]
    statuses: set[int] = set()

    @FUZZ
    @given(case=_cases(operation, mode, known))
    def fuzz(case: Any) -> None:
        statuses.add(case.call_and_validate(headers=AUTH, checks=CHECKS, timeout=30).status_code)

    _run(fuzz, mode)
    if operation.definition.raw.get("security") != []:  # a public route (the webhook) has its own signature check
        assert 401 not in statuses, statuses  # the key is accepted on every route, whatever else the request holds
    if mode is GenerationMode.POSITIVE and method == "GET" and path not in ("/ready",):
        assert 200 in statuses, statuses  # the fuzzer did reach the documented success body
    if mode is GenerationMode.NEGATIVE:
        assert any(400 <= s < 500 for s in statuses), statuses  # (a negative header may still be a valid string)


@pytest.mark.parametrize(("method", "path", "mode"), MODES, ids=MODE_IDS)
def test_without_a_key_every_response_is_documented_and_private_routes_say_401(
    live_schema: Any, known: dict[str, str], method: str, path: str, mode: GenerationMode
) -> None:
    operation = live_schema[path][method]
    private = operation.definition.raw.get("security") != []
    statuses: set[int] = set()

    @FUZZ
    @given(case=_cases(operation, mode, known))
    def fuzz(case: Any) -> None:
        for name in list(case.headers or {}):
            if name.lower() in ("authorization", "x-api-key"):
                del case.headers[name]
        response = case.call_and_validate(checks=CHECKS, timeout=30)
        statuses.add(response.status_code)
        # Before any key check: the HTTP parser's 400 (line over its limit), the body limit's 413, no matching route.
        if private and response.status_code not in (400, 404, 405, 413):
            assert response.status_code == 401, (case.method, case.formatted_path, response.status_code, response.text)

    _run(fuzz, mode)
    if private:
        assert 401 in statuses, statuses


def test_afterwards_the_flood_is_refused_and_the_api_answers_at_once(live_api: str, known: dict[str, str]) -> None:
    """The request that took the stack down is a 422 naming the limit; `/health` and a list still answer within 1 s
    while the workers run the journey started before the fuzzing."""
    to = datetime.now(UTC) - timedelta(minutes=1)
    flood = {"kind": "window", "from": (to - timedelta(days=705_471)).isoformat(), "to": to.isoformat()}
    refused = httpx.post(f"{live_api}/api/v1/journeys", json=flood, headers=AUTH, timeout=10)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["setting"] == "CALLPIPE_JOURNEY_MAX_WINDOW_S"
    with httpx.Client(base_url=live_api, headers=AUTH, timeout=5) as http:
        for path in ("/health", "/api/v1/journeys?limit=5"):
            started = time.monotonic()
            answer = http.get(path)
            elapsed = time.monotonic() - started
            assert answer.status_code == 200, answer.text
            assert elapsed < 1.0, (path, elapsed)
        journey = http.get(f"/api/v1/journeys/{known['journey_id']}").json()
    assert journey["discovered"] > 0, journey  # the workers were running: the poll stage found the calls
