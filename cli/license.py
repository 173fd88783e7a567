"""`callpipe license status|activate|usage|resume-held|keygen|issue`: the org's license from the terminal, and the
vendor's key tools (a signing key from a file or Secrets Manager, never printed or logged).

status/activate/usage/resume-held read and write the license table directly (no API server is needed) through
`shared.license.service`, the same service the API serves; an activation from here is recorded in the audit trail.
A refused key is one line on stderr with its code and exit code 1; a bad argument exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from queues.claimcheck import ClaimCheck
from queues.directory import QueueDirectory
from queues.producer import Producer
from queues.resume import held_sender
from shared.aws import AwsClients
from shared.config import Settings
from shared.license.errors import LicenseError
from shared.license.keys import ALL_FEATURES, Feature
from shared.license.models import LicenseStatus
from shared.license.service import MAX_USAGE_MONTHS, LicenseService
from shared.license.vendor import issue_key, key_from_file, key_from_secret, write_new_key
from shared.logging import get_logger
from shared.resources import DataResources

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

log = get_logger(__name__)

REFUSED = 1
BAD_ARGUMENTS = 2


def configure(parser: argparse.ArgumentParser) -> None:
    """The `license` subcommands."""
    sub = parser.add_subparsers(dest="license_command", required=True)

    def with_org(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--org", help="the WXCC org id (default: CALLPIPE_WXCC_ORG_ID)")
        p.add_argument("--json", action="store_true", help="print JSON instead of text")
        return p

    with_org(sub.add_parser("status", help="the org's license, this month's usage, remaining, warnings, held calls"))
    activate = with_org(sub.add_parser("activate", help="activate a key (held calls it admits resume)"))
    source = activate.add_mutually_exclusive_group(required=True)
    source.add_argument("--key", help="the key text (CPL1.….…)")
    source.add_argument("--key-file", type=Path, help="a file holding the key text")
    usage = with_org(sub.add_parser("usage", help="metered usage per month, this month first"))
    usage.add_argument("--months", type=int, default=6, help=f"how many months (1-{MAX_USAGE_MONTHS})")
    with_org(sub.add_parser("resume-held", help="resume held calls, as many as the license admits now"))

    keygen = sub.add_parser("keygen", help="vendor: make a signing key (private PEM file, prints the public key)")
    keygen.add_argument("--out", type=Path, required=True, help="where to write the private key (must not exist)")

    issue = sub.add_parser("issue", help="vendor: issue a signed license key (prints the key text)")
    signer = issue.add_mutually_exclusive_group(required=True)
    signer.add_argument("--private-key-file", type=Path, help="the signing key's PEM file")
    signer.add_argument("--private-key-secret", help="a Secrets Manager secret holding the signing key's PEM")
    issue.add_argument("--customer", required=True)
    issue.add_argument("--org", dest="orgs", action="append", required=True, help="an allowed WXCC org id (repeat)")
    issue.add_argument("--plan", default="business")
    issue.add_argument("--calls-per-month", type=int, default=None, help="analysed calls per month (default: none)")
    issue.add_argument("--audio-hours-per-month", type=float, default=None)
    issue.add_argument(
        "--features", default=",".join(ALL_FEATURES), help=f"comma-separated, of {', '.join(ALL_FEATURES)}"
    )
    issue.add_argument("--days", type=float, default=365, help="validity in days from --not-before (default 365)")
    issue.add_argument("--grace-days", type=int, default=0)
    issue.add_argument("--not-before", help="ISO date-time the key starts (default: now)")


async def run(args: argparse.Namespace, settings: Settings | None) -> int:
    """Run one `license` subcommand; the exit code."""
    command = args.license_command
    if command == "keygen":
        try:
            public = write_new_key(args.out)
        except FileExistsError:
            return _fail(f"{args.out} exists: refusing to overwrite a signing key", BAD_ARGUMENTS)
        print(f"private key written to {args.out} (keep it secret; store it in a secrets manager)")
        print(f"CALLPIPE_LICENSE_PUBLIC_KEY={public}")
        return 0
    assert settings is not None
    if command == "issue":
        return await _issue(args, settings)
    org = args.org or settings.wxcc_org_id
    if not org:
        return _fail("--org is required: CALLPIPE_WXCC_ORG_ID is not set", BAD_ARGUMENTS)
    clients = AwsClients(settings)
    async with clients.dynamodb() as ddb, clients.sqs() as sqs, clients.s3() as s3:
        resources = DataResources(settings.name_prefix)
        producer = Producer(
            sqs, QueueDirectory(sqs, settings.name_prefix), ClaimCheck(s3, resources.messages_bucket.name)
        )

        service = LicenseService(settings, ddb, send_held=held_sender(producer))
        if command == "status":
            return _show(await service.status(org), args.json)
        if command == "usage":
            if not 1 <= args.months <= MAX_USAGE_MONTHS:
                return _fail(f"--months must be between 1 and {MAX_USAGE_MONTHS}", BAD_ARGUMENTS)
            months = await service.usage(org, args.months)
            if args.json:
                print(json.dumps([m.model_dump() for m in months]))
            else:
                print(f"{'month':8}  {'analysed':>8}  {'admitted':>8}  {'audio h':>8}")
                for m in months:
                    hours = m.billed_audio_seconds / 3600
                    print(f"{m.month:8}  {m.analysed_calls:8d}  {m.reserved_calls:8d}  {hours:8.2f}")
            return 0
        if command == "resume-held":
            resumed = await service.resume_held(org)
            print(json.dumps({"org_id": org, "resumed": resumed}) if args.json else f"resumed {resumed} held call(s)")
            return 0
        key = args.key if args.key is not None else _read_key_file(args.key_file)
        if key is None:
            return BAD_ARGUMENTS
        try:
            status = await service.activate(org, key, by="cli")
        except LicenseError as exc:
            await _audit(s3, settings, org, None, exc.code)
            return _fail(f"{exc.code}: {exc.message}", REFUSED)
        await _audit(s3, settings, org, status.license_id, None)
        return _show(status, args.json)


async def _audit(s3: S3Client, settings: Settings, org: str, license_id: str | None, refused: str | None) -> None:
    """Record a CLI activation (or its refusal) in the audit trail; a trail that cannot be written is logged."""
    from shared.audit import AuditEvent, AuditLog, FrontDoor, Outcome, cli_actor

    targets = {"org_id": org, **({"license_id": license_id} if license_id else {})}
    event = AuditEvent(
        actor=cli_actor(),
        front_door=FrontDoor.CLI,
        action="license.activate",
        targets=targets,
        outcome=Outcome.DENIED if refused else Outcome.OK,
        detail=refused,
    )
    try:
        await AuditLog.for_prefix(s3, settings.name_prefix).write(event)
    except Exception as exc:
        log.error("license_audit_not_written", error=str(exc)[:200])


def _read_key_file(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}", BAD_ARGUMENTS)
        return None


async def _issue(args: argparse.Namespace, settings: Settings) -> int:
    features = [f.strip() for f in args.features.split(",") if f.strip()]
    unknown = sorted(set(features) - set(get_args(Feature)))
    if unknown:
        return _fail(f"unknown feature(s) {', '.join(unknown)}: use {', '.join(ALL_FEATURES)}", BAD_ARGUMENTS)
    not_before = None
    if args.not_before:
        try:
            when = datetime.fromisoformat(args.not_before)
        except ValueError:
            return _fail(f"--not-before {args.not_before!r} is not an ISO date-time", BAD_ARGUMENTS)
        not_before = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    try:
        if args.private_key_file is not None:
            private = key_from_file(args.private_key_file)
        else:
            private = await key_from_secret(settings, args.private_key_secret)
        doc, text = issue_key(
            private,
            customer=args.customer,
            org_ids=args.orgs,
            plan=args.plan,
            calls_per_month=args.calls_per_month,
            audio_hours_per_month=args.audio_hours_per_month,
            features=features,
            days=args.days,
            grace_days=args.grace_days,
            not_before=not_before,
        )
    except ValueError as exc:
        return _fail(str(exc).splitlines()[0], BAD_ARGUMENTS)
    log.info("license_issued", license_id=doc.license_id, customer=doc.customer, orgs=list(doc.org_ids))
    print(text)
    return 0


def _show(status: LicenseStatus, as_json: bool) -> int:
    if as_json:
        print(status.model_dump_json())
        return 0
    limit = "unlimited" if status.calls_per_month is None else str(status.calls_per_month)
    expires = datetime.fromtimestamp(status.expires_at, UTC).date().isoformat()
    lines = [
        f"org        {status.org_id}",
        f"state      {status.state}" + (f" ({status.reason})" if status.reason else ""),
        f"license    {status.license_id}  {status.plan}  {status.customer}  expires {expires}",
        f"period     {status.period}: {status.usage.analysed_calls} analysed, {status.usage.reserved_calls} admitted "
        f"of {limit}" + (f"  WARNING {status.warning} %" if status.warning else ""),
        f"held       {status.held_calls}",
    ]
    print("\n".join(lines))
    return 0


def _fail(message: str, code: int) -> int:
    print(f"callpipe license: {message}", file=sys.stderr, flush=True)
    return code
