"""Per-chunk transcription results kept in S3 as they arrive, so a retried call pays only for the chunks it lacks.

A transcribe attempt that dies after some chunks came back (SIGKILL, OOM, a lease lost to a takeover, OpenAI failing
on the last chunk) would otherwise send every chunk of the call to OpenAI again on the next attempt. Each chunk's text
is saved under the call's work prefix next to a fingerprint of what was sent: the recording (key and SHA-256), the
channel, the model and the chunk's cut points. A later attempt reuses a saved text only when the fingerprint equals
the one of the chunk it has just prepared, so a changed recording, model or chunking is transcribed afresh.

What is still paid twice: a chunk whose response arrived but whose save did not finish before the process died.
"""

from __future__ import annotations

from typing import Any

from shared.logging import get_logger
from shared.openai_client import ChunkText
from shared.storage import Storage

log = get_logger(__name__)


class ChunkCheckpoints:
    """The saved chunk texts of one call (one S3 object each under `prefix`)."""

    def __init__(self, storage: Storage, bucket: str, prefix: str, saved: dict[str, dict[str, Any]]) -> None:
        self._storage = storage
        self._bucket = bucket
        self._prefix = prefix
        self._saved = saved
        self._written: set[str] = set(saved)

    @classmethod
    async def load(cls, storage: Storage, bucket: str, prefix: str) -> ChunkCheckpoints:
        """Read what earlier attempts saved (one LIST, plus one GET per saved chunk)."""
        saved = {key: await storage.get_json(bucket, key) for key in await storage.keys(bucket, prefix)}
        if saved:
            log.info("transcribe_checkpoints_found", chunks=len(saved))
        return cls(storage, bucket, prefix, saved)

    def get(self, name: str, fingerprint: dict[str, Any]) -> ChunkText | None:
        """The saved text of chunk `name` if it was made from exactly `fingerprint`."""
        doc = self._saved.get(self._prefix + name)
        if doc is None or doc.get("fingerprint") != fingerprint:
            return None
        text = doc["text"]
        segments = [(float(start), float(end), str(words)) for start, end, words in text["segments"]]
        return ChunkText(segments=segments, language=text["language"], duration_s=float(text["duration_s"]))

    async def put(self, name: str, fingerprint: dict[str, Any], text: ChunkText) -> None:
        """Save chunk `name`'s text."""
        key = self._prefix + name
        doc = {
            "fingerprint": fingerprint,
            "text": {
                "segments": [list(segment) for segment in text.segments],
                "language": text.language,
                "duration_s": text.duration_s,
            },
        }
        await self._storage.put_json(self._bucket, key, doc)
        self._written.add(key)

    async def clear(self) -> None:
        """Remove every checkpoint of the call (once its transcript is stored)."""
        if self._written:
            await self._storage.delete(self._bucket, sorted(self._written))
            self._written.clear()
