"""EMF lines: one per stage and interval, in the shape CloudWatch turns into metrics."""

import io
import json

from shared.metrics import EmfReporter, StageMetrics


def test_an_interval_becomes_one_emf_line_and_an_idle_one_none() -> None:
    metrics = StageMetrics("unit-emf")
    out = io.StringIO()
    reporter = EmfReporter(metrics, stream=out)
    metrics.received(3)
    for seconds in (0.1, 0.2):
        metrics.started()
        metrics.finished(seconds)
    metrics.succeeded()
    metrics.dead_lettered("Permanent")
    metrics.billed_audio(12.5)
    reporter.flush()
    reporter.flush()  # nothing happened since: no second line
    [line] = out.getvalue().splitlines()
    record = json.loads(line)
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "callpipe" and directive["Dimensions"] == [["Stage"]]
    names = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert names == {
        "Received": "Count",
        "Succeeded": "Count",
        "DeadLettered": "Count",
        "BilledAudioSeconds": "Seconds",
        "HandlerLatencyAvg": "Milliseconds",
        "HandlerLatencyMax": "Milliseconds",
    }
    assert (record["Stage"], record["Received"], record["Succeeded"], record["BilledAudioSeconds"]) == (
        "unit-emf",
        3,
        1,
        12.5,
    )
    assert (record["HandlerLatencyAvg"], record["HandlerLatencyMax"]) == (150.0, 200.0)
