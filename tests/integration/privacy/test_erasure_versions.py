"""Erasure in versioned buckets (as Terraform makes them): no version and no delete marker of the call's objects
is left — a plain delete would keep the content as a noncurrent version — and other calls' versions stay."""

from __future__ import annotations

import time

from types_aiobotocore_s3 import S3Client

from queues.bootstrap import bootstrap
from shared.aws import AwsClients
from shared.config import Settings
from shared.privacy.erasure import Eraser
from shared.resources import DataResources
from shared.storage import checkpoint_prefix, recording_key, transcript_key
from shared.tracking import TrackingTable

ORG = "org-versions"


async def test_erasure_removes_every_version_of_the_calls_objects(s3: S3Client, settings: Settings) -> None:
    await bootstrap(settings, include_echo=False)
    res = DataResources(settings.name_prefix)
    recordings, results = res.recordings_bucket.name, res.results_bucket.name
    for bucket in (recordings, results):
        await s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    now_ms = int(time.time() * 1000)
    objects = {
        task: [
            (recordings, recording_key(ORG, now_ms, task, "r1")),
            (results, transcript_key(ORG, now_ms, task)),
            (results, checkpoint_prefix(ORG, task) + "0.customer.0.json"),
        ]
        for task in ("erased-call", "kept-call")
    }
    for task, keys in objects.items():
        for bucket, key in keys:
            for n in range(2):  # two versions of each
                await s3.put_object(Bucket=bucket, Key=key, Body=f"{task} v{n}".encode())
        bucket, checkpoint = keys[2]
        await s3.delete_object(Bucket=bucket, Key=checkpoint)  # removed by its step: two versions + a delete marker
    async with AwsClients(settings).dynamodb() as ddb:
        tracking = TrackingTable(ddb, res.tracking_table.name)
        for task in objects:
            facts = {"ended_ms": now_ms}
            put = tracking.claim_put(ORG, task, "j-1", pipeline_version=1, retry_failed=False, lease_s=1, facts=facts)
            await ddb.put_item(**put)
        counts = await Eraser(ddb, s3, res).erase_call(ORG, "erased-call", "e-1")
    assert counts["recordings"] == 1 and counts["transcripts"] == 1 and counts["checkpoints"] == 1

    for bucket in (recordings, results):
        listed = await s3.list_object_versions(Bucket=bucket)
        left = [v["Key"] for v in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]]
        assert not [k for k in left if "erased-call" in k], left
        kept = [k for k in left if "kept-call" in k]
        assert len(kept) == {recordings: 2, results: 5}[bucket]
