"""`callpipe` subcommands: api, worker, bootstrap, journey, dlq, analytics, doctor, wxcc, dev, demo, chaos, local-aws,
simulator, openai-fake.

Every command that reads the environment goes through `_settings(role)`: a configuration mistake prints one line per
problem (the variable, what is wrong, the fix) and exits with code 2, before any connection is made; unknown
`CALLPIPE_*` variables get a warning line each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from collections.abc import Sequence

from queues.envelope import Kind
from shared.config import Settings
from shared.logging import configure_logging, get_logger
from shared.startup import ConfigurationError, Problem, Role, check_for, load_settings, unknown_variables

log = get_logger(__name__)

CONFIGURATION_ERROR = 2
"""Exit code of a process that refused to start because of its configuration."""


def _api_variables() -> list[str]:
    """The variables the API's own settings read (`CALLPIPE_API_*`): known, not misspelt."""
    from api.config import ApiConfig, OidcConfig  # access control (issue 20): OidcConfig reads CALLPIPE_OIDC_*

    oidc = [f"CALLPIPE_OIDC_{name.upper()}" for name in OidcConfig.model_fields]
    return [f"CALLPIPE_API_{name.upper()}" for name in ApiConfig.model_fields] + oidc


def _api_config_problems() -> list[Problem]:
    """`CALLPIPE_API_*` values `ApiConfig` rejects, one `Problem` each (it is read again when the API starts)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from api.config import ApiConfig

    try:
        ApiConfig()
    except ValidationError as exc:
        return [
            Problem(
                f"CALLPIPE_API_{'.'.join(str(p) for p in e['loc']).upper()}",
                str(e["msg"]).removeprefix("Value error, "),
                "fix or remove it (README.md, The journey API)",
            )
            for e in exc.errors(include_url=False)
        ]
    except SettingsError as exc:
        return [Problem("CALLPIPE_API_*", str(exc), 'write list values as JSON, e.g. ["…"]')]
    return []


def report_problems(problems: list[Problem]) -> None:
    """Print each problem as one line on stderr; exit with `CONFIGURATION_ERROR` if any is an error."""
    for problem in problems:
        print(f"callpipe: {problem.severity}: {problem.line()}", file=sys.stderr, flush=True)
    if any(p.severity == "error" for p in problems):
        raise SystemExit(CONFIGURATION_ERROR)


def _settings(role: Role | None = None) -> Settings:
    """The settings from the environment, checked for `role`; logging configured from them.

    A mistake prints one line per problem and exits with code 2 (no traceback, nothing started).
    """
    problems = unknown_variables(os.environ, _api_variables())
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        report_problems(problems + exc.problems)
        raise SystemExit(CONFIGURATION_ERROR) from None
    if role is not None:
        problems += check_for(role, settings)
    if role == "api":
        problems += _api_config_problems()
    report_problems(problems)
    configure_logging(settings.log_level, settings.log_format, secrets=settings.secret_values())
    return settings


def _cmd_worker(args: argparse.Namespace) -> int:
    from workers.runner import serve_stage

    settings = _settings(args.stage)
    asyncio.run(serve_stage(Kind(args.stage), settings))
    return 0


def _cmd_bootstrap(args: argparse.Namespace) -> int:
    from queues.bootstrap import bootstrap

    settings = _settings()
    report = asyncio.run(bootstrap(settings, verify=args.verify, include_echo=not args.no_echo))
    for line in report.created:
        print(f"created   {line}")
    for line in report.updated:
        print(f"updated   {line}")
    for line in report.problems:
        print(f"PROBLEM   {line}")
    print(
        f"{settings.name_prefix}: {len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.problems)} problems"
    )
    return 1 if report.problems else 0


def _cmd_local_aws(args: argparse.Namespace) -> int:
    from simulator.aws import LocalAws

    settings = _settings()
    with LocalAws(port=args.port) as aws:
        print(f"export AWS_ENDPOINT_URL={aws.endpoint}", flush=True)
        print("export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test", flush=True)
        if args.bootstrap:
            from queues.bootstrap import bootstrap

            os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
            asyncio.run(bootstrap(settings.model_copy(update={"aws_endpoint_url": aws.endpoint})))
        done = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: done.set())
        log.info("local_aws_ready", endpoint=aws.endpoint)
        done.wait()
    return 0


def _cmd_simulator(args: argparse.Namespace) -> int:
    from simulator.wxcc.cli import main_simulator

    _settings()
    return main_simulator(args)


def _cmd_openai_fake(args: argparse.Namespace) -> int:
    from simulator.openai_fake.app import serve_openai_fake

    _settings()
    asyncio.run(serve_openai_fake(args.wxcc_url, args.host, args.port))
    return 0


def _cmd_journey(args: argparse.Namespace) -> int:
    from cli.journey import run

    settings = _settings("journey" if args.journey_command == "start" else None)
    return asyncio.run(run(args, settings))


def _cmd_dlq(args: argparse.Namespace) -> int:
    from cli.dlq import run

    return asyncio.run(run(args, _settings()))


def _cmd_analytics(args: argparse.Namespace) -> int:
    from cli.analytics import run

    return asyncio.run(run(args, _settings()))


# access control (issue 20)
def _cmd_audit(args: argparse.Namespace) -> int:
    from cli.audit import run

    return asyncio.run(run(args, _settings()))


def _cmd_license(args: argparse.Namespace) -> int:  # license (issue 14)
    from cli.license import run

    vendor_only = args.license_command == "keygen"
    return asyncio.run(run(args, None if vendor_only else _settings()))


def _cmd_privacy(args: argparse.Namespace) -> int:  # privacy (issue 16)
    from cli.privacy import run

    return asyncio.run(run(args, _settings()))


def _cmd_api(args: argparse.Namespace) -> int:
    from api.server import run_api

    settings = _settings("api")
    asyncio.run(run_api(settings, args.host, args.port))
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from cli.doctor import run

    configure_logging("ERROR", "console")  # the checklist is the output; the clients' own warnings would repeat it
    return run(args, extra_known=_api_variables())


def _cmd_wxcc(args: argparse.Namespace) -> int:
    from cli.wxcc import run

    return asyncio.run(run(args, _settings("wxcc")))


def _cmd_webhooks(args: argparse.Namespace) -> int:  # webhooks (issue 17)
    from cli.webhooks import run

    return asyncio.run(run(args, _settings("wxcc")))


def _cmd_dev(args: argparse.Namespace) -> int:
    from cli.devstack import serve_dev
    from simulator.wxcc.config import SimulatorConfig

    configure_logging("WARNING", "console")
    config = SimulatorConfig(calls=args.calls, window_hours=24, duration_scale=0.12, availability_delay_s=5)
    asyncio.run(serve_dev(config, aws_port=args.aws_port, api_port=args.api_port))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from cli.demo import run_demo

    configure_logging("WARNING", "console")
    return run_demo()


def _cmd_chaos(args: argparse.Namespace) -> int:
    from cli.chaos import ChaosConfig, run_chaos

    configure_logging("WARNING", "console")
    config = ChaosConfig(
        calls=args.calls, kills=args.kills, seed=args.seed, logs_dir=args.logs_dir, kill_poll_first=not args.spare_poll
    )
    report = asyncio.run(run_chaos(config, progress=lambda line: print(line, flush=True)))
    for problem in report.problems:
        print(f"PROBLEM   {problem}")
    if report.logs_dir:
        print(f"worker logs: {report.logs_dir}")
    print(report.summary_line())
    return 0 if report.ok else 1


# --- MCP (issue 15) -------------------------------------------------------------------------------------------------
def _cmd_mcp(args: argparse.Namespace) -> int:
    from cli.mcp import run

    return asyncio.run(run(args, _settings("api")))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="callpipe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    worker = sub.add_parser("worker", help="run one stage's queue consumer until SIGTERM")
    worker.add_argument("--stage", required=True, choices=[k.value for k in Kind])
    worker.set_defaults(func=_cmd_worker)

    boot = sub.add_parser("bootstrap", help="create every queue, DLQ, table and bucket (idempotent)")
    boot.add_argument("--verify", action="store_true", help="only check that everything exists as the code expects")
    boot.add_argument("--no-echo", action="store_true", help="leave out the development `echo` stage")
    boot.set_defaults(func=_cmd_bootstrap)

    local = sub.add_parser("local-aws", help="serve a local AWS endpoint (moto) on 127.0.0.1 until Ctrl-C")
    local.add_argument("--port", type=int, default=4566)
    local.add_argument("--bootstrap", action="store_true", help="create the topology once it is up")
    local.set_defaults(func=_cmd_local_aws)

    from simulator.wxcc.cli import configure_parser as configure_simulator

    simulator = sub.add_parser("simulator", help="serve the WXCC API simulator (tokens, search, tasks, captures)")
    configure_simulator(simulator)
    simulator.set_defaults(func=_cmd_simulator)

    fake = sub.add_parser("openai-fake", help="serve the OpenAI-compatible fake that transcribes simulator calls")
    fake.add_argument("--wxcc-url", default="http://127.0.0.1:8089", help="the WXCC simulator to read scripts from")
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, default=8090)
    fake.set_defaults(func=_cmd_openai_fake)

    from cli.journey import configure as configure_journey

    journey = sub.add_parser("journey", help="start a journey or show its status")
    configure_journey(journey)
    journey.set_defaults(func=_cmd_journey)

    from cli.dlq import configure as configure_dlq

    dlq = sub.add_parser("dlq", help="inspect a stage's dead-letter queue or replay it to the stage")
    configure_dlq(dlq)
    dlq.set_defaults(func=_cmd_dlq)

    from cli.analytics import configure as configure_analytics

    analytics = sub.add_parser("analytics", help="analysed calls: summary, call list, one call (tables or --json)")
    configure_analytics(analytics)
    analytics.set_defaults(func=_cmd_analytics)

    # access control (issue 20)
    from cli.audit import configure as configure_audit

    audit = sub.add_parser("audit", help="the audit trail: who changed what, when, with what outcome")
    configure_audit(audit)
    audit.set_defaults(func=_cmd_audit)

    from cli.doctor import configure as configure_doctor

    doctor = sub.add_parser(
        "doctor", help="check the configuration against the live services (AWS, WXCC, OpenAI) and print a checklist"
    )
    configure_doctor(doctor)
    doctor.set_defaults(func=_cmd_doctor)

    from cli.wxcc import configure as configure_wxcc

    wxcc = sub.add_parser("wxcc", help="WXCC maintenance: reset-token")
    configure_wxcc(wxcc)
    wxcc.set_defaults(func=_cmd_wxcc)

    from cli.webhooks import configure as configure_webhooks  # webhooks (issue 17)

    webhooks = sub.add_parser("webhooks", help="the WXCC capture:available subscription: register, list, delete")
    configure_webhooks(webhooks)
    webhooks.set_defaults(func=_cmd_webhooks)

    from cli.license import configure as configure_license  # license (issue 14)

    license_cmd = sub.add_parser("license", help="the org's license and usage; vendor: keygen, issue")
    configure_license(license_cmd)
    license_cmd.set_defaults(func=_cmd_license)

    from cli.privacy import configure as configure_privacy  # privacy (issue 16)

    privacy = sub.add_parser("privacy", help="erase a customer's or a window's calls everywhere")
    configure_privacy(privacy)
    privacy.set_defaults(func=_cmd_privacy)

    api = sub.add_parser("api", help="serve the journey API until SIGTERM")
    api.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a container's port is published by its platform
    api.add_argument("--port", type=int, default=8080)
    api.set_defaults(func=_cmd_api)

    dev = sub.add_parser(
        "dev", help="local AWS + WXCC simulator + OpenAI fake + API + every stage's worker, until Ctrl-C"
    )
    dev.add_argument("--calls", type=int, default=40, help="simulated calls in the last 24 hours")
    dev.add_argument("--aws-port", type=int, default=4566)
    dev.add_argument("--api-port", type=int, default=8080)
    dev.set_defaults(func=_cmd_dev)

    chaos = sub.add_parser(
        "chaos", help="one journey through real worker processes under WXCC/OpenAI faults and SIGKILLs, then checks"
    )
    chaos.add_argument("--calls", type=int, default=200, help="simulated calls in the journey's window")
    chaos.add_argument("--kills", type=int, default=3, help="worker processes SIGKILLed mid-work")
    chaos.add_argument("--seed", type=int, default=1)
    chaos.add_argument("--logs-dir", default=None, help="keep the worker logs here")
    chaos.add_argument("--spare-poll", action="store_true", help="kill only fetch/transcribe/analyze workers")
    chaos.set_defaults(func=_cmd_chaos)

    from cli.mcp import configure as configure_mcp  # MCP (issue 15)

    mcp = sub.add_parser("mcp", help="serve the MCP tools for AI agents on stdio, or over HTTP with --http PORT")
    configure_mcp(mcp)
    mcp.set_defaults(func=_cmd_mcp)

    demo = sub.add_parser("demo", help="simulated calls through the whole pipeline on a local AWS endpoint")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `callpipe` console script."""
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
