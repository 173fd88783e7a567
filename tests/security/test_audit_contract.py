"""The Glue table `audit_events` (terraform/modules/analytics/tables.tf) reads exactly what `shared.audit` writes, and
an event's stored key falls under the table's partition template."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.audit import AuditEvent, FrontDoor, Outcome
from tests.unit.test_glue_contract import glue_tables, line_problems


def _event(**overrides: object) -> AuditEvent:
    base: dict[str, object] = {
        "at": datetime(2026, 3, 1, 12, 0, 1, 5000, tzinfo=UTC),
        "actor": "key:ops1",
        "actor_label": "ops team",
        "front_door": FrontDoor.HTTP,
        "action": "replayDlq",
        "targets": {"stage": "fetch", "created": "r-123"},
        "outcome": Outcome.OK,
        "status": 202,
        "request_id": "req-1",
        "detail": "ok",
    }
    return AuditEvent.model_validate(base | overrides)


def test_the_stored_lines_have_exactly_the_declared_columns_and_types() -> None:
    columns = glue_tables()["audit_events"]
    full = _event().model_dump_json() + "\n"
    sparse = _event(actor_label=None, status=None, request_id=None, detail=None, targets={}).model_dump_json() + "\n"
    assert line_problems(full + sparse, columns) == []


def test_the_key_is_under_the_days_partition() -> None:
    assert _event().key().startswith("audit/dt=2026-03-01/120001.005000-")
