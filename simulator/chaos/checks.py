"""What a chaos run checks at the end: one analysis per good recorded call, nothing lost, the DLQs hold exactly the
bad calls with reasons, consistent journey counters (`check_outcome`), and analyses billed beyond one per call
(`analysis_duplicates`)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from queues.directory import QueueDirectory
from queues.dlq import list_dead_letters
from shared.analysis import user_prompt
from shared.journeys import JourneyState, JourneyStatus
from shared.resources import DataResources
from shared.storage import Storage
from shared.tracking import CallStatus, TrackingTable
from shared.transcripts import Transcript
from simulator.chaos.attribution import analysis_save_key
from simulator.chaos.report import ChaosReport
from simulator.chaos.workers import STAGES
from simulator.openai_fake.app import prompt_digest

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_sqs import SQSClient


async def analysis_duplicates(
    report: ChaosReport,
    billed: Counter[str],
    tracking: TrackingTable,
    s3: S3Client,
    resources: DataResources,
    org_id: str,
) -> tuple[dict[str, int], dict[str, set[str]]]:
    """Analyses billed beyond one per analysed call: the prompt each analysed call's stored transcript makes, against
    the fake's billed completions per prompt (two calls with the very same transcript share a prompt; a completion
    whose prompt no analysed call makes — a call analysed from a transcript later replaced — is extra too). Also
    returns, per prompt digest, the save keys of the analysed calls that make it (`attribution.analysis_save_key`)."""
    storage = Storage(s3)
    expected: Counter[str] = Counter()
    calls_of: dict[str, set[str]] = {}
    for task_id in report.analysed_tasks:
        row = await tracking.get(org_id, task_id)
        assert row is not None and row.transcript_key
        transcript = Transcript.model_validate(
            await storage.get_json(resources.results_bucket.name, row.transcript_key)
        )
        digest = prompt_digest(user_prompt(transcript.as_dialogue()))
        expected[digest] += 1
        calls_of.setdefault(digest, set()).add(analysis_save_key(task_id))
    extra = {d: n - expected[d] for d, n in billed.items() if n > expected[d]}
    if extra:
        report.duplicate_detail["analyses_beyond_one_per_call"] = extra
    return extra, calls_of


async def check_outcome(
    report: ChaosReport,
    status: JourneyStatus,
    truth: dict[str, Any],
    recorded: set[str],
    tracking: TrackingTable,
    s3: S3Client,
    sqs: SQSClient,
    directory: QueueDirectory,
    resources: DataResources,
    org_id: str,
) -> None:
    """Fill the outcome figures of `report` and list every promise that did not hold."""
    problems = report.problems
    report.journey_state = status.journey.state.value
    report.counters = status.counters
    if status.journey.state is not JourneyState.COMPLETED:
        problems.append(f"journey is {status.journey.state.value}, not COMPLETED")

    # Analysis objects: exactly one per call.
    objects: Counter[str] = Counter()
    paginator = s3.get_paginator("list_objects_v2")
    async for page in paginator.paginate(Bucket=resources.results_bucket.name, Prefix="analyses/"):
        for obj in page.get("Contents", []):
            objects[obj["Key"].rsplit("/", 1)[1].split(".", 1)[0]] += 1
    extra = {t: n for t, n in objects.items() if n != 1 or t not in recorded or t in report.bad}
    if extra:
        problems.append(f"analysis objects not one per good recorded call: {extra}")

    good = recorded - set(report.bad)
    analysed: set[str] = set()
    for task_id in sorted(recorded):
        row = await tracking.get(org_id, task_id)
        if task_id in report.bad:
            if row is None or row.status is not CallStatus.FAILED or not row.error:
                problems.append(f"bad call {task_id} ({report.bad[task_id]}) is {row and row.status}, not FAILED")
            continue
        if row is not None and row.status is CallStatus.ANALYZED and objects.get(task_id) == 1:
            analysed.add(task_id)
    report.analysed = len(analysed)
    report.analysed_tasks = sorted(analysed)
    report.lost = sorted(good - analysed)
    if report.lost:
        problems.append(f"{len(report.lost)} recorded calls not analysed: {report.lost[:10]}")

    # Dead letters: exactly the bad calls, each with its reason.
    seen_bad: dict[str, str] = {}
    for kind in STAGES:
        letters = await list_dead_letters(sqs, await directory.urls(kind), max_messages=1000)
        report.dead_letters[kind.value] = [
            {"task_id": d.task_id, "error_type": d.error_type, "error_message": d.error_message} for d in letters
        ]
        for d in letters:
            if d.task_id in report.bad and d.error_message:
                seen_bad[d.task_id] = d.error_message
            else:
                problems.append(f"unexpected dead letter in {kind.value}: {d.task_id} {d.error_type} {d.error_message}")
    missing = sorted(set(report.bad) - set(seen_bad))
    if missing:
        problems.append(f"bad calls not dead-lettered with a reason: {missing}")

    # Counters: consistent with each other and with the truth.
    c = status.count
    expected = {
        "poll.queued (recorded calls)": (c("poll", "queued"), len(recorded)),
        "discovered (calls in the window)": (status.discovered, len(truth)),
        "poll.skipped_duplicate": (c("poll", "skipped_duplicate"), 0),
        "fetch.done + fetch.failed = poll.queued": (c("fetch", "done") + c("fetch", "failed"), c("poll", "queued")),
        "transcribe.done + transcribe.failed = fetch.done": (
            c("transcribe", "done") + c("transcribe", "failed"),
            c("fetch", "done"),
        ),
        "analyze.done + analyze.failed = transcribe.done": (
            c("analyze", "done") + c("analyze", "failed"),
            c("transcribe", "done"),
        ),
        "analyze.done (analysed calls)": (c("analyze", "done"), len(analysed)),
        "failed (bad calls)": (sum(c(s, "failed") for s in ("fetch", "transcribe", "analyze")), len(report.bad)),
        "terminal = discovered": (status.terminal, status.discovered),
    }
    for name, (got, want) in expected.items():
        if got != want:
            problems.append(f"counter {name}: {got:g}, expected {want:g}")
