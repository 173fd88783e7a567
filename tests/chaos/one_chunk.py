"""A stand-in transcribe worker for `test_attribution`: transcribes one chunk through the real `_chunk_text` (the
OpenAI client with its `X-Callpipe-Process` header, the S3 checkpoint, the `transcribe_chunk_saved` log line), says
`saved` on stdout, then waits to be killed.

Run: `python -m tests.chaos.one_chunk OPENAI_BASE_URL S3_ENDPOINT BUCKET TASK_ID AUDIO_PATH` (logs JSON on stderr).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from pydantic import SecretStr

from shared.audio.models import Chunk, Span
from shared.aws import AwsClients
from shared.checkpoints import ChunkCheckpoints
from shared.config import Settings
from shared.logging import bind_context, configure_logging
from shared.openai_client import Transcriber, openai_client
from shared.storage import Storage, checkpoint_prefix
from workers.transcribe import _chunk_text


async def main(base_url: str, s3_endpoint: str, bucket: str, task_id: str, audio: Path) -> None:
    configure_logging("INFO", "json")
    bind_context(task_id=task_id)
    settings = Settings(
        openai_base_url=base_url,
        openai_api_key=SecretStr("k"),
        aws_endpoint_url=s3_endpoint,
        aws_region="us-east-1",
        aws_max_attempts=1,
    )
    chunk = Chunk(audio, 1.0, [Span(0.0, 0.0, 1.0)])
    async with openai_client(settings) as client, AwsClients(settings).s3() as s3:
        checkpoints = ChunkCheckpoints(Storage(s3), bucket, checkpoint_prefix("org", task_id), {})
        recording = {"key": f"recordings/{task_id}.wav", "sha256": "0" * 64}
        transcriber = Transcriber(client, "whisper-1", 1)
        await _chunk_text(transcriber, checkpoints, recording, "0.agent.0", f"{task_id}.main.agent.0", chunk)
        print("saved", flush=True)
        await asyncio.sleep(3600)


if __name__ == "__main__":
    base_url, s3_endpoint, bucket, task_id, audio = sys.argv[1:6]
    asyncio.run(main(base_url, s3_endpoint, bucket, task_id, Path(audio)))
