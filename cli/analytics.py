"""`callpipe analytics summary|calls|call ID`: the analytics questions from the terminal, as rich tables or `--json`.

Every answer comes from `shared.analytics.queries` (the functions the API serves), read straight from the analytics
table and the results bucket: no API server is needed. A bad argument is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from rich.console import Console
from rich.table import Table

from api.models import DEFAULT_ANALYTICS_DAYS, MAX_ANALYTICS_DAYS
from shared.analytics import queries
from shared.analytics.aggregates import SENTIMENTS, SEVERITIES
from shared.analytics.queries import CallPage, Stats, Summary, TranscriptOut
from shared.analytics.record import CallRecord
from shared.analytics.store import AnalyticsStore, BadCursor, ListFilters
from shared.aws import AwsClients
from shared.config import Settings
from shared.resources import DataResources
from shared.storage import Storage

BAD_ARGUMENTS = 2
NOT_FOUND = 1
GROUPS = ("day", "queue", "agent", "topic", "sentiment")
MAX_LIMIT = 1000


class _OneLineParser(argparse.ArgumentParser):
    """A parser whose mistakes are one line on stderr (no usage block) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr, flush=True)
        raise SystemExit(BAD_ARGUMENTS)


class BadArguments(ValueError):
    """Arguments that parse but do not make a question (an unreadable time, an empty window, a foreign cursor)."""


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{number} is not between {low} and {high}")
        return number

    return parse


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"{value!r} is neither true nor false")
    return lowered == "true"


def _window_and_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="from_", metavar="ISO", help="window start (call end times), ISO 8601; UTC if no offset"
    )
    parser.add_argument("--to", metavar="ISO", help="window end (exclusive), ISO 8601; default now")
    parser.add_argument(
        "--days",
        type=_bounded_int(1, MAX_ANALYTICS_DAYS),
        help=f"the last N days before --to (instead of --from; default {DEFAULT_ANALYTICS_DAYS})",
    )
    parser.add_argument("--queue")
    parser.add_argument("--agent")
    parser.add_argument("--resolved", type=_bool, metavar="true|false")
    parser.add_argument("--sentiment", choices=SENTIMENTS, help="the customer's sentiment")
    _common(parser)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--org", help="the WXCC org (default CALLPIPE_WXCC_ORG_ID)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables (for scripts)")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `analytics` subcommands."""
    sub = parser.add_subparsers(dest="analytics_command", required=True, parser_class=_OneLineParser)
    summary = sub.add_parser("summary", help="exact totals and groups of analysed calls over whole UTC days")
    _window_and_filters(summary)
    summary.add_argument("--group-by", choices=GROUPS, default="day")
    calls = sub.add_parser("calls", help="analysed calls, newest first, a page at a time")
    _window_and_filters(calls)
    calls.add_argument("--topic")
    calls.add_argument("--qa-severity", choices=SEVERITIES, help="calls with at least one QA flag of this severity")
    calls.add_argument("--limit", type=_bounded_int(1, MAX_LIMIT), default=50)
    calls.add_argument("--cursor", help="the `next cursor` a previous page printed")
    call = sub.add_parser("call", help="one call: its record, analysis and transcript turns")
    call.add_argument("task_id")
    _common(call)


def _time(value: str, option: str) -> datetime:
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadArguments(
            f"{option} {value!r} is not an ISO 8601 time, e.g. 2026-11-01 or 2026-11-01T08:00Z"
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def window(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime]:
    """[from, to) the arguments ask for, with the API's default (the last 7 days) and bound (366 days)."""
    if args.from_ is not None and args.days is not None:
        raise BadArguments("give --from or --days, not both")
    to = _time(args.to, "--to") if args.to else now
    if args.from_ is not None:
        start = _time(args.from_, "--from")
    else:
        start = to - timedelta(days=args.days or DEFAULT_ANALYTICS_DAYS)
    if start >= to:
        raise BadArguments(f"--from ({start.isoformat()}) must be before --to ({to.isoformat()})")
    if to - start > timedelta(days=MAX_ANALYTICS_DAYS):
        raise BadArguments(f"the window may span at most {MAX_ANALYTICS_DAYS} days")
    return start, to


def filters_of(args: argparse.Namespace) -> ListFilters:
    """The list filters the arguments name (`summary` has no topic or QA severity filter)."""
    return ListFilters(
        queue=args.queue,
        agent=args.agent,
        sentiment=args.sentiment,
        resolved=args.resolved,
        topic=getattr(args, "topic", None),
        qa_severity=getattr(args, "qa_severity", None),
    )


@dataclass(frozen=True)
class Call:
    """`callpipe analytics call ID`'s answer."""

    record: CallRecord
    transcript: TranscriptOut | None


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out an `analytics` subcommand: tables on stdout, or JSON with `--json`; mistakes on stderr."""
    org = args.org or settings.wxcc_org_id
    try:
        if not org:
            raise BadArguments("no org: pass --org or set CALLPIPE_WXCC_ORG_ID")
        span = window(args, datetime.now(UTC)) if args.analytics_command != "call" else None
    except BadArguments as exc:
        return _refuse(str(exc))
    clients = AwsClients(settings)
    resources = DataResources(settings.name_prefix)
    console = Console(soft_wrap=False)
    async with clients.dynamodb() as ddb:
        store = AnalyticsStore(ddb, resources.analytics_table.name)
        if args.analytics_command == "summary":
            assert span is not None
            result = await queries.summary(store, org, *span, args.group_by, filters_of(args))
            if args.json:
                print(result.model_dump_json(indent=2))
            else:
                print_summary(console, result)
            return 0
        if args.analytics_command == "calls":
            assert span is not None
            try:
                page = await queries.list_calls(
                    store, org, *span, filters_of(args), limit=args.limit, cursor=args.cursor
                )
            except BadCursor as exc:
                return _refuse(f"--cursor: {exc}")
            if args.json:
                print(page.model_dump_json(indent=2))
            else:
                print_calls(console, page)
            return 0
        record = await queries.call_record(store, org, args.task_id)
    if record is None:
        print(f"callpipe analytics: no analysed call {args.task_id} in org {org}", file=sys.stderr)
        return NOT_FOUND
    turns: TranscriptOut | None = None
    if record.transcript_key:
        async with clients.s3() as s3:
            turns = await queries.transcript(Storage(s3), resources.results_bucket.name, record.transcript_key)
    if args.json:
        body = {
            "record": record.model_dump(mode="json"),
            "transcript": turns.model_dump(mode="json") if turns else None,
        }
        print(json.dumps(body, indent=2))
    else:
        print_call(console, Call(record, turns))
    return 0


def _refuse(message: str) -> int:
    print(f"callpipe analytics: error: {message}", file=sys.stderr, flush=True)
    return BAD_ARGUMENTS


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _rate(stats: Stats) -> str:
    return "-" if stats.resolution_rate is None else f"{stats.resolution_rate * 100:.1f}%"


def _negative(stats: Stats) -> int:
    return stats.customer_sentiment["very_negative"] + stats.customer_sentiment["negative"]


def _distribution(counts: dict[str, int]) -> str:
    return "  ".join(f"{name} {n}" for name, n in counts.items())


def print_summary(console: Console, s: Summary) -> None:
    """Totals, one row per group, the top topics and reasons."""
    filters = ", ".join(f"{k}={v}" for k, v in s.filters.items()) or "none"
    console.print(f"org {s.org_id}  days {s.from_day} … {s.to_day}  filters: {filters}  (from {s.source})")
    t = s.totals
    totals = Table(title="Totals", show_header=False)
    totals.add_column("metric", style="bold")
    totals.add_column("value")
    for name, value in (
        ("calls", str(t.calls)),
        ("resolved", f"{t.resolved} ({_rate(t)})"),
        ("customer sentiment", _distribution(t.customer_sentiment)),
        ("agent sentiment", _distribution(t.agent_sentiment)),
        ("QA flags", _distribution(t.qa_flags)),
        ("avg duration s", _s(t.avg_duration_s)),
        (
            "avg talk s (agent / customer)",
            f"{_s(t.avg_talk_s)} ({_s(t.avg_agent_talk_s)} / {_s(t.avg_customer_talk_s)})",
        ),
        ("avg silence s", _s(t.avg_silence_s)),
        ("avg overtalk s", _s(t.avg_overtalk_s)),
        ("billed audio min", f"{t.billed_audio_minutes:.3f}"),
        ("tokens in / out", f"{t.tokens_in} / {t.tokens_out}"),
        ("estimated cost $", f"{t.estimated_cost_usd:.6f}"),
    ):
        totals.add_row(name, value)
    console.print(totals)
    groups = Table(title=f"By {s.group_by}")
    for name in (s.group_by, "calls", "resolved", "rate", "avg dur s", "avg silence s", "negative", "QA critical",
                 "QA warning", "audio min", "cost $"):  # fmt: skip
        groups.add_column(name, justify="left" if name == s.group_by else "right")
    for g in s.groups:
        groups.add_row(
            g.key,
            str(g.calls),
            str(g.resolved),
            _rate(g),
            _s(g.avg_duration_s),
            _s(g.avg_silence_s),
            str(_negative(g)),
            str(g.qa_flags["critical"]),
            str(g.qa_flags["warning"]),
            f"{g.billed_audio_minutes:.3f}",
            f"{g.estimated_cost_usd:.6f}",
        )
    console.print(groups)
    for title, counts in (("Top topics", s.top_topics), ("Top reasons", s.top_reasons)):
        top = Table(title=title)
        top.add_column("value")
        top.add_column("calls", justify="right")
        for c in counts:
            top.add_row(c.value, str(c.calls))
        console.print(top)


def print_calls(console: Console, page: CallPage) -> None:
    """One row per call, then the cursor of the next page."""
    table = Table(title=f"{len(page.items)} calls, newest first")
    for name in ("ended", "task", "queue", "agent", "dur s", "reason", "resolved", "sentiment", "QA", "topics"):
        table.add_column(name, justify="right" if name in ("dur s", "QA") else "left")
    for c in page.items:
        table.add_row(
            c.ended_at,
            c.task_id,
            c.queue or "-",
            c.agent or "-",
            f"{c.duration_s:.1f}",
            c.reason_for_call,
            "yes" if c.resolved else "no",
            c.customer_sentiment,
            f"{c.qa_flags} {c.qa_max_severity}" if c.qa_flags else "0",
            ", ".join(c.topics),
        )
    console.print(table)
    console.print(f"next cursor: {page.next_cursor}" if page.next_cursor else "next cursor: none (last page)")


def print_call(console: Console, call: Call) -> None:
    """The record, the analysis and QA flags, then the transcript turns."""
    r = call.record
    facts = Table(title=f"Call {r.task_id}", show_header=False)
    facts.add_column("field", style="bold")
    facts.add_column("value")
    conv = r.conversation
    for name, value in (
        ("org / journey", f"{r.org_id} / {r.journey_id}"),
        ("started / ended", f"{r.started_at or '-'} / {r.ended_at}"),
        ("duration s", f"{r.duration_s:.1f}"),
        ("queue / agent", f"{r.queue or '-'} / {', '.join(r.agents) or '-'}"),
        ("direction / consult legs", f"{r.direction or '-'} / {r.consult_legs}"),
        ("talk s by party", ", ".join(f"{k} {v:.1f}" for k, v in conv.talk_s.items()) if conv else "-"),
        (
            "silence s (ratio, longest)",
            f"{conv.silence_s:.1f} ({conv.silence_ratio:.2f}, {conv.longest_silence_s:.1f})" if conv else "-",
        ),
        ("overtalk s / turns", f"{_s(conv.overtalk_s)} / {conv.turns}" if conv else "-"),
        ("pipeline / prompt / model", f"{r.pipeline_version} / {r.prompt_version} / {r.model}"),
        ("billed audio s / tokens in, out", f"{r.billed_audio_s:.1f} / {r.tokens_in}, {r.tokens_out}"),
        ("estimated cost $", f"{r.cost_usd:.6f}"),
    ):  # fmt: skip
        facts.add_row(name, value)
    console.print(facts)
    analysis = Table(title="Analysis", show_header=False)
    analysis.add_column("field", style="bold")
    analysis.add_column("value")
    for name, value in (
        ("summary", r.summary),
        ("reason for call", r.reason_for_call),
        ("topics", ", ".join(r.topics)),
        ("resolved", "yes" if r.resolved else "no"),
        ("sentiment customer / agent", f"{r.customer_sentiment} / {r.agent_sentiment}"),
        ("language", r.language),
        ("action items", "\n".join(r.action_items) or "-"),
    ):
        analysis.add_row(name, value)
    for flag in r.qa_flags:
        analysis.add_row(f"QA {flag.severity}", f"{flag.flag}: {flag.evidence}" if flag.evidence else flag.flag)
    console.print(analysis)
    if call.transcript is None:
        console.print("no transcript stored")
        return
    turns = Table(title=f"Transcript ({len(call.transcript.turns)} turns, {call.transcript.call_seconds:.1f} s)")
    for name in ("start", "end", "speaker", "leg", "text"):
        turns.add_column(name, justify="right" if name in ("start", "end") else "left")
    for turn in call.transcript.turns:
        turns.add_row(f"{turn.start:.1f}", f"{turn.end:.1f}", turn.speaker, turn.leg, turn.text)
    console.print(turns)
