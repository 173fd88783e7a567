"""Logging: JSON lines with the per-message context, and no secret ever written."""

import io
import json
import logging

import pytest
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


def test_library_records_go_through_the_same_redaction() -> None:
    out = io.StringIO()
    configure_logging("DEBUG", "json", secrets=["configured-secret-42"], stream=out)
    lib = logging.getLogger("some.library")
    lib.debug("below the library level: dropped")
    try:
        raise RuntimeError("failed with Authorization: Bearer abcdefghijklmnop and configured-secret-42")
    except RuntimeError:
        lib.exception("request failed, api_key=%s", "plain-key-value")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["event"].split(",")[0], line["logger"], line["level"]) for line in lines] == [
        ("request failed", "some.library", "error")
    ]
    text = out.getvalue()
    assert "RuntimeError" in lines[0]["exception"]
    for secret in ("abcdefghijklmnop", "configured-secret-42", "plain-key-value"):
        assert secret not in text


def test_secret_looking_environment_variables_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-from-env-123")
    monkeypatch.setenv("SHORT_SECRET", "test")  # too short to scrub without blanking out ordinary words
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    get_logger("test").info("signed with aws-secret-from-env-123", note="a test run")
    line = json.loads(out.getvalue())
    assert line["event"] == "signed with ***" and line["note"] == "a test run"
