"""`callpipe simulator`: the options (`configure_parser`) and the blocking entry point (`main_simulator`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path
from typing import Any

from shared.logging import get_logger
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.server import SimulatorServer

log = get_logger(__name__)

# (flag, config field, type, help) of the options that override the config file.
_OPTIONS: tuple[tuple[str, str, type, str], ...] = (
    ("--seed", "seed", int, "seed of the generated calls (same seed, same calls)"),
    ("--calls", "calls", int, "calls generated at start"),
    ("--window-hours", "window_hours", float, "calls are created in the last N hours"),
    ("--org-id", "org_id", str, "the organization id the API answers for"),
    ("--availability-delay-s", "availability_delay_s", float, "recordings are listed this long after a call ends"),
    ("--capture-pending-s", "capture_pending_s", float, "how long some calls keep captureRequested null"),
    ("--duration-scale", "duration_scale", float, "multiplies every call duration"),
    ("--sample-rate", "sample_rate", int, "8000 or 16000"),
    ("--voice", "voice", str, "auto (espeak-ng when installed), espeak or synth"),
    ("--rate-limit-per-min", "rate_limit_per_min", int, "per-client request budget (default: no limit)"),
    ("--search-page-size", "search_page_size", int, "tasks per /search page"),
    ("--client-id", "client_id", str, "OAuth client id accepted"),
    ("--client-secret", "client_secret", str, "OAuth client secret accepted"),
    ("--application-id", "application_id", str, "service app id accepted"),
    ("--refresh-token", "refresh_token", str, "refresh token valid at start"),
    ("--access-token-ttl-s", "access_token_ttl_s", int, "expires_in of access tokens"),
    ("--refresh-overlap-s", "refresh_overlap_s", float, "how long a rotated refresh token keeps working"),
    ("--public-base-url", "public_base_url", str, "base of recording URLs (default: the request's origin)"),
)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's options to a (sub)parser."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8089, help="port to listen on (0: any free port)")
    parser.add_argument("--config", type=Path, help="JSON file of SimulatorConfig fields (options override it)")
    parser.add_argument(
        "--fault", action="append", default=[], metavar="JSON",
        help='a fault rule active from the start, e.g. \'{"kind": "rate_limit", "probability": 0.1}\' (repeatable)',
    )  # fmt: skip
    for flag, field, kind, help_text in _OPTIONS:
        parser.add_argument(flag, dest=field, type=kind, default=None, help=help_text)


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """The config: the `--config` file, then each option given on the command line."""
    values: dict[str, Any] = json.loads(args.config.read_text()) if args.config else {}
    for _, field, _, _ in _OPTIONS:
        if getattr(args, field, None) is not None:
            values[field] = getattr(args, field)
    if args.fault:
        values["faults"] = [*values.get("faults", []), *(json.loads(rule) for rule in args.fault)]
    return SimulatorConfig.model_validate(values)


async def serve(config: SimulatorConfig, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = SimulatorServer(config, host=host, port=port)
    handle = await server.start()
    log.info(
        "simulator_ready", url=handle.base_url, org_id=config.org_id, client_id=config.client_id,
        application_id=config.application_id, calls=len(handle.state.calls),
    )  # fmt: skip
    try:
        await stop.wait()
    finally:
        await server.stop()


def main_simulator(args: argparse.Namespace) -> int:
    """Run the simulator in the foreground (the `callpipe simulator` command)."""
    asyncio.run(serve(config_from_args(args), args.host, args.port))
    return 0
