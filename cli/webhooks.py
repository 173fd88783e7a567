"""`callpipe webhooks register|list|delete`: the WXCC subscription that pushes `capture:available` to the API.

`register` generates a fresh secret, stores it in Secrets Manager (`{prefix}/wxcc-webhook-secret`, or
CALLPIPE_WEBHOOK_SECRET_NAME; the one it replaces stays valid as `previous`), then registers the subscription with
WXCC's Subscriptions API. The secret is printed nowhere and logged nowhere: only its name is shown.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from shared.aws import AwsClients
from shared.config import Settings
from shared.logging import redactor
from shared.resources import DataResources
from shared.webhooks.secrets import new_secret, secret_name, secretsmanager, store_secret
from shared.wxcc.budget import RateBudget
from shared.wxcc.client import WxccClient
from shared.wxcc.errors import WxccPermanent, WxccRetryable
from shared.wxcc.subscriptions import Subscription, SubscriptionsApi, check_destination
from shared.wxcc.tokens import TokenProvider

DEFAULT_NAME = "callpipe capture:available"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `webhooks` subcommands."""
    sub = parser.add_subparsers(dest="webhooks_command", required=True)
    register = sub.add_parser("register", help="generate a secret, store it in Secrets Manager, subscribe WXCC")
    register.add_argument("--url", default=None, help="public HTTPS URL of …/api/v1/webhooks/wxcc (default: "
                          "CALLPIPE_WEBHOOK_URL)")  # fmt: skip
    register.add_argument("--name", default=DEFAULT_NAME, help="the subscription's name (4-64 characters)")
    register.add_argument("--allow-http", action="store_true", help="accept an http:// URL (a local simulator only)")
    sub.add_parser("list", help="the org's subscriptions")
    delete = sub.add_parser("delete", help="delete a subscription (WXCC stops sending to it)")
    delete.add_argument("subscription_id")


@asynccontextmanager
async def subscriptions_api(settings: Settings) -> AsyncIterator[SubscriptionsApi]:
    """The Subscriptions API through a WXCC client sharing the workers' token store and request budget."""
    table = DataResources(settings.name_prefix).coordination_table.name
    async with AwsClients(settings).dynamodb() as ddb, httpx.AsyncClient(timeout=settings.wxcc_timeout_s) as http:
        key = settings.wxcc_client_id or settings.wxcc_application_id or "default"
        budget = RateBudget(
            ddb, table, key, per_minute=settings.wxcc_rate_per_minute, window_s=settings.wxcc_rate_window_s
        )
        yield SubscriptionsApi(WxccClient(http, TokenProvider(ddb, table, http, settings), settings, budget=budget))


def _line(s: Subscription) -> str:
    return f"{s.id}  {s.status or '-'}  {','.join(s.event_types)}  {s.destination_url}  {s.name}"


async def register(settings: Settings, *, url: str, name: str, allow_http: bool = False) -> Subscription:
    """Store a new secret, then subscribe `url` to capture:available signed with it."""
    destination = check_destination(url, allow_http=allow_http)
    secret = new_secret()
    redactor.add([secret])  # scrubbed from any log line, should one ever carry it
    async with secretsmanager(settings) as client:
        await store_secret(client, secret_name(settings), secret)
    async with subscriptions_api(settings) as api:
        return await api.create(name=name, destination_url=destination, secret=secret)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out a `webhooks` subcommand; says what it did."""
    try:
        if args.webhooks_command == "register":
            url = args.url or settings.webhook_url
            if not url:
                print("callpipe: error: give --url or set CALLPIPE_WEBHOOK_URL", file=sys.stderr)
                return 2
            made = await register(settings, url=url, name=args.name, allow_http=args.allow_http)
            print(f"registered subscription {made.id} ({', '.join(made.event_types)}) → {made.destination_url}")
            print(f"its secret is stored in Secrets Manager as {secret_name(settings)} (the API reads it from there)")
            return 0
        async with subscriptions_api(settings) as api:
            if args.webhooks_command == "list":
                found = await api.list()
                for item in found:
                    print(_line(item))
                if not found:
                    print("no subscriptions")
                return 0
            await api.delete(args.subscription_id)
            print(f"deleted subscription {args.subscription_id}")
            return 0
    except ValueError as exc:
        print(f"callpipe: error: {exc}", file=sys.stderr)
        return 2
    except (WxccPermanent, WxccRetryable) as exc:
        print(f"callpipe: error: WXCC refused: {exc}", file=sys.stderr)
        return 1
