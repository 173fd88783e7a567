"""Live progress of a journey in the terminal (rich progress bars per stage), then a summary table."""

from __future__ import annotations

import asyncio
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.journeys import JourneyState, JourneyStatus, JourneyStore

STAGES = ("fetch", "transcribe", "analyze")
console = Console()


def _failed(status: JourneyStatus) -> int:
    return int(sum(status.count(s, "failed") for s in STAGES))


async def watch(
    journeys: JourneyStore, journey_id: str, *, timeout_s: float = 3600, every_s: float = 1.0
) -> JourneyStatus | None:
    """Show a bar per stage until the journey leaves RUNNING (or the timeout); returns its last status."""
    columns = (TextColumn("{task.description:>12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    deadline = time.monotonic() + timeout_s
    status = await journeys.status(journey_id)
    with Progress(*columns, console=console, transient=False) as progress:
        bars = {name: progress.add_task(name, total=None) for name in ("discovered", *STAGES)}
        while status is not None:
            total = max(
                1, status.discovered - int(status.count("poll", "skipped") + status.count("poll", "skipped_duplicate"))
            )
            progress.update(bars["discovered"], completed=status.discovered, total=status.discovered or None)
            for stage in STAGES:
                progress.update(bars[stage], completed=int(status.count(stage, "done")), total=total)
            if status.journey.state is not JourneyState.RUNNING or time.monotonic() > deadline:
                break
            await asyncio.sleep(every_s)  # the journey's counters are polled, as an operator's dashboard would
            status = await journeys.status(journey_id)
    return status


def print_summary(status: JourneyStatus) -> None:
    """A table of what the journey did."""
    table = Table(title=f"journey {status.journey.id}: {status.journey.state.value}")
    table.add_column("calls")
    table.add_column("count", justify="right")
    rows = (
        ("found", status.discovered),
        ("analysed", int(status.count("analyze", "done"))),
        ("skipped (not recorded)", int(status.count("poll", "skipped"))),
        ("skipped (done before)", int(status.count("poll", "skipped_duplicate"))),
        ("failed", _failed(status)),
    )
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
