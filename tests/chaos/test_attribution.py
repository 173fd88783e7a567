"""The chaos run's attribution of a request billed twice: in flight when the process that asked was SIGKILLed (its
answer written to that very process, which died before it had saved it), or unexplained.

Over the wire: the OpenAI fake, a real process transcribing one chunk through the transcribe stage's own code
(`tests/chaos/one_chunk.py`: the client's `X-Callpipe-Process` header, the S3 checkpoint, its log line), SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from shared.aws import AwsClients
from shared.config import Settings
from simulator.chaos.attribution import attribute, save_latency, saves_in_logs, transcription_attribution
from simulator.chaos.report import Kill
from simulator.openai_fake.app import Bill, FakeHandle, running_openai_fake
from tests.chaos.test_fake_billing import _no_scripts, _tone_wav
from tests.helpers import eventually

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def s3_that_never_answers() -> AsyncIterator[tuple[str, list[int]]]:
    """An endpoint that accepts connections and reads requests but never answers: a save stays under way. Yields its
    URL and the bytes received per connection."""
    received: list[int] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(0)
        slot = len(received) - 1
        while data := await reader.read(65536):
            received[slot] += len(data)
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        server.close()


@asynccontextmanager
async def asking_process(
    fake: FakeHandle, s3_endpoint: str, bucket: str, task_id: str, tmp: Path
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Path]]:
    """`one_chunk` for `task_id` in its own process, logging to a file; SIGKILLed at the end if still running."""
    audio = tmp / f"{task_id}.ogg"
    audio.write_bytes(_tone_wav())
    log_path = tmp / f"{task_id}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLPIPE_", "OPENAI_", "AWS_ENDPOINT_URL"))}
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.chaos.one_chunk",
            fake.base_url,
            s3_endpoint,
            bucket,
            task_id,
            str(audio),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
        )
    try:
        yield proc, log_path
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def sigkill(proc: asyncio.subprocess.Process) -> Kill:
    proc.send_signal(signal.SIGKILL)
    return Kill("transcribe", proc.pid, 0.0, 1, time.monotonic())


async def bill_again(fake: FakeHandle, name: str) -> None:
    """The retry: the same chunk sent again (by this process, without the header)."""
    async with httpx.AsyncClient() as http:
        resp = await http.post(
            f"{fake.base_url}/audio/transcriptions",
            headers={"Authorization": "Bearer k"},
            files={"file": (name, _tone_wav())},
            data={"model": "whisper-1"},
        )
    assert resp.status_code == 200


async def test_a_repeat_whose_first_answer_died_unsaved_with_its_process_was_in_flight_at_kill(tmp_path: Path) -> None:
    task, name = "t10", "t10.main.agent.0.ogg"
    async with running_openai_fake(_no_scripts) as fake, s3_that_never_answers() as (s3_url, received):
        async with asking_process(fake, s3_url, "b", task, tmp_path) as (proc, log_path):
            # The answer was written to the process and its checkpoint PUT is under way: the process dies now.
            await eventually(lambda: len(fake.stats.bills) == 1 and sum(received) > 0, timeout=30, interval=0.02)
            kill = sigkill(proc)
        await bill_again(fake, name)
        bills = fake.stats.bills
    assert [b.client for b in bills] == [str(kill.pid), bills[1].client] and bills[1].client.startswith("peer:")
    saves = saves_in_logs({kill.pid: log_path})
    result = transcription_attribution(bills, fake.stats.chunks_billed, fake.stats.audio_billed, [kill], saves)
    assert result.unexplained == {}
    [repeat] = result.in_flight
    assert (repeat["key"], repeat["pid"]) == (f"{task}|{name}", kill.pid)
    assert 0 <= repeat["answered_before_kill_s"] < 30


async def test_a_repeat_of_an_answer_its_process_had_saved_is_unexplained_even_if_that_process_was_killed(
    tmp_path: Path, settings: Settings, clients: AwsClients
) -> None:
    task, name = "t11", "t11.main.agent.0.ogg"
    bucket = f"{settings.name_prefix}-attribution"
    async with clients.s3() as s3:
        await s3.create_bucket(Bucket=bucket)
    assert settings.aws_endpoint_url
    async with running_openai_fake(_no_scripts) as fake:
        async with asking_process(fake, settings.aws_endpoint_url, bucket, task, tmp_path) as (proc, log_path):
            assert proc.stdout is not None
            assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"saved\n"
            kill = sigkill(proc)  # within a second of its answer, but the answer was saved
        await bill_again(fake, name)
        bills = fake.stats.bills
    saves = saves_in_logs({kill.pid: log_path})
    assert set(saves[kill.pid]) == {f"{task}|{name}"}
    latency = save_latency(bills, saves)
    assert latency["n"] == 1 and 0 <= latency["max"] < 30, latency
    result = transcription_attribution(bills, fake.stats.chunks_billed, fake.stats.audio_billed, [kill], saves)
    assert result.in_flight == []
    assert result.unexplained == {f"{task}|{name}": 1}


def test_the_order_of_answer_and_kill_does_not_decide_but_who_asked_and_what_it_saved_does() -> None:
    kill = Kill("transcribe", 101, 5.0, 3, at_monotonic=100.0)
    bills = [
        Bill("a|a.main.agent.0.ogg", "101", 100.2),  # written just after the kill: it was on its way
        Bill("a|a.main.agent.0.ogg", "202", 110.0),
        Bill("b|b.main.agent.0.ogg", "303", 99.0),  # a process that lived on: received, then asked again
        Bill("b|b.main.agent.0.ogg", "202", 110.0),
        Bill("digest", "101", 99.5),  # an analysis answered to the killed process, which had recorded it
        Bill("digest", "202", 111.0),
    ]
    chunks = {"a|a.main.agent.0.ogg": 2, "b|b.main.agent.0.ogg": 2}
    audio = {"a|pcm": 2, "b|pcm": 2, "c|pcm": 2}  # call c: the same audio billed twice under two names
    saves = {101: {"analysis|c": 99.6}}
    result = transcription_attribution(bills, chunks, audio, [kill], saves)
    result.add(attribute(bills, {"digest": 1}, [kill], saves, {"digest": {"analysis|c"}}))
    assert result.in_flight == [
        {"key": "a|a.main.agent.0.ogg", "pid": 101, "stage": "transcribe", "answered_before_kill_s": -0.2}
    ]
    assert result.unexplained == {"b|b.main.agent.0.ogg": 1, "c|same audio, another name": 1, "digest": 1}
