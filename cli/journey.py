"""`callpipe journey start|status|watch`: journeys from the command line (`start` is also what the schedule runs, and
it resumes the calls the license held that it now admits)."""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime

from api.start import JourneyRequest, LicenseRefused, start_journey
from cli.watch import print_summary, watch
from queues.claimcheck import ClaimCheck
from queues.directory import QueueDirectory
from queues.producer import Producer
from queues.resume import held_sender
from shared.aws import AwsClients
from shared.bounds import JourneyTooLarge
from shared.config import Settings
from shared.journeys import JourneyStore
from shared.license.service import LicenseService
from shared.resources import DataResources


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `journey` subcommands."""
    sub = parser.add_subparsers(dest="journey_command", required=True)
    start = sub.add_parser("start", help="start a journey over a window of call end times or a list of task ids")
    what = start.add_mutually_exclusive_group(required=True)
    what.add_argument("--lookback-minutes", type=int, help="calls that ended in the last N minutes")
    what.add_argument("--from", dest="from_", help="window start, ISO 8601 (with --to)")
    what.add_argument("--tasks", help="comma-separated WXCC task ids")
    start.add_argument("--to", help="window end, ISO 8601 (default: now)")
    start.add_argument("--retry-failed", action="store_true", help="also retry calls that failed before")
    status = sub.add_parser("status", help="a journey's state and counters")
    status.add_argument("journey_id")
    watching = sub.add_parser("watch", help="live progress bars per stage until the journey ends, then a summary")
    watching.add_argument("journey_id")


def _ms(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def request_from_args(args: argparse.Namespace, settings: Settings) -> JourneyRequest:
    """The journey a `journey start` command line asks for."""
    now = int(time.time() * 1000)
    if args.tasks:
        ids = tuple(t.strip() for t in args.tasks.split(",") if t.strip())
        return JourneyRequest(settings.wxcc_org_id, task_ids=ids, created_by="cli", retry_failed=args.retry_failed)
    if args.lookback_minutes:
        start, end = now - args.lookback_minutes * 60_000, now
    else:
        start, end = _ms(args.from_), _ms(args.to) if args.to else now
    return JourneyRequest(
        settings.wxcc_org_id,
        from_ms=start,
        to_ms=end,
        created_by="cli",
        retry_failed=args.retry_failed,
        pipeline_version=settings.pipeline_version,
    )


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out a `journey` subcommand; prints JSON."""
    clients = AwsClients(settings)
    resources = DataResources(settings.name_prefix)
    async with clients.dynamodb() as ddb, clients.sqs() as sqs, clients.s3() as s3:
        journeys = JourneyStore(ddb, resources.journeys_table.name)
        if args.journey_command == "start":
            producer = Producer(
                sqs, QueueDirectory(sqs, settings.name_prefix), ClaimCheck(s3, resources.messages_bucket.name)
            )
            try:
                request = request_from_args(args, settings)
            except ValueError as exc:  # an unreadable --from/--to
                print(json.dumps({"error": f"not an ISO 8601 time: {exc}"}))
                return 2
            try:
                journey = await start_journey(journeys, producer, request, settings=settings)
            except LicenseRefused as exc:  # the API's 403: an expired or invalid license starts no journey
                print(json.dumps({"error": exc.message, "code": exc.code}))
                return 2
            except JourneyTooLarge as exc:  # the same bound and sentence the API answers with a 422
                v = exc.violation
                print(json.dumps({"error": v.message, "setting": v.setting or None, "limit": v.limit}))
                return 2
            except ValueError as exc:  # e.g. `--tasks ,`: no task id at all
                print(json.dumps({"error": str(exc)}))
                return 2
            # The schedule runs this: calls held in an earlier month (or before a larger license) resume here even when
            # no new call reaches a worker to notice the rollover.
            resumed = await LicenseService(settings, ddb, send_held=held_sender(producer)).resume_held(request.org_id)
            out = {"journey_id": journey.id, "kind": journey.kind.value, "params": journey.params}
            print(json.dumps({**out, "resumed_held": resumed}))
            return 0
        if args.journey_command == "watch":
            final = await watch(journeys, args.journey_id)
            if final is None:
                print(json.dumps({"error": f"journey {args.journey_id} not found"}))
                return 1
            print_summary(final)
            return 0
        status = await journeys.status(args.journey_id)
        if status is None:
            print(json.dumps({"error": f"journey {args.journey_id} not found"}))
            return 1
        print(
            json.dumps(
                {
                    "journey_id": status.journey.id,
                    "state": status.journey.state.value,
                    "discovered": status.discovered,
                    "finished": status.terminal,
                    "pending_poll_windows": status.pending_polls,
                    "stages": status.counters,
                }
            )
        )
        return 0
