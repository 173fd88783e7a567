"""`callpipe wxcc reset-token`: forget the shared WXCC token so the configured credentials seed it again."""

from __future__ import annotations

import argparse
import sys

from shared.aws import AwsClients
from shared.config import Settings
from shared.resources import DataResources
from shared.wxcc.tokens import reset_token


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `wxcc` subcommands."""
    sub = parser.add_subparsers(dest="wxcc_command", required=True)
    reset = sub.add_parser(
        "reset-token",
        help="delete the stored WXCC token (access + rotated refresh token); the configured one seeds it again",
    )
    reset.add_argument(
        "--force",
        action="store_true",
        help="in refresh_token mode, reset even though CALLPIPE_WXCC_REFRESH_TOKEN is not set",
    )


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Carry out a `wxcc` subcommand; says what it did."""
    refresh_mode = settings.wxcc_auth_mode == "refresh_token"
    configured = settings.wxcc_refresh_token is not None and bool(settings.wxcc_refresh_token.get_secret_value())
    if refresh_mode and not configured and not args.force:
        print(
            "callpipe: error: CALLPIPE_WXCC_REFRESH_TOKEN: is not set, so nothing could seed the store again after "
            "the reset — set a fresh refresh token first (or pass --force)",
            file=sys.stderr,
        )
        return 2
    table = DataResources(settings.name_prefix).coordination_table.name
    client = settings.wxcc_client_id or settings.wxcc_application_id
    async with AwsClients(settings).dynamodb() as ddb:
        existed = await reset_token(ddb, table, settings)
    if not existed:
        print(f"no stored WXCC token for client {client} in {table}: nothing to reset")
        return 0
    seed = "CALLPIPE_WXCC_REFRESH_TOKEN" if refresh_mode else "the service app's credentials"
    print(
        f"deleted the stored WXCC token of client {client} from {table}; "
        f"the next worker that needs a token gets one from {seed}"
    )
    return 0
