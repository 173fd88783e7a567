"""Journey reports: a summary (JSON), one CSV row per call, a self-contained HTML page, and Athena log lines.

Built from the journey store only: the META and STAGE# counters give the totals, the `JOB#{task_id}` items (one per
call, holding its latest outcome, reason, billed seconds and tokens) give the rows. The rows are read a query page at
a time and written to temporary files, so a journey of a million calls costs disk, not memory; only the summary
(counters, outcome counts, the most frequent failure reasons) is held.

Where they go (the results bucket: the code has no logs bucket; Terraform's `{prefix}-logs` takes S3 and ALB access
logs only, SSE-S3, with a bucket policy for those services):
  reports/{journey_id}/report.json   the summary
  reports/{journey_id}/report.csv    one row per call: task_id, outcome, stage, reason, billed seconds, tokens, …
  reports/{journey_id}/report.html   summary table, an inline SVG chart of outcomes, stages, failure reasons
  analytics/journey_logs/dt={day the journey was created}/{journey_id}.jsonl
                                     one JSON line per call, the Glue table `journey_logs` (terraform/modules/analytics)
Every key depends on the journey only: writing again (a retry, a rebuild) replaces the same objects.
"""

from __future__ import annotations

import csv
import html
import io
import json
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from pydantic import BaseModel, Field

from shared.journeys import STAGES, Journey, JourneyStatus, JourneyStore
from shared.logging import get_logger
from shared.storage import Storage

log = get_logger(__name__)

FORMATS: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
CSV_COLUMNS = ("task_id", "outcome", "stage", "reason", "billed_audio_seconds", "tokens", "analysis_key", "at")
TOP_REASONS = 20
MAX_DISTINCT_REASONS = 10_000  # past this many different reasons, the rest are counted under one "other" entry
POLL_JOB_PREFIX = "poll:"  # a JOB# item of a poll window that failed (not a call)
CHUNK = 1024 * 1024


def report_key(journey_id: str, fmt: str) -> str:
    """Where a journey's report in one format is stored."""
    return f"reports/{journey_id}/report.{fmt}"


def journey_log_key(journey: Journey) -> str:
    """The journey's execution-log lines, partitioned by the UTC day it was created (stable across rebuilds)."""
    day = journey.created_at[:10] or datetime.now(UTC).strftime("%Y-%m-%d")
    return f"analytics/journey_logs/dt={day}/{journey.id}.jsonl"


class FailureReason(BaseModel):
    """How many calls of the journey failed (or were skipped) at a stage for one reason."""

    stage: str
    reason: str
    calls: int


class ReportSummary(BaseModel):
    """A journey's report: its totals, outcomes per call and most frequent failure reasons."""

    journey_id: str
    org_id: str
    kind: str
    state: str
    final: bool = Field(description="the journey is no longer RUNNING: these figures will not change")
    created_at: str
    completed_at: str | None
    generated_at: str
    pipeline_version: int
    discovered: int = Field(description="calls the poll stage found")
    analyzed: int
    skipped: int = Field(description="not recorded, or already analysed at this pipeline version")
    skipped_duplicate: int = Field(description="already claimed by another journey")
    failed: int
    in_progress: int
    calls: int = Field(description="rows of the CSV: calls with a per-call record")
    billed_audio_seconds: float
    tokens: int
    stages: dict[str, dict[str, float]] = Field(description="every stage's counters")
    outcomes: dict[str, int] = Field(description="calls per outcome, from the per-call records")
    failure_reasons: list[FailureReason] = Field(description=f"at most {TOP_REASONS}, most frequent first")


def call_row(job: dict[str, Any]) -> dict[str, Any]:
    """One call's CSV row from its `JOB#` record."""
    outcome = str(job.get("outcome", ""))
    stage = job.get("stage") or {"analyzed": "analyze", "skipped": "poll", "skipped_duplicate": "poll"}.get(outcome, "")
    at = job.get("at")
    return {
        "task_id": str(job["task_id"]),
        "outcome": outcome,
        "stage": str(stage),
        "reason": str(job.get("reason") or ""),
        "billed_audio_seconds": float(job.get("billed_audio_s") or 0.0),
        "tokens": int(job.get("tokens") or 0),
        "analysis_key": str(job.get("analysis_key") or ""),
        "at": datetime.fromtimestamp(float(at), UTC).isoformat(timespec="milliseconds") if at is not None else "",
    }


def log_line(journey: Journey, row: dict[str, Any]) -> dict[str, Any]:
    """One execution-log line (the Glue table `journey_logs`): the call's row with its journey's identity."""
    return {
        "journey_id": journey.id,
        "org_id": journey.org_id,
        "journey_kind": journey.kind.value,
        "pipeline_version": journey.pipeline_version,
        "task_id": row["task_id"],
        "outcome": row["outcome"],
        "stage": row["stage"] or None,
        "reason": row["reason"] or None,
        "billed_audio_seconds": row["billed_audio_seconds"],
        "tokens": row["tokens"],
        "analysis_key": row["analysis_key"] or None,
        "at": row["at"] or None,
    }


@dataclass
class BuiltReport:
    """A report just built: the summary, and the CSV and log lines in temporary files (close it when done)."""

    summary: ReportSummary
    csv_file: IO[bytes]
    log_file: IO[bytes]
    log_key: str

    def close(self) -> None:
        self.csv_file.close()
        self.log_file.close()


async def build_report(journeys: JourneyStore, journey_id: str) -> BuiltReport | None:
    """Read the journey and every per-call record; None when there is no such journey."""
    status = await journeys.status(journey_id)
    if status is None:
        return None
    journey = status.journey
    csv_file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by BuiltReport.close)
    log_file = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        text = io.TextIOWrapper(csv_file, encoding="utf-8", newline="", write_through=True)
        writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        outcomes: Counter[str] = Counter()
        reasons: Counter[tuple[str, str]] = Counter()
        calls = 0
        async for page in journeys.job_pages(journey_id):
            for job in page:
                row = call_row(job)
                failing = row["outcome"] in ("failed", "skipped") and row["reason"]
                if failing:
                    reason = (row["stage"], row["reason"][:300])
                    if reason in reasons or len(reasons) < MAX_DISTINCT_REASONS:
                        reasons[reason] += 1
                    else:
                        reasons[(row["stage"], "other reasons")] += 1
                if row["task_id"].startswith(POLL_JOB_PREFIX):
                    continue  # a poll window's failure: counted among the reasons, not a call
                calls += 1
                outcomes[row["outcome"]] += 1
                writer.writerow(row)
                line = json.dumps(log_line(journey, row), separators=(",", ":"), ensure_ascii=False) + "\n"
                log_file.write(line.encode())
        text.detach()  # leave csv_file open
        summary = _summary(status, calls, outcomes, reasons)
        csv_file.seek(0)
        log_file.seek(0)
        return BuiltReport(summary, csv_file, log_file, journey_log_key(journey))
    except BaseException:
        csv_file.close()
        log_file.close()
        raise


def _summary(
    status: JourneyStatus, calls: int, outcomes: Counter[str], reasons: Counter[tuple[str, str]]
) -> ReportSummary:
    journey = status.journey
    failed = int(sum(status.count(s, "failed") for s in STAGES))
    final = journey.state.value != "RUNNING"
    return ReportSummary(
        journey_id=journey.id,
        org_id=journey.org_id,
        kind=journey.kind.value,
        state=journey.state.value,
        final=final,
        created_at=journey.created_at,
        completed_at=(journey.state_changed_at or None) if final else None,
        generated_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        pipeline_version=journey.pipeline_version,
        discovered=status.discovered,
        analyzed=int(status.count("analyze", "done")),
        skipped=int(status.count("poll", "skipped") + status.count("fetch", "skipped")),
        skipped_duplicate=int(status.count("poll", "skipped_duplicate")),
        failed=failed,
        in_progress=max(0, status.discovered - status.terminal),
        calls=calls,
        billed_audio_seconds=round(status.count("transcribe", "billed_audio_s"), 3),
        tokens=int(status.count("analyze", "tokens")),
        stages={s: status.counters[s] for s in STAGES if s in status.counters},
        outcomes=dict(outcomes.most_common()),
        failure_reasons=[
            FailureReason(stage=stage, reason=reason, calls=n)
            for (stage, reason), n in reasons.most_common(TOP_REASONS)
        ],
    )


def summary_json(summary: ReportSummary) -> bytes:
    """The JSON report."""
    return summary.model_dump_json(indent=2).encode()


_OUTCOME_BARS = (
    ("analysed", "analyzed", "#2e7d32"),
    ("skipped", "skipped", "#9e9e9e"),
    ("duplicate", "skipped_duplicate", "#b0bec5"),
    ("failed", "failed", "#c62828"),
    ("in progress", "in_progress", "#1565c0"),
)


def _chart(summary: ReportSummary) -> str:
    """An inline SVG horizontal bar chart of the journey's calls by outcome."""
    values = [(label, int(getattr(summary, attr)), colour) for label, attr, colour in _OUTCOME_BARS]
    top = max([v for _, v, _ in values] + [1])
    bar_h, gap, left, width = 22, 8, 110, 420
    height = len(values) * (bar_h + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{left + width + 60}" height="{height}" '
        f'aria-label="calls by outcome">'
    ]
    for i, (label, value, colour) in enumerate(values):
        y = gap + i * (bar_h + gap)
        w = round(width * value / top)
        parts.append(
            f'<text x="{left - 8}" y="{y + bar_h - 6}" text-anchor="end">{html.escape(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{w}" height="{bar_h}" fill="{colour}"><title>{value}</title></rect>'
            f'<text x="{left + w + 6}" y="{y + bar_h - 6}">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(summary: ReportSummary) -> str:
    """The HTML report: one self-contained page (inline CSS and SVG, no script, no external asset)."""
    s = summary
    overview = [
        ("Journey", s.journey_id),
        ("Kind", s.kind),
        ("State", s.state),
        ("Created", s.created_at),
        ("Completed", s.completed_at or "—"),
        ("Calls discovered", s.discovered),
        ("Analysed", s.analyzed),
        ("Skipped", s.skipped),
        ("Already claimed by another journey", s.skipped_duplicate),
        ("Failed", s.failed),
        ("In progress", s.in_progress),
        ("Billed audio (minutes)", f"{s.billed_audio_seconds / 60:.1f}"),
        ("LLM tokens", s.tokens),
        ("Pipeline version", s.pipeline_version),
    ]
    counters = ("queued", "done", "skipped", "skipped_duplicate", "failed")
    stages = [(name, *(int(s.stages.get(name, {}).get(c, 0)) for c in counters)) for name in STAGES]
    reasons = [(r.stage, r.reason, r.calls) for r in s.failure_reasons] or [("—", "no call failed or was skipped", 0)]
    title = f"Journey {s.journey_id}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 10px;text-align:left}"
        "th{background:#f3f3f3}svg text{font:13px system-ui,sans-serif}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>Report generated {html.escape(s.generated_at)}{'' if s.final else ' while the journey is still running'}."
        "</p><h2>Summary</h2>"
        + _table(("", "value"), overview)
        + "<h2>Calls by outcome</h2>"
        + _chart(s)
        + "<h2>Stages</h2>"
        + _table(("stage", *counters), stages)
        + "<h2>Failure and skip reasons</h2>"
        + _table(("stage", "reason", "calls"), reasons)
        + "</body></html>\n"
    )


async def file_chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    """A file's bytes from where it is, in chunks."""
    while chunk := file.read(CHUNK):
        yield chunk


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class ReportWriter:
    """Writes a journey's report and execution-log lines to S3 (the journey store's completion hook)."""

    def __init__(self, journeys: JourneyStore, storage: Storage, bucket: str) -> None:
        self._journeys = journeys
        self._storage = storage
        self.bucket = bucket

    async def write(self, journey_id: str) -> ReportSummary | None:
        """Build and store every format; the same keys each time. None when there is no such journey."""
        built = await build_report(self._journeys, journey_id)
        if built is None:
            return None
        try:
            summary = built.summary
            put = self._storage.upload_stream
            await put(self.bucket, report_key(journey_id, "csv"), file_chunks(built.csv_file), content_type="text/csv")
            await put(self.bucket, built.log_key, file_chunks(built.log_file), content_type="application/x-ndjson")
            html_body = render_html(summary).encode()
            await put(self.bucket, report_key(journey_id, "html"), _once(html_body), content_type="text/html")
            json_body = summary_json(summary)
            await put(self.bucket, report_key(journey_id, "json"), _once(json_body), content_type="application/json")
        finally:
            built.close()
        log.info("journey_report_written", journey_id=journey_id, calls=summary.calls, bucket=self.bucket)
        return summary
