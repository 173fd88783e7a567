"""Claim check: bodies too large for SQS are stored in S3 and the message carries only their key."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from shared.errors import PoisonMessage, Retryable

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client


class ClaimCheck:
    """Stores and loads message bodies in the messages bucket under `claim-check/{kind}/`."""

    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    async def put(self, kind: str, body: str) -> str:
        """Store a body and return the key to send instead."""
        key = f"claim-check/{kind}/{uuid.uuid4().hex}.json"
        await self._s3.put_object(
            Bucket=self.bucket, Key=key, Body=body.encode(), ContentType="application/json", ChecksumAlgorithm="SHA256"
        )
        return key

    async def get(self, key: str) -> str:
        """Load a stored body; a missing object is poison (it will never appear)."""
        try:
            obj = await self._s3.get_object(Bucket=self.bucket, Key=key)
        except self._s3.exceptions.NoSuchKey as exc:
            raise PoisonMessage(f"claim-check object s3://{self.bucket}/{key} does not exist") from exc
        except self._s3.exceptions.ClientError as exc:
            raise Retryable(f"claim-check read failed: {exc}") from exc
        async with obj["Body"] as stream:
            data = await stream.read()
        return data.decode()

    async def delete(self, key: str) -> None:
        """Remove a body once its message is done (the bucket's lifecycle rule is the backstop)."""
        await self._s3.delete_object(Bucket=self.bucket, Key=key)
