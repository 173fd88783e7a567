"""`callpipe dlq list|replay STAGE`: look into a stage's dead-letter queue and move messages back to the stage.

`list` prints one JSON object per message on stdout and, for an empty DLQ, says so on stderr."""

from __future__ import annotations

import argparse
import json
import sys

from queues.claimcheck import ClaimCheck
from queues.directory import QueueDirectory
from queues.dlq import DEFAULT_MAX_REPLAYS, list_dead_letters, replay, tracking_reopener
from queues.envelope import Kind
from shared.aws import AwsClients
from shared.config import Settings
from shared.resources import DataResources


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return number


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `dlq` subcommands."""
    sub = parser.add_subparsers(dest="dlq_command", required=True)
    stages = [k.value for k in Kind]
    listing = sub.add_parser("list", help="messages in a stage's DLQ (read without consuming them)")
    listing.add_argument("stage", choices=stages)
    listing.add_argument("--max", type=_positive_int, default=100, help="show at most N messages")
    again = sub.add_parser("replay", help="move matching DLQ messages back to the stage's queue")
    again.add_argument("stage", choices=stages)
    again.add_argument("--journey", help="only messages of this journey")
    again.add_argument("--error-type", help="only messages dead-lettered with this error type, e.g. Permanent")
    again.add_argument("--max", type=_positive_int, help="move at most N messages")
    again.add_argument("--rate", type=_positive_float, help="at most N messages per second")
    again.add_argument("--dry-run", action="store_true", help="count what would move, move nothing")
    again.add_argument(
        "--max-replays",
        type=_positive_int,
        default=DEFAULT_MAX_REPLAYS,
        help=f"refuse messages already replayed this many times (default {DEFAULT_MAX_REPLAYS})",
    )


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out a `dlq` subcommand; prints JSON (one object per message for `list`, the counts for `replay`)."""
    clients = AwsClients(settings)
    resources = DataResources(settings.name_prefix)
    kind = Kind(args.stage)
    async with clients.sqs() as sqs, clients.dynamodb() as ddb, clients.s3() as s3:
        urls = await QueueDirectory(sqs, settings.name_prefix).urls(kind)
        if args.dlq_command == "list":
            letters = await list_dead_letters(sqs, urls, max_messages=args.max)
            for letter in letters:
                print(json.dumps({**letter.__dict__, "age_s": round(letter.age_s, 1)}))
            if not letters:
                # On stderr: stdout stays one JSON object per message (none), for scripts.
                print(f"the {kind.value} DLQ ({urls.dlq_url.rsplit('/', 1)[-1]}) is empty", file=sys.stderr)
            return 0
        counts = await replay(
            sqs,
            urls,
            journey_id=args.journey,
            error_type=args.error_type,
            max_messages=args.max,
            rate_per_s=args.rate,
            dry_run=args.dry_run,
            max_replays=args.max_replays,
            before_send=tracking_reopener(
                ddb,
                resources.tracking_table.name,
                resources.journeys_table.name,
                kind,
                claim_check=ClaimCheck(s3, resources.messages_bucket.name),
            ),
        )
        print(json.dumps(counts.as_dict()))
        return 0
