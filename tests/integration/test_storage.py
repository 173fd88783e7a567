"""Streaming uploads: small objects in one put, large ones in S3-checksummed parts, byte for byte."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

from types_aiobotocore_s3 import S3Client

from shared.config import Settings
from shared.storage import PART_BYTES, Storage


async def chunks(total: int, size: int = 300_000) -> AsyncIterator[bytes]:
    for start in range(0, total, size):
        yield bytes((start // size) % 251 for _ in range(min(size, total - start)))


async def test_uploads_stream_in_parts_and_come_back_whole(s3: S3Client, settings: Settings, tmp_path: Path) -> None:
    bucket = f"{settings.name_prefix}-store"
    await s3.create_bucket(Bucket=bucket)
    storage = Storage(s3)
    for name, total in (("small", 1_000_000), ("large", 2 * PART_BYTES + 123_457)):
        size, digest = await storage.upload_stream(bucket, name, chunks(total))
        expected = hashlib.sha256(b"".join([c async for c in chunks(total)])).hexdigest()
        assert (size, digest) == (total, expected)
        local = tmp_path / name
        assert await storage.download_to(bucket, name, local) == total
        assert hashlib.sha256(local.read_bytes()).hexdigest() == expected
    head = await s3.head_object(Bucket=bucket, Key="large", PartNumber=1)
    assert head.get("PartsCount", 0) >= 2
    uploads = await s3.list_multipart_uploads(Bucket=bucket)
    assert not uploads.get("Uploads"), "an upload was left open"
