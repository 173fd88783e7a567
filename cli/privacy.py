"""`callpipe privacy erase (--task-id ID … | --customer-number N | --from T --to T) [--org ORG]`: erase calls
everywhere (`shared.privacy`), print what was removed as JSON, and record the audit event (front door `cli`).

Runs in this process against the deployment's tables and buckets (no API server needed). A bad argument is one line
on stderr and exit code 2; an erasure that failed exits 1.
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from shared.audit import AuditLog, FrontDoor, cli_actor
from shared.aws import AwsClients
from shared.config import Settings
from shared.privacy.erasure import Eraser
from shared.privacy.jobs import ErasureJobs, ErasureRequest, ErasureState, run_erasure
from shared.privacy.keys import load_key
from shared.resources import DataResources

BAD_ARGUMENTS = 2


def configure(parser: argparse.ArgumentParser) -> None:
    """The `privacy` subcommands."""
    sub = parser.add_subparsers(dest="privacy_command", required=True)
    erase = sub.add_parser("erase", help="erase calls by task id, customer number or window")
    erase.add_argument("--task-id", action="append", dest="task_ids", help="a call's task id (repeatable)")
    erase.add_argument("--customer-number", help="every call of this customer number (found by its HMAC)")
    erase.add_argument("--from", dest="from_", help="window start, ISO 8601 with a zone")
    erase.add_argument("--to", help="window end, ISO 8601 with a zone")
    erase.add_argument("--org", help="the WXCC org (default: CALLPIPE_WXCC_ORG_ID)")


def request_of(args: argparse.Namespace) -> ErasureRequest:
    """The erasure the arguments ask for (`ValidationError` when they are not exactly one mode)."""
    raw = {
        "task_ids": args.task_ids,
        "customer_number": args.customer_number,
        "from": args.from_,
        "to": args.to,
        "org_id": args.org,
    }
    return ErasureRequest.model_validate({k: v for k, v in raw.items() if v is not None})


async def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        request = request_of(args)
    except ValidationError as exc:
        print(f"callpipe privacy erase: {exc.errors()[0]['msg']}", file=sys.stderr)
        return BAD_ARGUMENTS
    if request.task_ids is not None and not (request.org_id or settings.wxcc_org_id):
        print("callpipe privacy erase: --task-id needs --org (CALLPIPE_WXCC_ORG_ID is not set)", file=sys.stderr)
        return BAD_ARGUMENTS
    clients = AwsClients(settings)
    resources = DataResources(settings.name_prefix)
    async with clients.dynamodb() as ddb, clients.s3() as s3:
        jobs = ErasureJobs(ddb, resources.coordination_table.name)
        job = await run_erasure(
            await jobs.create(request.mode),
            request,
            eraser=Eraser(ddb, s3, resources),
            jobs=jobs,
            audit=AuditLog.for_prefix(s3, settings.name_prefix),
            hmac_key=await load_key(settings),
            default_org=settings.wxcc_org_id,
            actor=cli_actor(),
            actor_label=None,
            front_door=FrontDoor.CLI,
        )
    print(job.model_dump_json())
    return 0 if job.state is ErasureState.SUCCEEDED else 1
