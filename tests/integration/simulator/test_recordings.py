"""Recording downloads over HTTP: presigned (no token), Content-Length, HEAD, expiry and forgery → 403, the audio."""

from __future__ import annotations

import httpx

from simulator.wxcc import SimulatorHandle
from simulator.wxcc.audio import decode_dtmf, read_wav
from simulator.wxcc.generator import Call
from tests.unit.simulator.audio_helpers import rms


async def _urls(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle, call: Call, minutes: int = 10
) -> list[str]:
    body = {"query": {"orgId": sim.config.org_id, "taskIds": [call.task_id], "urlExpiration": minutes}}
    data = (await http.post("/v1/captures/query", json=body, headers=auth)).json()["data"]
    return [rec["attributes"]["filePath"] for rec in data[0]["recording"]]


def _recorded(sim: SimulatorHandle, legs: int = 1) -> Call:
    return next(c for c in sim.state.calls.values() if c.capture_requested and len(c.recordings) == legs)


async def test_download_is_a_stereo_wav_with_each_party_on_its_channel_at_the_scripted_times(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    call = _recorded(sim, legs=2)
    script = (await http.get(f"/api/v1/simulator/calls/{call.task_id}/script")).json()
    for url, leg_script in zip(await _urls(http, auth, sim, call), script["recordings"], strict=True):
        async with httpx.AsyncClient() as anonymous:  # no Authorization header: the URL is presigned
            response = await anonymous.get(url)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "audio/wav"
        assert int(response.headers["Content-Length"]) == len(response.content)
        rate, channels = read_wav(response.content)
        assert rate == sim.config.sample_rate and len(channels) == 2
        assert len(channels[0]) / rate * 1000 == round(leg_script["durationS"] * 1000)
        for turn in leg_script["turns"]:
            span = slice(round(turn["startS"] * rate), round(turn["endS"] * rate))
            assert rms(channels[turn["channel"] - 1][span]) > 1500
            assert rms(channels[2 - turn["channel"]][span]) < 100
        codes = leg_script["tag"] + "".join(turn["code"] for turn in leg_script["turns"])
        assert "".join(decode_dtmf(response.content, rate)) == codes


async def test_head_gives_the_size_without_the_body(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    call = _recorded(sim)
    url = (await _urls(http, auth, sim, call))[0]
    head = await http.head(url)
    assert head.status_code == 200 and head.content == b""
    size = int(head.headers["Content-Length"])
    assert size == len((await http.get(url)).content)
    stats = (await http.get("/api/v1/simulator/stats")).json()
    assert stats["downloads"] == {"head": 1, "complete": 1}
    assert stats["recordings"]["rendered"] == 1


async def test_expired_url_is_refused_like_s3(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    call = _recorded(sim)
    url = (await _urls(http, auth, sim, call, minutes=1))[0]
    assert (await http.head(url)).status_code == 200
    await http.post("/api/v1/simulator/clock", json={"advanceS": 61})
    response = await http.get(url)
    assert response.status_code == 403
    assert "<Code>AccessDenied</Code>" in response.text and "expired" in response.text


async def test_forged_or_unknown_urls_are_refused(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    call = _recorded(sim)
    url = (await _urls(http, auth, sim, call))[0]
    tampered = url.replace("X-Amz-Expires=600", "X-Amz-Expires=6000")
    assert tampered != url
    response = await http.get(tampered)
    assert response.status_code == 403 and "SignatureDoesNotMatch" in response.text
    assert (await http.get(url.split("?")[0])).status_code == 403
    other = _recorded(sim, legs=2)
    swapped = url.replace(call.task_id, other.task_id)
    assert (await http.get(swapped)).status_code == 403, "the signature covers the path"
