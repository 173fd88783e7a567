"""S3 storage of recordings, transcripts, analyses and analytics lines: key layout and streaming transfers."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.logging import get_logger

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

log = get_logger(__name__)

PART_BYTES = 5 * 1024 * 1024  # S3's smallest multipart part (but the last): the least memory per upload


def day_path(org_id: str, epoch_ms: int | None) -> str:
    """`{org}/{yyyy}/{mm}/{dd}` for a call's time (now when unknown)."""
    when = datetime.fromtimestamp(epoch_ms / 1000, UTC) if epoch_ms else datetime.now(UTC)
    return f"{org_id}/{when:%Y/%m/%d}"


def recording_key(org_id: str, epoch_ms: int | None, task_id: str, recording_id: str) -> str:
    return f"recordings/{day_path(org_id, epoch_ms)}/{task_id}/{recording_id}.wav"


def transcript_key(org_id: str, epoch_ms: int | None, task_id: str) -> str:
    return f"transcripts/{day_path(org_id, epoch_ms)}/{task_id}.json"


def checkpoint_prefix(org_id: str, task_id: str) -> str:
    """Where a stage keeps a call's work in progress (removed when the step is done; see terraform's lifecycle rule)."""
    return f"work/{org_id}/{task_id}/"


def analysis_key(org_id: str, epoch_ms: int | None, task_id: str, pipeline_version: int) -> str:
    return f"analyses/{day_path(org_id, epoch_ms)}/{task_id}.v{pipeline_version}.json"


def analytics_key(epoch_ms: int | None, task_id: str, pipeline_version: int) -> str:
    """One JSON line per call, partitioned by day for Athena/Glue (`dt=yyyy-mm-dd`)."""
    when = datetime.fromtimestamp(epoch_ms / 1000, UTC) if epoch_ms else datetime.now(UTC)
    return f"analytics/calls/dt={when:%Y-%m-%d}/part-{task_id}.v{pipeline_version}.jsonl"


class Storage:
    """Streams objects into and out of S3 without holding a whole recording in memory."""

    def __init__(self, s3: S3Client) -> None:
        self._s3 = s3

    @property
    def client(self) -> S3Client:
        """The S3 client underneath (for callers that need more than these transfers, e.g. erasure)."""
        return self._s3

    async def upload_stream(
        self, bucket: str, key: str, chunks: AsyncIterator[bytes], *, content_type: str = "application/octet-stream"
    ) -> tuple[int, str]:
        """Upload a stream (multipart past one part) with S3-verified SHA-256 checksums; returns (bytes, sha256 hex)."""
        whole = hashlib.sha256()
        pending: list[bytes] = []  # chunks of the part being filled: joined once, then dropped before the upload
        buffered = 0
        size = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                whole.update(chunk)
                size += len(chunk)
                pending.append(chunk)
                buffered += len(chunk)
                if buffered >= PART_BYTES:
                    if upload_id is None:
                        upload_id = (
                            await self._s3.create_multipart_upload(
                                Bucket=bucket, Key=key, ContentType=content_type, ChecksumAlgorithm="SHA256"
                            )
                        )["UploadId"]
                    part = b"".join(pending)
                    pending.clear()
                    buffered = 0
                    parts.append(await self._part(bucket, key, upload_id, len(parts) + 1, part))
            rest = b"".join(pending)
            pending.clear()
            if upload_id is None:
                await self._s3.put_object(
                    Bucket=bucket, Key=key, Body=rest, ContentType=content_type, ChecksumSHA256=_b64sha(rest)
                )
            else:
                if rest:
                    parts.append(await self._part(bucket, key, upload_id, len(parts) + 1, rest))
                await self._s3.complete_multipart_upload(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
                )
        except BaseException:
            if upload_id is not None:
                await self._s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise
        return size, whole.hexdigest()

    async def _part(self, bucket: str, key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        checksum = _b64sha(data)
        resp = await self._s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data, ChecksumSHA256=checksum
        )
        return {"PartNumber": number, "ETag": resp["ETag"], "ChecksumSHA256": checksum}

    async def download_to(self, bucket: str, key: str, path: Path) -> int:
        """Copy an object to a local file in chunks; returns its size."""
        obj = await self._s3.get_object(Bucket=bucket, Key=key)
        body = obj["Body"]
        size = 0
        try:
            with path.open("wb") as out:
                async for chunk in body.iter_chunks(1024 * 1024):
                    out.write(chunk)
                    size += len(chunk)
        finally:
            body.close()
        return size

    async def put_json(self, bucket: str, key: str, value: Any, *, lines: bool = False) -> None:
        """Store a JSON document (or one JSON line)."""
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False) + ("\n" if lines else "")
        await self._s3.put_object(
            Bucket=bucket, Key=key, Body=text.encode(), ContentType="application/json", ChecksumAlgorithm="SHA256"
        )

    async def get_json(self, bucket: str, key: str) -> Any:
        """Read a JSON document."""
        obj = await self._s3.get_object(Bucket=bucket, Key=key)
        async with obj["Body"] as body:
            return json.loads(await body.read())

    async def get_json_if_exists(self, bucket: str, key: str) -> Any | None:
        """Read a JSON document; None when there is no object at `key`."""
        try:
            return await self.get_json(bucket, key)
        except self._s3.exceptions.NoSuchKey:
            return None

    async def keys(self, bucket: str, prefix: str) -> list[str]:
        """Every key under `prefix`."""
        found: list[str] = []
        paginator = self._s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            found.extend(item["Key"] for item in page.get("Contents", []))
        return found

    async def replace_file(
        self, bucket: str, key: str, path: Path, *, content_type: str = "application/octet-stream"
    ) -> tuple[int, str]:
        """Store a local file at `key` in place of the object there, then delete the key's earlier versions (in a
        versioned bucket the replaced content would otherwise stay as a noncurrent version); returns (bytes, sha256)."""

        async def chunks() -> AsyncIterator[bytes]:
            with path.open("rb") as f:
                while chunk := f.read(1024 * 1024):
                    yield chunk

        size, sha = await self.upload_stream(bucket, key, chunks(), content_type=content_type)
        await self.delete_earlier_versions(bucket, key)
        return size, sha

    async def delete_earlier_versions(self, bucket: str, key: str) -> int:
        """Delete every version of `key` but the current one (none in an unversioned bucket); how many."""
        old: list[dict[str, str]] = []
        paginator = self._s3.get_paginator("list_object_versions")
        async for page in paginator.paginate(Bucket=bucket, Prefix=key):
            for version in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if version["Key"] == key and not version.get("IsLatest") and version.get("VersionId"):
                    old.append({"Key": key, "VersionId": version["VersionId"]})
        for start in range(0, len(old), 1000):
            await self._s3.delete_objects(
                Bucket=bucket,
                Delete={"Objects": old[start : start + 1000], "Quiet": True},  # type: ignore[typeddict-item]
            )
        return len(old)

    async def versions(self, bucket: str, prefix: str) -> dict[str, list[str]]:
        """Every key under `prefix` that has a version (current, noncurrent or a delete marker), with the version ids
        (`null` for objects written while the bucket was unversioned)."""
        found: dict[str, list[str]] = {}
        paginator = self._s3.get_paginator("list_object_versions")
        async for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for version in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                found.setdefault(version["Key"], []).append(version.get("VersionId") or "null")
        return found

    async def delete_versions(self, bucket: str, versions: dict[str, list[str]]) -> None:
        """Delete these versions for good (no delete marker is left), 1000 a request."""
        pairs = [{"Key": key, "VersionId": vid} for key, vids in sorted(versions.items()) for vid in vids]
        for start in range(0, len(pairs), 1000):
            await self._s3.delete_objects(
                Bucket=bucket,
                Delete={"Objects": pairs[start : start + 1000], "Quiet": True},  # type: ignore[typeddict-item]
            )

    async def delete(self, bucket: str, keys: list[str]) -> None:
        """Delete objects, 1000 a request (S3's limit)."""
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            await self._s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})


def _b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()
