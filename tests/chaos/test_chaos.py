"""The chaos run, CI-sized: real worker processes for every stage under WXCC and OpenAI faults and SIGKILLs; every
recorded call is analysed exactly once, nothing is lost, and only the calls made bad on purpose are dead-lettered.

The driver (`simulator.chaos.run.run_chaos`, also `callpipe chaos`) starts moto as its own process, the WXCC
simulator and the OpenAI fake in this test's event loop, and `callpipe worker --stage …` processes; it waits on
conditions (the journey's state, the queues' depths), never on fixed sleeps. `bench/chaos.py` runs the issue's 200
calls.
"""

from __future__ import annotations

import pytest

from simulator.chaos.config import ChaosConfig
from simulator.chaos.run import run_chaos

pytestmark = [pytest.mark.slow, pytest.mark.timeout(280)]


async def test_every_recorded_call_is_analysed_exactly_once_under_faults_and_kills() -> None:
    config = ChaosConfig(calls=30, kills=3, seed=3, bad_no_recording=1, bad_audio=1, timeout_s=220)
    report = await run_chaos(config)
    summary = report.summary_line()

    assert report.problems == [], f"{summary}\nworker logs: {report.logs_dir}\n" + "\n".join(report.problems)
    # The same promises, spelled out from the report's own figures.
    assert len(report.kills) >= 3, summary
    assert {k.in_flight > 0 for k in report.kills} == {True}, "a kill must land while its process has work in flight"
    assert report.restarts >= len(report.kills)
    # No call transcribed or analysed twice, but for the one thing no client can prevent: a request in flight when the
    # process that asked was SIGKILLed, its answer never saved (see simulator/chaos/attribution.py).
    assert report.duplicates_unexplained == 0, report.duplicate_detail
    assert report.duplicates == report.duplicates_in_flight_at_kill, report.duplicate_detail
    killed = {k.pid for k in report.kills}
    assert {d["pid"] for d in report.in_flight_at_kill} <= killed, report.in_flight_at_kill
    assert report.lost == []
    assert report.analysed == report.recorded - len(report.bad) > 0
    assert report.journey_state == "COMPLETED"
    dead = {d["task_id"]: d["error_message"] for letters in report.dead_letters.values() for d in letters}
    assert set(dead) == set(report.bad) and all(dead.values()), report.dead_letters
    # The faults really happened.
    assert report.faults.get("wxcc_server_error", 0) > 0 and report.faults.get("wxcc_rate_limit", 0) > 0, report.faults
    assert report.faults.get("openai_rate_limit", 0) + report.faults.get("openai_server_error", 0) > 0, report.faults
