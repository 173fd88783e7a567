"""Contract: the client's models parse every example payload of WXCC's API, quirks included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.wxcc.client import SEARCH_QUERY
from shared.wxcc.download import host_allowed
from shared.wxcc.errors import describe_error
from shared.wxcc.models import CapturesResponse, TaskDetails, TasksPage, TokenResponse

FIXTURES = Path(__file__).parent.parent / "fixtures" / "wxcc"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_every_fixture_is_covered_by_a_test() -> None:
    covered = {
        "capture-available-event.json",
        "captures-request.json",
        "captures-response.json",
        "error-response.json",
        "search-request.json",
        "search-response.json",
        "tasks-response.json",
        "token-response.json",
    }
    assert {p.name for p in FIXTURES.glob("*.json")} == covered


def test_tasks_response_keeps_missing_owner_and_unknown_capture() -> None:
    tasks = TasksPage.model_validate(load("tasks-response.json")).data
    assert [t.attributes.status for t in tasks] == ["completed", "abandoned", "assigned"]
    completed, abandoned, assigned = tasks
    assert completed.attributes.owner is not None and completed.attributes.owner.name == "Joseph Lambert"
    assert completed.attributes.created_time == 1591702170000
    assert abandoned.attributes.owner is None
    assert abandoned.attributes.capture_requested is False
    assert assigned.attributes.capture_requested is None  # not known yet, distinct from False


def test_search_response_parses_tasks_and_cursor() -> None:
    details = TaskDetails.model_validate(load("search-response.json")["data"]["taskDetails"])
    [task] = details.tasks
    assert (task.id, task.ended_time, task.capture_requested, task.recording_count) == (
        "fb53f6d1-0c4b-4f0e-9a43-1d2e3f4a5b6c",
        1629450960406,
        True,
        1,
    )
    assert details.page_info.has_next_page is True
    assert details.page_info.end_cursor == "eyJvZmZzZXQiOjI1MH0="


def test_search_request_asks_for_what_the_example_asks() -> None:
    example = load("search-request.json")["query"]
    for needle in ("timeComparator: endedTime", "channelType: {equals: telephony}", "isActive: {equals: false}"):
        assert needle in example and needle in SEARCH_QUERY
    assert set(load("search-request.json")["variables"]) == {"from", "to", "cursor"}


def test_captures_response_accepts_string_and_integer_times_and_keeps_every_leg() -> None:
    data = CapturesResponse.model_validate(load("captures-response.json")).data
    recorded, empty = data
    main, consult = recorded.recording
    assert (main.attributes.start_time, main.attributes.stop_time) == (1661785612510, 1661785616249)
    assert (consult.attributes.start_time, consult.attributes.stop_time) == (1661785620000, 1661785680000)
    assert (main.attributes.call_type, consult.attributes.call_type) == ("main", "consult")
    assert (main.attributes.channel1, main.attributes.channel2) == ("Caller", "Agent")
    assert main.duration_s == pytest.approx(3.739)
    assert recorded.ready is True
    assert empty.recording == [] and empty.ready is False  # not ready, never "done"


def test_captures_request_shape_matches_what_the_client_sends() -> None:
    query = load("captures-request.json")["query"]
    assert set(query) == {"orgId", "taskIds", "urlExpiration", "includeSegments"}
    assert 1 <= query["urlExpiration"] <= 60 and len(query["taskIds"]) <= 10


def test_token_response_lifetimes_come_from_the_response() -> None:
    token = TokenResponse.model_validate(load("token-response.json"))
    assert (token.expires_in, token.refresh_token_expires_in) == (43199, 5086600)
    assert token.refresh_token


def test_error_response_yields_tracking_id_and_message() -> None:
    # The key repeats the HTTP status, which the caller shows already: "→ 401: 401: …" would say it twice.
    assert describe_error(load("error-response.json")) == (
        "c1a4fcef-2d3e-4f5a-9b8c-7d6e5f4a3b2c",
        "Incorrect Credentials.",
    )
    named = {"trackingId": "t", "error": {"key": "invalid_org", "message": [{"description": "orgId does not match"}]}}
    assert describe_error(named) == ("t", "invalid_org: orgId does not match")


def test_capture_available_event_points_at_an_allowed_recording_host() -> None:
    event = load("capture-available-event.json")
    assert event["type"] == "capture:available" and event["data"]["taskId"]
    assert host_allowed(event["data"]["filePath"], [".amazonaws.com"])
    assert not host_allowed(event["data"]["filePath"], [".cisco.com"])
    assert not host_allowed("http://169.254.169.254/latest/meta-data", [".amazonaws.com"], allow_http=True)
    assert not host_allowed("https://evil-amazonaws.com/x", [".amazonaws.com"])
