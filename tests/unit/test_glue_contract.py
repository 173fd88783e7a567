"""The Glue catalog Terraform declares matches what the code writes: the same column names, compatible types.

The columns come from the Terraform files themselves (python-hcl2): the `calls` table's from the analytics module's
`analytics_columns` default, the others from each `aws_glue_catalog_table`'s `columns` blocks. The lines come from the
writers: `workers/analyze.py::_analytics_line`, the `Transcript` and `CallAnalysis` models, `shared/reports.py`'s
execution-log line. A column renamed, added or dropped on one side only fails here. The integration test
`tests/integration/reports/test_reports.py` checks the objects a real pipeline run stored against the same columns.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

from shared.analysis import PROMPT_VERSION, CallAnalysis, QaFlag
from shared.audio.conversation import ConversationMetrics, conversation_metrics
from shared.journeys import Journey, JourneyKind
from shared.reports import call_row, journey_log_key, log_line
from shared.storage import analysis_key, analytics_key, transcript_key
from shared.transcripts import Segment, Transcript
from workers.analyze import _analytics_line

MODULE = Path(__file__).resolve().parents[2] / "terraform" / "modules" / "analytics"
Columns = dict[str, str]  # name → Hive type


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _load(name: str) -> dict[str, Any]:
    with (MODULE / name).open() as f:
        return dict(hcl2.load(f))


@cache
def glue_tables() -> dict[str, Columns]:
    """Every table's columns as Terraform declares them."""
    tables: dict[str, Columns] = {}
    for variable in _load("variables.tf").get("variable", []):
        for name, body in variable.items():
            if _unquote(name) == "analytics_columns":
                tables["calls"] = {_unquote(c["name"]): _unquote(c["type"]) for c in body["default"]}
    for tf in sorted(MODULE.glob("*.tf")):
        for resource in _load(tf.name).get("resource", []):
            for kind, named in resource.items():
                if _unquote(kind) != "aws_glue_catalog_table":
                    continue
                for label, body in named.items():
                    table = _unquote(body["name"])
                    declared = body["storage_descriptor"][0].get("columns")
                    if isinstance(declared, list):
                        tables[table] = {_unquote(c["name"]): _unquote(c["type"]) for c in declared}
                    else:  # `dynamic "columns"` over the variable: already read above
                        assert table in tables, f"{label}: columns neither declared nor from analytics_columns"
    return tables


# --- Hive types -------------------------------------------------------------------------------------------------------


def _split_top(text: str) -> list[str]:
    """Split on commas outside angle brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def struct_fields(hive_type: str) -> Columns:
    """`struct<a:t,b:u>` → {a: t, b: u}."""
    inner = hive_type[len("struct<") : -1]
    return dict(tuple(p.split(":", 1)) for p in _split_top(inner))  # type: ignore[misc]


_SCALARS = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31,
    "bigint": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "double": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def problems(value: Any, hive_type: str, where: str) -> list[str]:
    """Why `value` (parsed JSON) would not read as `hive_type` with the JSON SerDe; [] when it does. None is NULL."""
    if value is None:
        return []
    if hive_type in _SCALARS:
        return [] if _SCALARS[hive_type](value) else [f"{where}: {value!r} is not {hive_type}"]
    if hive_type.startswith("array<"):
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not an array"]
        element = hive_type[len("array<") : -1]
        return [p for i, v in enumerate(value) for p in problems(v, element, f"{where}[{i}]")]
    if hive_type.startswith("map<string,"):
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not a map"]
        element = hive_type[len("map<string,") : -1]
        return [p for k, v in value.items() for p in problems(v, element, f"{where}[{k!r}]")]
    if hive_type.startswith("struct<"):
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not a struct"]
        return row_problems(value, struct_fields(hive_type), where)
    return [f"{where}: type {hive_type} is not one this test knows"]


def row_problems(row: dict[str, Any], columns: Columns, where: str = "") -> list[str]:
    """A JSON object against columns: exactly the same names, every value of a compatible type."""
    found: list[str] = []
    if set(row) != set(columns):
        missing, extra = sorted(set(columns) - set(row)), sorted(set(row) - set(columns))
        found.append(f"{where or 'line'}: declared but not written {missing}, written but not declared {extra}")
    for name, hive_type in columns.items():
        if name in row:
            found += problems(row[name], hive_type, f"{where}.{name}" if where else name)
    return found


def line_problems(text: str, columns: Columns) -> list[str]:
    """Every line of a JSON-lines text (as stored) against the columns."""
    lines = text.splitlines()
    if not lines:
        return ["no line"]
    return [p for i, line in enumerate(lines) for p in row_problems(json.loads(line), columns, f"line {i + 1}")]


# --- The writers' lines -----------------------------------------------------------------------------------------------


def _transcript() -> Transcript:
    return Transcript(
        task_id="t-1",
        model="whisper-1",
        language="en",
        segments=[
            Segment(speaker="customer", start=0.0, end=2.5, text="Hi, I was charged twice."),
            Segment(speaker="agent2", start=30.0, end=31.0, text="Consulting.", leg="consult"),
        ],
        call_seconds=61.5,
        billed_seconds=40.25,
        conversation=conversation_metrics({"customer": [(0.0, 2.5)], "agent2": [(30.0, 31.0)]}, 61.5),
    )


def _analysis() -> CallAnalysis:
    return CallAnalysis(
        summary="A double charge was refunded.",
        reason_for_call="double charge",
        topics=["billing", "refund"],
        resolved=True,
        customer_sentiment="negative",
        agent_sentiment="positive",
        action_items=["send the refund confirmation"],
        qa_flags=[QaFlag(flag="identity_not_verified", severity="warning", evidence="Sure, done.")],
        language="en",
    )


def analysis_document() -> dict[str, Any]:
    """The analyze stage's document, built as `workers/analyze.py` builds it (its keys are checked against the
    stored documents of a real run by the integration test)."""
    return {
        "task_id": "t-1",
        "org_id": "org-1",
        "pipeline_version": 2,
        "prompt_version": PROMPT_VERSION,
        "model": "gpt-4o-mini",
        "tokens": {"prompt": 812, "completion": 153},
        "analysis": _analysis().model_dump(),
    }


def _stored(value: Any) -> str:
    """A document as `Storage.put_json` stores it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def writers_lines() -> dict[str, str]:
    """One stored text per table, from the code that writes it."""
    facts: dict[str, object] = {"ended_ms": 1_767_000_000_000, "agent": "Ada", "queue": "Billing"}
    line = _analytics_line("t-1", "org-1", "j-1", facts, _transcript(), analysis_document())
    journey = Journey.new(JourneyKind.WINDOW, {"from": 1, "to": 2}, org_id="org-1")
    jobs: list[dict[str, Any]] = [
        {"task_id": "t-1", "outcome": "analyzed", "analysis_key": "analyses/x.json", "tokens": 965,
         "billed_audio_s": 40, "at": 1767000000.5},
        {"task_id": "t-2", "outcome": "failed", "stage": "transcribe", "reason": "no speech", "at": 1767000001},
        {"task_id": "t-3", "outcome": "skipped", "reason": "not recorded"},
    ]  # fmt: skip
    return {
        "calls": _stored(line) + "\n",
        "transcripts": _stored(_transcript().model_dump()),
        "analyses": _stored(analysis_document()),
        "journey_logs": "".join(_stored(log_line(journey, call_row(job))) + "\n" for job in jobs),
    }


# --- Tests ------------------------------------------------------------------------------------------------------------


def test_terraform_declares_the_four_tables_of_the_analytics_database() -> None:
    assert set(glue_tables()) == {"calls", "transcripts", "analyses", "journey_logs", "audit_events"}


@pytest.mark.parametrize("table", ["calls", "transcripts", "analyses", "journey_logs"])
def test_every_line_we_write_has_exactly_the_declared_columns_and_types(table: str) -> None:
    text = writers_lines()[table]
    assert line_problems(text, glue_tables()[table]) == []


def test_documents_are_one_json_line_each_as_the_json_serde_reads_them() -> None:
    for table in ("transcripts", "analyses"):
        stored = writers_lines()[table]
        assert "\n" not in stored and json.loads(stored)


def test_the_analysis_struct_follows_the_model() -> None:
    analysis = struct_fields(glue_tables()["analyses"]["analysis"])
    assert set(analysis) == set(CallAnalysis.model_fields)
    flags = analysis["qa_flags"]
    assert set(struct_fields(flags[len("array<") : -1])) == set(QaFlag.model_fields)
    segment = glue_tables()["transcripts"]["segments"]
    assert set(struct_fields(segment[len("array<") : -1])) == set(Segment.model_fields)
    assert set(struct_fields(glue_tables()["transcripts"]["conversation"])) == set(ConversationMetrics.model_fields)


def test_the_tables_locations_follow_the_storage_keys() -> None:
    """Each table reads the prefix the code writes under (the partition layout is the key layout)."""
    text = "".join(p.read_text() for p in sorted(MODULE.glob("*.tf")))
    assert re.match(
        r"transcripts/org-1/\d{4}/\d{2}/\d{2}/t-1\.json$", transcript_key("org-1", 1_767_000_000_000, "t-1")
    )
    assert re.match(
        r"analyses/org-1/\d{4}/\d{2}/\d{2}/t-1\.v2\.json$", analysis_key("org-1", 1_767_000_000_000, "t-1", 2)
    )
    assert analytics_key(1_767_000_000_000, "t-1", 1).startswith("analytics/calls/dt=2025-12-29/")
    journey = Journey.new(JourneyKind.WINDOW, {}, org_id="o")

    assert journey_log_key(journey).startswith(f"analytics/journey_logs/dt={journey.created_at[:10]}/")
    for template in ("/transcripts/$${org}/$${day}/", "/analyses/$${org}/$${day}/", '/analytics/journey_logs"'):
        assert template in text, template
    assert '"projection.day.format"        = "yyyy/MM/dd"' in text


# --- The check itself must be able to fail ----------------------------------------------------------------------------


def test_a_column_renamed_on_one_side_only_is_caught() -> None:
    columns = dict(glue_tables()["calls"])
    line = json.loads(writers_lines()["calls"])
    renamed_in_terraform = {("queue_name" if k == "queue" else k): t for k, t in columns.items()}
    assert any("queue_name" in p and "queue" in p for p in row_problems(line, renamed_in_terraform))
    line["queue_name"] = line.pop("queue")
    assert row_problems(line, columns)


def test_a_struct_field_renamed_or_a_type_changed_is_caught() -> None:
    columns = glue_tables()["analyses"]
    document = json.loads(writers_lines()["analyses"])
    document["analysis"]["sentiment"] = document["analysis"].pop("customer_sentiment")
    assert any("customer_sentiment" in p for p in row_problems(document, columns))
    document = json.loads(writers_lines()["analyses"])
    document["pipeline_version"] = "2"
    assert row_problems(document, columns) == ["pipeline_version: '2' is not int"]
    assert problems(1.5, "bigint", "x") and problems(True, "double", "x") and not problems(3, "double", "x")
