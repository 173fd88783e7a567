"""Logging: JSON lines with the per-message context, and no secret ever written."""

import io
import json

import structlog

from shared.logging import bind_context, configure_logging, get_logger


def test_json_lines_carry_context_and_redact_secrets() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", secrets=["literal-secret-value-123"], stream=out)
    structlog.contextvars.clear_contextvars()
    bind_context(journey_id="j1", task_id="t1", stage="fetch", message_id="m1")
    log = get_logger("test")
    log.info(
        "calling",
        access_token="eyJhbGciOi.secret.token",
        headers={"Authorization": "Bearer abcdefghijkl", "TrackingId": "trk-1"},
        note="sent Bearer abcdefghijklmnop and client_secret=hunter22 and literal-secret-value-123",
        openai="sk-proj-abcdefghijklmnopqrstu",
    )
    structlog.contextvars.clear_contextvars()
    line = json.loads(out.getvalue())
    assert (line["journey_id"], line["task_id"], line["stage"], line["message_id"]) == ("j1", "t1", "fetch", "m1")
    assert line["module"] == "test"
    assert line["headers"]["TrackingId"] == "trk-1"
    text = out.getvalue()
    for secret in ("eyJhbGciOi", "abcdefghijkl", "hunter22", "literal-secret-value-123", "sk-proj-abc"):
        assert secret not in text
    assert line["access_token"] == "***"


def test_debug_lines_are_dropped_at_info_level() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    get_logger("test").debug("noise")
    assert out.getvalue() == ""
