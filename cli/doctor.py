"""`callpipe doctor`: prints `shared.doctor`'s checklist (✓ ok, ⚠ warning, ✗ failure with its fix, - skipped)."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.doctor import Check, ResourceReport
    from shared.startup import Role

_MARKS = {"ok": "[green]✓[/]", "warn": "[yellow]⚠[/]", "fail": "[bold red]✗[/]", "skip": "[dim]-[/]"}
_STYLES = {"ok": "", "warn": "yellow", "fail": "red", "skip": "dim"}
ROLES = ("all", "api", "poll", "fetch", "transcribe", "analyze")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `doctor` options."""
    parser.add_argument(
        "--for",
        dest="role",
        choices=ROLES,
        default="all",
        help="check only what this process needs (default: everything)",
    )


async def _verify(settings: Settings) -> ResourceReport:
    from queues.bootstrap import bootstrap

    return await bootstrap(settings, verify=True, include_echo=False)


def render(checks: Sequence[Check], console: Console) -> None:
    """One line per check: mark, name, what was found and, for a warning or failure, the fix."""
    for check in checks:
        style = _STYLES[check.status]
        text = f"{escape(check.name)}: {escape(check.detail)}"
        if check.fix:
            text += f" — fix: {escape(check.fix)}"
        console.print(f"{_MARKS[check.status]} " + (f"[{style}]{text}[/]" if style else text), soft_wrap=True)
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    verdict = "[green]all good[/]" if not failed else f"[bold red]{failed} failed[/]"
    console.print(f"{verdict}, {warned} warning(s)", soft_wrap=True)


def run(args: argparse.Namespace, extra_known: Sequence[str] = ()) -> int:
    """Run every check for `--for`, print the checklist; 1 if anything failed, else 0."""
    from shared.doctor import diagnose

    role: Role = "doctor" if args.role == "all" else args.role
    checks = asyncio.run(diagnose(os.environ, verify_resources=_verify, role=role, extra_known=extra_known))
    render(checks, Console(highlight=False))
    return 1 if any(c.status == "fail" for c in checks) else 0
