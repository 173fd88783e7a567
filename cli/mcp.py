"""`callpipe mcp`: serve the MCP tools on stdio (for Claude Desktop, Claude Code, IDE agents) or, with `--http PORT`,
over streamable HTTP at `/mcp` behind the API's keys."""

from __future__ import annotations

import argparse

from shared.config import Settings


def configure(parser: argparse.ArgumentParser) -> None:
    """The `mcp` subcommand's options."""
    parser.add_argument(
        "--http",
        type=int,
        metavar="PORT",
        default=None,
        help="serve streamable HTTP at http://HOST:PORT/mcp (API keys required) instead of stdio",
    )
    parser.add_argument("--host", default="127.0.0.1", help="with --http: the address to listen on")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until the client closes stdio, or until SIGTERM/SIGINT over HTTP."""
    from api.config import ApiConfig
    from api.mcp.transports import serve_http, serve_stdio

    if args.http is None:
        await serve_stdio(settings, ApiConfig())
    else:
        await serve_http(settings, args.host, args.http, api_config=ApiConfig())
    return 0
