"""Audio redaction (`CALLPIPE_REDACT_AUDIO=true`): the redacted time spans of a transcript silenced in the stored
recording legs, each leg replaced in place (no earlier version of it is kept)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.audio.mute import ALL_CHANNELS, mute_spans
from shared.logging import get_logger
from shared.privacy.transcript import TimeSpan
from shared.storage import Storage

log = get_logger(__name__)


@dataclass(frozen=True)
class StoredLeg:
    """One stored recording: its key, the leg name segments carry (`call_type`, else "main"), where it starts on the
    call's timeline, and its channels' speaker labels in channel order."""

    key: str
    leg: str
    offset_s: float
    labels: tuple[str, ...]


def stored_legs(
    recordings: Sequence[dict[str, Any]], labels_of: Callable[[str, str], tuple[str, str]]
) -> list[StoredLeg]:
    """The legs of a tracking row's `recording_keys`, placed on the call's timeline as the transcribe stage places
    them (`labels_of` names the channels from WXCC's channel1/channel2)."""
    main_start = min((r.get("start_ms") or 0 for r in recordings), default=0)
    return [
        StoredLeg(
            key=str(rec["key"]),
            leg=str(rec.get("call_type") or "main"),
            offset_s=max(0.0, ((rec.get("start_ms") or main_start) - main_start) / 1000),
            labels=labels_of(rec.get("channel1", ""), rec.get("channel2", "")),
        )
        for rec in recordings
        if rec.get("key")
    ]


def leg_spans(leg: StoredLeg, spans: Sequence[TimeSpan]) -> dict[int | None, list[tuple[float, float]]]:
    """The spans said on this leg, in seconds from the leg's start, by channel (the speaker's; every channel when
    the speaker is not one of the leg's labels)."""
    found: dict[int | None, list[tuple[float, float]]] = {}
    for span in spans:
        if span.leg != leg.leg:
            continue
        channel = leg.labels.index(span.speaker) if span.speaker in leg.labels else ALL_CHANNELS
        start, end = max(0.0, span.start - leg.offset_s), span.end - leg.offset_s
        if end > start:
            found.setdefault(channel, []).append((start, end))
    return found


async def redact_recordings(storage: Storage, bucket: str, legs: Sequence[StoredLeg], spans: Sequence[TimeSpan]) -> int:
    """Silence `spans` in every stored leg they belong to and replace the stored object with the muted one (its
    earlier versions deleted); how many legs were replaced. Running it again mutes the same spans again: harmless."""
    replaced = 0
    for leg in legs:
        by_channel = leg_spans(leg, spans)
        if not by_channel:
            continue
        with tempfile.TemporaryDirectory(prefix="callpipe-redact-audio-") as tmp:
            source, target = Path(tmp) / "recording", Path(tmp) / "muted.wav"
            await storage.download_to(bucket, leg.key, source)
            muted_s = await asyncio.to_thread(mute_spans, source, target, by_channel)
            source.unlink()
            await storage.replace_file(bucket, leg.key, target, content_type="audio/wav")
        replaced += 1
        log.info("recording_redacted", leg=leg.leg, spans=sum(len(v) for v in by_channel.values()), muted_s=muted_s)
    return replaced
