"""`GET`/`HEAD /recordings/...`: the WAV behind a presigned URL (no bearer token); S3-style 403 if expired or forged."""

from __future__ import annotations

from aiohttp import web

from simulator.wxcc.errors import S3Error
from simulator.wxcc.http import state_of
from simulator.wxcc.render import recording_size
from simulator.wxcc.signing import Verdict

_CHUNK = 64 * 1024


async def get_recording(request: web.Request) -> web.StreamResponse:
    """Serve the file with its Content-Length; a `truncate` fault (or a truncation set for this recording through
    the control API) sends part of it and drops the connection."""
    state = state_of(request)
    verdict = state.signer.verify(request.path, request.query, now_s=state.clock.now_ms() / 1000)
    if verdict is Verdict.BAD_SIGNATURE:
        raise S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                      "you provided.")  # fmt: skip
    if verdict is Verdict.EXPIRED:
        raise S3Error(403, "AccessDenied", "Request has expired")
    ref = state.legs.get(request.match_info["recording_id"])
    if ref is None or ref.call.task_id != request.match_info["task_id"]:
        raise S3Error(404, "NoSuchKey", "The specified key does not exist.")
    headers = {"Content-Type": "audio/wav", "ETag": f'"{ref.leg.id}"', "Accept-Ranges": "none"}
    if "TrackingId" in request.headers:
        headers["TrackingId"] = request.headers["TrackingId"]

    if request.method == "HEAD":
        response = web.StreamResponse(headers=headers)
        response.content_length = recording_size(ref.leg, state.wavs.sample_rate)
        await response.prepare(request)
        state.stats.downloads["head"] += 1
        return response

    data = await state.wavs.get(ref.leg)
    state.leg_downloads[ref.leg.id] += 1
    rule = state.faults.take("truncate", "recordings")
    fraction = rule.fraction if rule is not None else state.take_truncation(ref.leg.id)
    response = web.StreamResponse(headers=headers)
    response.content_length = len(data)
    await response.prepare(request)
    end = int(len(data) * fraction) if fraction is not None else len(data)
    for start in range(0, end, _CHUNK):
        await response.write(data[start : min(start + _CHUNK, end)])
    state.stats.bytes_served += end
    if fraction is not None:
        state.stats.downloads["truncated"] += 1
        if request.transport is not None:
            request.transport.close()  # fewer bytes than Content-Length, then the connection drops
        return response
    await response.write_eof()
    state.stats.downloads["complete"] += 1
    return response
