"""Claim check: bodies too large for SQS are stored in S3 and the message carries only their key."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from shared.errors import PoisonMessage, Retryable

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

KEY_PREFIX = "claim-check/"
"""Every key `put` writes starts with this; a message pointing anywhere else in the bucket is refused."""
MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest stored body `get` will read into memory; the producer only stores bodies a few hundred KiB long."""


class ClaimCheck:
    """Stores and loads message bodies in the messages bucket under `claim-check/{kind}/`."""

    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    async def put(self, kind: str, body: str) -> str:
        """Store a body and return the key to send instead."""
        key = f"{KEY_PREFIX}{kind}/{uuid.uuid4().hex}.json"
        await self._s3.put_object(
            Bucket=self.bucket, Key=key, Body=body.encode(), ContentType="application/json", ChecksumAlgorithm="SHA256"
        )
        return key

    async def get(self, key: str) -> str:
        """Load a stored body. Poison (it will never load): a key outside `KEY_PREFIX`, a missing object, or one
        larger than `MAX_BODY_BYTES` (refused from its Content-Length, before its body is read)."""
        if not key.startswith(KEY_PREFIX) or len(key) == len(KEY_PREFIX):
            raise PoisonMessage(f"claim-check key {key[:200]!r} is not under {KEY_PREFIX!r}")
        try:
            obj = await self._s3.get_object(Bucket=self.bucket, Key=key)
        except self._s3.exceptions.NoSuchKey as exc:
            raise PoisonMessage(f"claim-check object s3://{self.bucket}/{key} does not exist") from exc
        except self._s3.exceptions.ClientError as exc:
            raise Retryable(f"claim-check read failed: {exc}") from exc
        size = obj.get("ContentLength")
        stream = obj["Body"]
        async with stream:
            if size is not None and size > MAX_BODY_BYTES:
                raise PoisonMessage(self._too_large(key, f"is {size} bytes"))
            data = bytearray()
            async for chunk in stream.iter_chunks(64 * 1024):
                data += chunk
                if len(data) > MAX_BODY_BYTES:  # no or a false Content-Length: the cap still holds
                    raise PoisonMessage(self._too_large(key, "is larger"))
        return data.decode()

    def _too_large(self, key: str, size: str) -> str:
        return f"claim-check object s3://{self.bucket}/{key} {size}, over the {MAX_BODY_BYTES} byte cap"

    async def delete(self, key: str) -> None:
        """Remove a body once its message is done (the bucket's lifecycle rule is the backstop)."""
        await self._s3.delete_object(Bucket=self.bucket, Key=key)
