"""`callpipe audit [--from T] [--to T] [--action A]`: the audit trail of a time range, as a table or `--json` lines.

Read straight from the logs bucket (`shared.audit.AuditLog`), as `GET /api/v1/audit` reads it: no API server is
needed, only read access to `{prefix}-logs`. A bad argument is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table

from shared.audit import AuditEvent, AuditLog
from shared.aws import AwsClients
from shared.config import Settings

BAD_ARGUMENTS = 2
MAX_DAYS = 31
MAX_LIMIT = 10_000
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class BadArguments(ValueError):
    """Arguments that parse but do not make a range (an unreadable time, an empty or too long range)."""


def parse_time(value: str, now: datetime) -> datetime:
    """An ISO 8601 time (UTC when it has no zone) or an age such as `30m`, `6h`, `2d` (that long before now)."""
    text = value.strip()
    if text[:-1].isdigit() and text[-1:] in _UNITS:
        return now - timedelta(**{_UNITS[text[-1]]: int(text[:-1])})
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadArguments(f"{value!r} is neither an ISO 8601 time nor an age like 30m, 6h, 2d") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def time_range(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime]:
    """The `[from, to)` range the arguments ask for (default: the last 24 hours)."""
    end = parse_time(args.to, now) if args.to else now
    start = parse_time(args.from_, now) if args.from_ else end - timedelta(hours=24)
    if end <= start:
        raise BadArguments("--to must be after --from")
    if end - start > timedelta(days=MAX_DAYS):
        raise BadArguments(f"the range is over {MAX_DAYS} days: narrow it")
    return start, end


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `audit` options."""
    parser.add_argument(
        "--from", dest="from_", help="range start: ISO 8601 or an age (30m, 6h, 2d); default --to - 24h"
    )
    parser.add_argument("--to", help="range end (exclusive): ISO 8601 or an age; default now")
    parser.add_argument("--action", help="only this action, e.g. createJourney, replayDlq, license.activate")
    parser.add_argument("--limit", type=int, default=1000, help=f"events shown at most (1-{MAX_LIMIT}), oldest first")
    parser.add_argument("--json", action="store_true", help="one JSON event per line")


def _table(events: list[AuditEvent]) -> Table:
    table = Table("time (UTC)", "actor", "door", "action", "targets", "outcome", "status", "request id")
    for e in events:
        targets = " ".join(f"{k}={v}" for k, v in e.targets.items())
        actor = f"{e.actor} ({e.actor_label})" if e.actor_label else e.actor
        table.add_row(
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            actor,
            e.front_door.value,
            e.action,
            targets,
            e.outcome.value,
            str(e.status or ""),
            e.request_id or "",
        )
    return table


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the events of the range: a table on stdout, or JSON lines with `--json`; mistakes on stderr."""
    try:
        start, end = time_range(args, datetime.now(UTC))
        if not 1 <= args.limit <= MAX_LIMIT:
            raise BadArguments(f"--limit must be between 1 and {MAX_LIMIT}")
    except BadArguments as exc:
        print(f"callpipe audit: error: {exc}", file=sys.stderr, flush=True)
        return BAD_ARGUMENTS
    async with AwsClients(settings).s3() as s3:
        events = await AuditLog.for_prefix(s3, settings.name_prefix).read(
            start, end, action=args.action, limit=args.limit
        )
    if args.json:
        for event in events:
            sys.stdout.write(event.model_dump_json() + "\n")
        sys.stdout.flush()
        return 0
    console = Console(soft_wrap=False)
    console.print(_table(events))
    console.print(f"{len(events)} events from {start:%Y-%m-%dT%H:%M:%SZ} to {end:%Y-%m-%dT%H:%M:%SZ}")
    return 0
