"""Startup checks: each configuration mistake is one line naming the variable and the fix; unknown names warned."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from shared.config import Settings
from shared.startup import (
    ConfigurationError,
    Problem,
    check_for,
    env_name,
    expected_value,
    known_variables,
    load_settings,
    unknown_variables,
)

ORG = "f4b1c2d3-0000-4a5b-9c8d-111122223333"


def wxcc(**overrides: object) -> Settings:
    """Settings complete for every role, with `overrides`."""
    fields: dict[str, object] = {
        "wxcc_org_id": ORG,
        "wxcc_client_id": "client",
        "wxcc_client_secret": SecretStr("secret"),
        "wxcc_application_id": "app",
        "openai_api_key": SecretStr("sk-test"),
        **overrides,
    }
    return Settings.model_validate(fields)


def lines(problems: list[Problem]) -> list[str]:
    return [p.line() for p in problems]


def test_every_bad_variable_is_one_line_naming_it_and_what_it_must_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLPIPE_CONSUMER_CONCURRENCY", "ten")
    monkeypatch.setenv("CALLPIPE_WXCC_DATACENTER", "us9")
    monkeypatch.setenv("CALLPIPE_WXCC_DOWNLOAD_ALLOW_HTTP", "maybe")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "localhost:4566")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    found = {p.variable: p.line() for p in caught.value.problems}
    assert found == {
        "CALLPIPE_CONSUMER_CONCURRENCY": "CALLPIPE_CONSUMER_CONCURRENCY: 'ten' is not valid: input should be a valid "
        "integer, unable to parse string as an integer — set CALLPIPE_CONSUMER_CONCURRENCY to a whole number ≥ 1 "
        "and ≤ 1000",
        "CALLPIPE_WXCC_DATACENTER": "CALLPIPE_WXCC_DATACENTER: 'us9' is not valid: input should be 'us1', 'eu1', "
        "'eu2', 'anz1', 'ca1' or 'jp1' — set CALLPIPE_WXCC_DATACENTER to one of us1, eu1, eu2, anz1, ca1, jp1",
        "CALLPIPE_WXCC_DOWNLOAD_ALLOW_HTTP": "CALLPIPE_WXCC_DOWNLOAD_ALLOW_HTTP: 'maybe' is not valid: input should "
        "be a valid boolean, unable to interpret input — set CALLPIPE_WXCC_DOWNLOAD_ALLOW_HTTP to true or false",
        "AWS_ENDPOINT_URL": "AWS_ENDPOINT_URL: 'localhost:4566' is not an http(s) URL with a host — set "
        "AWS_ENDPOINT_URL to a URL such as https://host or http://127.0.0.1:4566",
    }
    assert all("\n" not in line for line in found.values())


def test_a_rejected_secret_is_named_but_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(wxcc_client_secret=["sk-do-not-print-me"])
    (problem,) = caught.value.problems
    assert problem.variable == "CALLPIPE_WXCC_CLIENT_SECRET"
    assert "(value hidden)" in problem.line() and "do-not-print" not in problem.line()


def test_the_sdk_variables_keep_their_standard_names() -> None:
    assert env_name("aws_region") == "AWS_REGION"
    assert env_name("openai_api_key") == "OPENAI_API_KEY"
    assert env_name("wxcc_org_id") == "CALLPIPE_WXCC_ORG_ID"
    assert {"AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_S3", "CALLPIPE_STAGE_LEASE_S"} <= known_variables()
    assert expected_value("poll_max_window_s") == "a whole number ≥ 60"


def test_misspelt_callpipe_variables_are_warned_about_with_the_closest_name() -> None:
    environ = {
        "CALLPIPE_WXCC_ORGID": "x",
        "CALLPIPE_CONSUMER_CONCURENCY": "3",
        "CALLPIPE_SOMETHING_ELSE_ENTIRELY": "1",
        "CALLPIPE_NAME_PREFIX": "ok",  # known
        "callpipe_log_level": "DEBUG",  # known: pydantic-settings ignores the case
        "CALLPIPE_API_KEY_HASHES": "[]",  # known to the caller (the API's settings)
        "CALLPIPE_TEST_SQS_ENDPOINT": "x",  # the test suite's
        "AWS_REGION": "us-east-1",
    }
    warnings = unknown_variables(environ, extra_known=["CALLPIPE_API_KEY_HASHES"])
    assert {p.severity for p in warnings} == {"warning"}
    assert lines(warnings) == [
        "CALLPIPE_CONSUMER_CONCURENCY: is not a callpipe setting and is ignored — did you mean "
        "CALLPIPE_CONSUMER_CONCURRENCY?",
        "CALLPIPE_SOMETHING_ELSE_ENTIRELY: is not a callpipe setting and is ignored — remove it (README.md, "
        "Configuration, lists every variable)",
        "CALLPIPE_WXCC_ORGID: is not a callpipe setting and is ignored — did you mean CALLPIPE_WXCC_ORG_ID?",
    ]


@pytest.mark.parametrize("role", ["poll", "fetch", "api", "journey"])
def test_roles_that_talk_about_an_org_need_one(role: str) -> None:
    problems = check_for(role, wxcc(wxcc_org_id=""))  # type: ignore[arg-type]
    assert [p.variable for p in problems] == ["CALLPIPE_WXCC_ORG_ID"]
    assert problems[0].severity == "error"
    assert "set CALLPIPE_WXCC_ORG_ID to your WXCC org id" in problems[0].line()


@pytest.mark.parametrize("role", ["transcribe", "analyze", "echo"])
def test_stages_that_never_call_wxcc_do_not_need_its_settings(role: str) -> None:
    assert check_for(role, wxcc(wxcc_org_id="", wxcc_client_id="", wxcc_client_secret=None)) == []  # type: ignore[arg-type]


def test_service_app_mode_needs_the_application_id_and_says_how_else() -> None:
    (problem,) = check_for("poll", wxcc(wxcc_application_id=""))
    assert problem.line() == (
        "CALLPIPE_WXCC_APPLICATION_ID: is not set, and CALLPIPE_WXCC_AUTH_MODE=service_app (the default) needs it — "
        "set CALLPIPE_WXCC_APPLICATION_ID to the service app's id, or CALLPIPE_WXCC_AUTH_MODE=refresh_token with "
        "CALLPIPE_WXCC_REFRESH_TOKEN"
    )
    assert check_for("poll", wxcc(wxcc_application_id="", wxcc_auth_mode="refresh_token")) == []


def test_the_credentials_are_needed_by_poll_and_fetch() -> None:
    problems = check_for("fetch", wxcc(wxcc_client_id="", wxcc_client_secret=SecretStr("")))
    assert [p.variable for p in problems] == ["CALLPIPE_WXCC_CLIENT_ID", "CALLPIPE_WXCC_CLIENT_SECRET"]


def test_fetch_from_an_http_simulator_needs_plain_http_downloads_allowed() -> None:
    base = "http://127.0.0.1:8089"
    problems = check_for("fetch", wxcc(wxcc_base_url=base, wxcc_download_hosts=["127.0.0.1"]))
    assert lines(problems) == [
        "CALLPIPE_WXCC_DOWNLOAD_ALLOW_HTTP: is false, but CALLPIPE_WXCC_BASE_URL is plain http "
        "(http://127.0.0.1:8089): its recordings would be refused — set CALLPIPE_WXCC_DOWNLOAD_ALLOW_HTTP=true "
        "(local simulators only)"
    ]
    allowed = wxcc(wxcc_base_url=base, wxcc_download_hosts=["127.0.0.1"], wxcc_download_allow_http=True)
    assert check_for("fetch", allowed) == []
    assert check_for("poll", wxcc(wxcc_base_url=base)) == []  # poll downloads nothing
    assert check_for("fetch", wxcc()) == []  # https WXCC: the default hosts


def test_an_http_simulator_missing_from_the_download_hosts_is_a_warning() -> None:
    problems = check_for("fetch", wxcc(wxcc_base_url="http://localhost:8089", wxcc_download_allow_http=True))
    assert [(p.variable, p.severity) for p in problems] == [("CALLPIPE_WXCC_DOWNLOAD_HOSTS", "warning")]
    assert problems[0].fix == "set CALLPIPE_WXCC_DOWNLOAD_HOSTS=localhost (a JSON list or comma-separated)"


def test_a_base64_webex_org_id_is_warned_about_with_its_uuid() -> None:
    encoded = "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi9mNGIxYzJkMy0wMDAwLTRhNWItOWM4ZC0xMTExMjIyMjMzMzM"
    (problem,) = check_for("poll", wxcc(wxcc_org_id=encoded))
    assert (problem.severity, problem.fix) == ("warning", f"set CALLPIPE_WXCC_ORG_ID={ORG}")


def test_speech_and_analysis_need_a_key_or_another_server() -> None:
    (problem,) = check_for("transcribe", wxcc(openai_api_key=None))
    assert problem.variable == "OPENAI_API_KEY" and "OPENAI_BASE_URL" in problem.fix
    assert check_for("analyze", wxcc(openai_api_key=None, openai_base_url="http://127.0.0.1:8090/v1")) == []
