"""bench/erasure.py: erase one customer's calls out of many stored, and count the objects listed to find them.

Method: moto as its own process, the real topology (`bootstrap`). `--calls` calls are written directly: a tracking
row each (its `customer_hash` the HMAC of one of `--customers` numbers; `--target` calls share one number) and
two objects (a recording and a transcript, under the real key layout). Then `callpipe privacy erase
--customer-number` runs the same code (`run_erasure`): the `by-customer` index finds the calls, and only each call's
own prefixes are listed. `objects_scanned` counts keys listed; it grows with the erased calls, not with the store.

Last line: `calls_stored=… erased=… wall_s=… objects_scanned=…`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

from queues.bootstrap import bootstrap
from shared.audit import AuditLog, FrontDoor
from shared.aws import AwsClients
from shared.config import Settings
from shared.privacy.erasure import Eraser
from shared.privacy.jobs import ErasureJobs, ErasureRequest, ErasureState, run_erasure
from shared.privacy.keys import DEV_KEY, customer_hash
from shared.resources import DataResources
from shared.storage import recording_key, transcript_key
from simulator.aws import local_aws_process

os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1")
for _var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_var, None)

ORG = "bench-org"
TARGET_NUMBER = "+14155552671"


async def seed(settings: Settings, calls: int, target: int, writers: int) -> None:
    res = DataResources(settings.name_prefix)
    now_ms = int(time.time() * 1000)
    sem = asyncio.Semaphore(writers)
    async with AwsClients(settings).dynamodb() as ddb, AwsClients(settings).s3() as s3:

        async def one(n: int) -> None:
            task = str(uuid.uuid4())
            number = TARGET_NUMBER if n < target else f"+1212555{n % 10_000:04d}"  # never the target
            ended = now_ms - (n % 30) * 86_400_000
            rec = recording_key(ORG, ended, task, "r1")
            tr = transcript_key(ORG, ended, task)
            async with sem:
                await ddb.put_item(
                    TableName=res.tracking_table.name,
                    Item={
                        "pk": {"S": f"ORG#{ORG}#TASK#{task}"},
                        "org_id": {"S": ORG},
                        "task_id": {"S": task},
                        "status": {"S": "ANALYZED"},
                        "customer_hash": {"S": customer_hash(DEV_KEY, number)},
                        "transcript_key": {"S": tr},
                        "recording_keys": {"L": [{"M": {"key": {"S": rec}, "start_ms": {"N": str(ended)}}}]},
                        "facts": {"M": {"ended_ms": {"N": str(ended)}}},
                        "claimed_at": {"N": str(ended / 1000)},
                    },
                )
                await s3.put_object(Bucket=res.recordings_bucket.name, Key=rec, Body=b"RIFF....WAVE")
                await s3.put_object(Bucket=res.results_bucket.name, Key=tr, Body=b'{"segments":[]}')

        await asyncio.gather(*(one(n) for n in range(calls)))


async def main(calls: int, target: int, writers: int) -> None:
    async with local_aws_process() as (endpoint, _pid):
        settings = Settings(
            name_prefix=f"bench-er-{uuid.uuid4().hex[:6]}",
            aws_endpoint_url=endpoint,
            aws_region="us-east-1",
            wxcc_org_id=ORG,
            log_level="WARNING",
        )
        await bootstrap(settings, include_echo=False)
        began = time.perf_counter()
        await seed(settings, calls, target, writers)
        print(f"seeded {calls} calls ({target} of one customer) in {time.perf_counter() - began:.0f} s", flush=True)
        res = DataResources(settings.name_prefix)
        async with AwsClients(settings).dynamodb() as ddb, AwsClients(settings).s3() as s3:
            eraser = Eraser(ddb, s3, res)
            jobs = ErasureJobs(ddb, res.coordination_table.name)
            request = ErasureRequest(customer_number=TARGET_NUMBER)
            began = time.perf_counter()
            job = await run_erasure(
                await jobs.create(request.mode),
                request,
                eraser=eraser,
                jobs=jobs,
                audit=AuditLog.for_prefix(s3, settings.name_prefix),
                hmac_key=DEV_KEY,
                default_org=ORG,
                actor="cli:bench",
                actor_label=None,
                front_door=FrontDoor.CLI,
            )
            wall = time.perf_counter() - began
        assert job.state is ErasureState.SUCCEEDED, job
        print(f"counts {job.counts}", flush=True)
        print(
            f"calls_stored={calls} erased={job.counts['calls']} wall_s={wall:.2f} "
            f"objects_scanned={eraser.objects_scanned}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--target", type=int, default=50)
    parser.add_argument("--writers", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.target, args.writers))
